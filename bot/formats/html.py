"""News pages saved as HTML (or fetched): the article's main text and metadata, through trafilatura and htmldate.

trafilatura finds the article body among the page's menus, teasers, comments and
footers, and reads its title, author and outlet from the page's markup;
htmldate finds the publication date (not the last-modified one) the same way.
No hand-written parsing of the page.
"""

from __future__ import annotations

import logging

from bot.formats.base import Extracted
from bot.formats.meta import ArticleMeta, iso_date

# Below this much body text (the title aside) a page is no article: a section front, a login
# or an error page. trafilatura's own minimum for a extraction is the same 250 characters.
MIN_ARTICLE_CHARS = 250


def read_html(raw: bytes, *, url: str = "") -> Extracted:
    import trafilatura
    from htmldate import find_date

    # trafilatura logs every page it finds too short at WARNING; the reason is ours to give.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    try:
        doc = trafilatura.bare_extraction(
            raw,
            url=url or None,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            favor_precision=True,
            deduplicate=False,
        )
    except Exception as exc:  # lxml and the extractors raise many kinds on broken markup
        raise ValueError(f"the page could not be read as HTML ({type(exc).__name__})") from None
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    title = " ".join((getattr(doc, "title", None) or "").split())
    body = text[len(title) :] if title and text.startswith(title) else text
    if len(body.strip()) < MIN_ARTICLE_CHARS:
        shown = f"only {len(body.strip())} characters of text" if body.strip() else "no article text"
        raise ValueError(f"not a news article ({shown} in the page: a section front, a login or an error page?)")
    try:
        date = find_date(raw.decode("utf-8", errors="replace"), original_date=True, extensive_search=False,
                         url=url or None) or ""
    except Exception:  # noqa: BLE001 - a date is a bonus: the article is read without one
        date = ""
    meta = ArticleMeta(
        title=title,
        date=iso_date(date) or iso_date(getattr(doc, "date", None) or ""),
        author=" ".join((getattr(doc, "author", None) or "").split()),
        url=url or (getattr(doc, "url", None) or ""),
        site=" ".join((getattr(doc, "sitename", None) or "").split()),
    )
    if title and not text.startswith(title):
        # The seeds' shape: the headline on the first line (the sources panel and the list read it there).
        text = f"{title}\n{text}"
    return Extracted(text, meta)
