"""The small bilingual lookup tables shipped in bot/data/ (tab-separated, `#` comments)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def read_table(name: str) -> dict[str, list[str]]:
    """`key<TAB>a, b, c` lines -> {key: [a, b, c]}."""
    table: dict[str, list[str]] = {}
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, values = line.split("\t", 1)
            table[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return table
