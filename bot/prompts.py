"""Prompt templates and fixed messages, read from the `prompts/` folder (never written in code).

The folder is the checkout's top-level `prompts/`, or, in an installed copy, the copy
of it the wheel carries (bot.settings.PROMPTS_DIR says which).
"""

from __future__ import annotations

import tomllib
from functools import cache

from bot.settings import PROMPTS_DIR


@cache
def load_prompt(name: str) -> str:
    """The template `prompts/<name>.txt`; fails loudly at start-up when it is missing."""
    return PROMPTS_DIR.joinpath(f"{name}.txt").read_text(encoding="utf-8").strip()


def message(key: str, lang: str, **values: object) -> str:
    """The fixed sentence `key` of prompts/messages.toml in `lang` (English when it has none)."""
    table = prompt_table("messages")
    text = table.get(lang, table["en"]).get(key) or table["en"][key]
    return text.format(**values) if values else text


@cache
def prompt_table(name: str) -> dict:
    """The TOML file `prompts/<name>.toml` (e.g. the worked example, per language)."""
    with PROMPTS_DIR.joinpath(f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)
