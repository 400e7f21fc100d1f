"""PDF: the text layer of every page, through pypdf; the title from the document's properties.

A scanned PDF has pictures of pages and no text layer: it is refused with that
reason (it needs OCR first), not indexed empty. A news article printed to PDF
keeps its dateline in the text, where htmldate looks for the publication date.
"""

from __future__ import annotations

import io
import logging
import re

from bot.formats.base import Extracted
from bot.formats.meta import ArticleMeta
from bot.formats.textdate import dateline


def read_pdf(raw: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # warnings about odd but readable files
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                reader.decrypt("")  # "protected" only against editing: readable without a password
            except Exception:  # noqa: BLE001
                raise ValueError("the PDF is encrypted; save an unprotected copy") from None
        pages = [unwrap(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
        title = str(info.get("/Title") or "").strip()
        author = str(info.get("/Author") or "").strip()
    except ValueError:
        raise
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise ValueError(f"not a readable PDF ({type(exc).__name__})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise ValueError(
            f"no text in the PDF ({len(pages)} page{'s' if len(pages) != 1 else ''} of images: "
            "a scanned document needs OCR first)"
        )
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Extracted(text, ArticleMeta(title=_title(title, first), date=dateline(pages[0] if pages else ""),
                                        author=author))


# A line that ends a sentence or a heading: its line break is the text's own.
_ENDS = re.compile(r"[.!?:;…\"”»)\]]$")
WRAPPED_WIDTH = 0.6  # a line at least this share of the page's longest line ran into the margin


def unwrap(page: str) -> str:
    """The page's text with the lines the layout wrapped joined again.

    pypdf returns a PDF's text line by line as laid out, so a sentence wrapped at
    the margin would reach the chunker and the sentence splitter as two. A line
    that ends no sentence joins the next when it ran (nearly) the full width or
    the next goes on in lower case (a wrapped headline); a short line, or one
    ending a sentence, ends its paragraph.
    """
    lines = [" ".join(line.split()) for line in page.splitlines()]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    previous = ""  # the last line as laid out (out[-1] may hold several joined)
    for line in lines:
        if not line:
            out.append("")
        elif out and out[-1] and not _ENDS.search(previous) and (
            len(previous) >= WRAPPED_WIDTH * width or line[0].islower()
        ):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        previous = line
    return "\n".join(line for line in out if line)


def _title(stated: str, first_line: str) -> str:
    # Tools write a file name or "Untitled" into /Title when they know no better.
    if not stated or stated.lower() in {"untitled", "document"} or stated.lower().endswith((".pdf", ".docx", ".doc")):
        return first_line[:200]
    return " ".join(stated.split())
