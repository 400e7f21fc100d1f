"""The Gradio chat: ask, read the cited passages in their articles, follow up.

One `Bot` (index, embedder, LLM) is opened per process and shared by every
session; each browser tab keeps its own conversation in a `gr.State`. The parts:
render (Markdown and HTML, no gradio) ← handlers (events, state) ← layout (the
Blocks) ← server (binding, launch, `bot ui`); theme is the look.

The names callers import from `bot.ui` are loaded on first use, so that
importing one part (`bot.ui.render`) does not load gradio with the rest.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "EXTRACTIVE_MODE": "handlers",
    "LLM_MODE": "handlers",
    "ChatHandlers": "handlers",
    "build_app": "layout",
    "render_article": "render",
    "check_bind": "server",
    "is_loopback": "server",
    "launch": "server",
    "serve": "server",
    "FONTS": "theme",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'bot.ui' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bot.ui.{_WHERE[name]}"), name)
