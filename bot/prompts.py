"""Prompt templates and fixed messages, read from the `prompts/` folder (never written in code)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from bot.settings import REPO_ROOT

PROMPTS_DIR = REPO_ROOT / "prompts"


@cache
def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> str:
    """The template `prompts/<name>.txt`; fails loudly at start-up when it is missing."""
    return (folder / f"{name}.txt").read_text(encoding="utf-8").strip()


def message(key: str, lang: str, **values: object) -> str:
    table = prompt_table("messages")
    text = table.get(lang, table["en"]).get(key) or table["en"][key]
    return text.format(**values) if values else text


@cache
def prompt_table(name: str, folder: Path = PROMPTS_DIR) -> dict:
    """The TOML file `prompts/<name>.toml` (e.g. the worked example, per language)."""
    with (folder / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)
