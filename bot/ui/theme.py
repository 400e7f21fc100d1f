"""How the chat looks: its fonts, its Gradio theme and its stylesheet (style.css, beside this file).

The theme uses the fonts installed on the reader's machine: web fonts would be
fetched from the internet, which this app never does.
"""

from __future__ import annotations

from pathlib import Path

import bot.settings  # noqa: F401  (before gradio: it sets the no-telemetry environment defaults gradio reads)

# isort: off
import gradio as gr
# isort: on

# Fonts the reader already has, all with Vietnamese diacritics. DejaVu Sans comes
# before Arial because Linux aliases Arial to Liberation Sans, which lacks some
# Vietnamese letters (the browser would then mix two fonts in one word).
FONTS = ["Noto Sans", "Segoe UI", "Roboto", "Helvetica Neue", "DejaVu Sans", "Arial", "sans-serif"]
MONO_FONTS = ["Noto Sans Mono", "DejaVu Sans Mono", "Consolas", "monospace"]

CSS = Path(__file__).with_name("style.css").read_text(encoding="utf-8")


def theme() -> gr.themes.Base:
    return gr.themes.Default(primary_hue="amber", secondary_hue="slate", font=FONTS, font_mono=MONO_FONTS)
