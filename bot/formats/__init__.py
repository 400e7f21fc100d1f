"""Readers: an article file (or a fetched page) -> its text and what is known about it.

One module per format, each through the library made for it:

    .txt .md      plain.py  UTF-8 (or UTF-16 with a BOM) text, with optional YAML front matter
    .html .htm    html.py   trafilatura (main text, title, author, outlet) and htmldate (date)
    .pdf          pdf.py    pypdf (text layer, document title)
    .docx         docx.py   python-docx (paragraphs, core properties)

URLs are fetched by fetch.py and read by the reader of what came back.
Every reader raises ValueError with a reason a person can act on (EmptyArticle
when the file holds no text at all), never a library's traceback.
"""

from __future__ import annotations

from pathlib import Path

from bot.formats.base import EmptyArticle, Extracted
from bot.text import normalize

TEXT_SUFFIXES = (".txt", ".md")
DOCUMENT_SUFFIXES = (".html", ".htm", ".pdf", ".docx")
SUFFIXES = TEXT_SUFFIXES + DOCUMENT_SUFFIXES


__all__ = ["SUFFIXES", "EmptyArticle", "Extracted", "limit_for", "read_bytes", "read_document"]


def limit_for(suffix: str, max_text_bytes: int, max_document_bytes: int) -> int:
    """The size cap of a file: BOT_MAX_FILE_BYTES for text, BOT_MAX_DOCUMENT_BYTES for pages,
    PDFs and Word files (their images and markup weigh far more than their text)."""
    return max_text_bytes if suffix.lower() in TEXT_SUFFIXES else max_document_bytes


def read_bytes(raw: bytes, suffix: str, *, url: str = "") -> Extracted:
    """The text and metadata of a file's bytes, by its suffix (".html", ".pdf", …)."""
    suffix = suffix.lower()
    if not raw:
        raise EmptyArticle("empty file")
    if suffix in TEXT_SUFFIXES:
        from bot.formats.plain import read_plain

        extracted = read_plain(raw)
    elif suffix in (".html", ".htm"):
        from bot.formats.html import read_html

        extracted = read_html(raw, url=url)
    elif suffix == ".pdf":
        from bot.formats.pdf import read_pdf

        extracted = read_pdf(raw)
    elif suffix == ".docx":
        from bot.formats.docx import read_docx

        extracted = read_docx(raw)
    else:
        raise ValueError(f"not a format the bot reads ({suffix or 'no suffix'}; it reads {', '.join(SUFFIXES)})")
    text = normalize(extracted.text)
    if not text.strip():
        raise EmptyArticle("no text (only white space)")
    return Extracted(text, extracted.meta)


def read_document(path: Path, max_text_bytes: int, max_document_bytes: int) -> Extracted:
    """Read one article file; raises ValueError (EmptyArticle for no text) with the reason."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyArticle("empty file")
    limit = limit_for(path.suffix, max_text_bytes, max_document_bytes)
    if size > limit:
        setting = "BOT_MAX_FILE_BYTES" if path.suffix.lower() in TEXT_SUFFIXES else "BOT_MAX_DOCUMENT_BYTES"
        raise ValueError(f"file too large ({size:,} bytes > {setting}={limit:,})")
    return read_bytes(path.read_bytes(), path.suffix)
