"""An answer as plain text: what `bot ask` and `bot chat` print and the UI's `/chat` API returns.

Its own module because both the CLI and the UI need it: when it lived in
bot/cli.py, bot/ui.py imported the CLI and the CLI imported the UI (a cycle).
It imports nothing heavy, so `bot --help` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.answer import Answer
    from bot.formats.meta import ArticleMeta


def _words_of(text: str) -> str:
    """Text without [n] markers and punctuation: "next week [1]; 12 days [2]." reads "next week 12 days"."""
    text = re.sub(r"\[\d+\]", " ", text)
    return " ".join(re.sub(r"[^\w/.-]+|(?<!\d)\.|\.(?!\d)", " ", text).split())


def format_answer(answer: Answer, metas: Mapping[str, ArticleMeta] | None = None) -> str:
    """The answer, which answerer gave it, and its citations with quote and offsets.

    metas: what is known of each article (bot.workspace.catalog.metas); each citation then
    names its outlet and date, and a quote dating something relatively gets the article's date.
    """
    from bot.bylines import citation_notes

    notes = citation_notes(answer.citations, metas or {})
    lines = [answer.text.strip()]
    short = answer.short
    if short and not _words_of(lines[0]).startswith(_words_of(short)):
        lines.insert(0, short)  # the short answer first, when the answer text does not open with it
    if answer.notice:
        lines.append(f"({answer.notice})")
    for c in answer.citations:
        byline, dated = notes.get(c.n, ("", ""))
        lines.append(f"[{c.n}] {c.source} (chars {c.start}-{c.end})" + (f" — {byline}" if byline else ""))
        lines.append(f"    “{c.quote}”")
        if dated:
            lines.append(f"    ({dated})")
    for flag in answer.flags:
        lines.append(f"! {flag}")
    lines.append(f"— answered by: {answer.answerer}")
    return "\n".join(lines)


def article_fields(meta: ArticleMeta | None) -> dict:
    """What is known of one article (title, date, outlet, address, byline), without the empty fields."""
    if meta is None:
        return {}
    from dataclasses import asdict

    return {**{k: v for k, v in asdict(meta).items() if v}, **({"byline": meta.byline()} if meta.byline() else {})}


def answer_json(answer: Answer, metas: Mapping[str, ArticleMeta] | None = None) -> dict:
    """What `bot ask --json` prints: the answer's fields, and each cited article's fields beside the citations."""
    data = answer.to_dict()
    metas = metas or {}
    data["articles"] = {s: article_fields(metas.get(s)) for s in dict.fromkeys(c.source for c in answer.citations)}
    return data
