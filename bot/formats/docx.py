"""Word documents (.docx): the paragraphs and tables' text through python-docx; title and author
from the document's core properties, the date from its dateline (bot.formats.textdate)."""

from __future__ import annotations

import io
import zipfile

from bot.formats.base import Extracted
from bot.formats.meta import ArticleMeta
from bot.formats.textdate import dateline


def read_docx(raw: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValueError(f"not a readable Word document ({type(exc).__name__}); .doc files must be saved as .docx") from None
    except Exception as exc:  # noqa: BLE001 - lxml errors on damaged parts
        raise ValueError(f"not a readable Word document ({type(exc).__name__})") from None
    lines = [p.text.strip() for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
            if cells:
                lines.append(" | ".join(cells))
    text = "\n".join(line for line in lines if line)
    props = document.core_properties
    first = next((line for line in lines if line), "")
    title = " ".join((props.title or "").split()) or first[:200]
    author = (props.author or "").strip()
    if author.lower() in {"python-docx", "unknown", "author"}:  # the defaults tools write, no one's name
        author = ""
    return Extracted(text, ArticleMeta(title=title, date=dateline(text[:2000]), author=author))
