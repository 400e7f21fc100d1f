"""What a citation says about its article, beside the quote: outlet, date and title.

"[1] 002_….txt — Dân trí, 1 Oct 2020" in the CLI, the same in the chat and the
sources panel, and in `bot serve`'s citations. A quote that dates something
relative to the day it was written ("hôm 21/1", "tuần tới") is shown with its
article's date, so the reader can tell which 21 January, which week.

Reads the article metadata the index keeps with every chunk (bot.formats.meta);
nothing here touches how an answer is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from bot.formats.meta import ArticleMeta, display_date
from bot.tables import read_table

# A day and month without a year: "21/1", "ngày 21-1" (a year after it makes the date whole).
_DAY_MONTH = re.compile(r"(?<![\d/.-])(\d{1,2})[/-](\d{1,2})(?![\d]|[/.-]\d)")

Metas = Mapping[str, ArticleMeta]


@cache
def _relative_phrases() -> re.Pattern:
    phrases = sorted({p for values in read_table("relative_dates.tsv").values() for p in values}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE)


def relative_dates(quote: str) -> list[str]:
    """The expressions in a quote whose day depends on when it was written, as written."""
    found = [m.group(0) for m in _relative_phrases().finditer(quote)]
    for m in _DAY_MONTH.finditer(quote):
        day, month = int(m.group(1)), int(m.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.append(m.group(0))
    return list(dict.fromkeys(found))


def byline(meta: ArticleMeta | None) -> str:
    """"Dân trí, 1 Oct 2020", or "" when nothing is known."""
    return meta.byline() if meta else ""


def dated_note(quotes: Iterable[str], meta: ArticleMeta | None) -> str:
    """"“hôm 21/1”, “tuần tới”: as of 20 Jan 2022, the article's date" when the quotes date something
    relative to a known article date; "" otherwise."""
    if meta is None or not meta.date:
        return ""
    found = list(dict.fromkeys(e for q in quotes for e in relative_dates(q)))
    if not found:
        return ""
    shown = ", ".join(f"“{e}”" for e in found[:4])
    return f"{shown}: as of {display_date(meta.date)}, the article's date"


def citation_notes(citations: Sequence, metas: Metas) -> dict[int, tuple[str, str]]:
    """{n: (byline, dated note)} for an answer's citations (objects with n, source and quote)."""
    out = {}
    for c in citations:
        meta = metas.get(c.source)
        out[c.n] = (byline(meta), dated_note([c.quote], meta))
    return out


def citation_fields(source: str, quote: str, metas: Metas) -> dict[str, str]:
    """The article fields an API citation carries beside file and offsets (only those known)."""
    meta = metas.get(source)
    if meta is None:
        return {}
    fields = {"title": meta.title, "date": meta.date, "outlet": meta.outlet, "url": meta.url, "byline": meta.byline()}
    note = dated_note([quote], meta)
    if note:
        fields["dated"] = note
    return {k: v for k, v in fields.items() if v}
