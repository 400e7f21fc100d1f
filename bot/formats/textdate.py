"""A document's dateline: the publication date a PDF or Word article states near its top.

htmldate reads it (the same library that dates news pages). It is shown only the
first lines, and its finding is kept only when one of them writes a whole date
(day, month and year): htmldate turns a lone year ("ra mắt năm 2019") into
1 January, which no article's date is.
"""

from __future__ import annotations

import html
import logging
import re

from bot.formats.meta import iso_date

HEAD_LINES = 8  # a dateline sits under the headline, before the body
_WHOLE_DATE = re.compile(r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d\d|(?:19|20)\d\d-\d{2}-\d{2})\b")


def dateline(text: str) -> str:
    """The ISO date stated at the top of `text`, or ""."""
    head = [line.strip() for line in text.splitlines() if line.strip()][:HEAD_LINES]
    if not any(_WHOLE_DATE.search(line) for line in head):
        return ""
    from htmldate import find_date

    logging.getLogger("htmldate").setLevel(logging.ERROR)
    page = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in head) + "</body></html>"
    try:
        found = find_date(page, extensive_search=True, original_date=True, outputformat="%Y-%m-%d")
    except Exception:  # noqa: BLE001 - a date is a bonus
        return ""
    return iso_date(found or "")
