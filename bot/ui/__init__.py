"""The Gradio chat: ask, read the cited passages in their articles, follow up.

One `Bot` (index, embedder, LLM) is opened per process and shared by every
session; each browser tab keeps its own conversation in a `gr.State`. The parts:
render (Markdown and HTML, no gradio) ← handlers (events, state) ← layout (the
Blocks) ← server (binding, launch, `bot ui`); theme is the look. This module
only names what callers import, so `from bot.ui import serve` keeps working.
"""

from __future__ import annotations

from bot.ui.handlers import EXTRACTIVE_MODE, LLM_MODE, MAX_K, RETRIEVERS, ChatHandlers, Conversation
from bot.ui.layout import EXAMPLES, TITLE, build_app
from bot.ui.render import (
    CONTEXT_CHARS,
    SOURCES_PLACEHOLDER,
    corpus_line,
    render_answer,
    render_article,
    render_sources,
)
from bot.ui.server import LOOPBACK_NAMES, check_bind, is_loopback, launch, serve
from bot.ui.theme import CSS, FONTS, MONO_FONTS, theme

__all__ = [
    "CONTEXT_CHARS",
    "CSS",
    "EXAMPLES",
    "EXTRACTIVE_MODE",
    "FONTS",
    "LLM_MODE",
    "LOOPBACK_NAMES",
    "MAX_K",
    "MONO_FONTS",
    "RETRIEVERS",
    "SOURCES_PLACEHOLDER",
    "TITLE",
    "ChatHandlers",
    "Conversation",
    "build_app",
    "check_bind",
    "corpus_line",
    "is_loopback",
    "launch",
    "render_answer",
    "render_article",
    "render_sources",
    "serve",
    "theme",
]
