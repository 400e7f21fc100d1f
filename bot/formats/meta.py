"""What is known about an article besides its text: title, publication date, author, address, outlet.

It comes from the page itself (bot.formats.html), from a `metadata.jsonl` beside
the files (one JSON object a line: `file`, `title`, `date`, `url`, the shape of
the vnnews corpus), or from a file's front matter (a `---` block of YAML at the
top of a .txt or .md). What a person wrote down (metadata.jsonl, front matter)
wins over what was read from the page.

Every field is a string, "" when unknown; a date is ISO `YYYY-MM-DD`. The fields
travel with every chunk of the article (bot.chunk), so the index keeps them
across re-ingests and every reader of a citation can show them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from bot.tables import read_table
from bot.text import normalize

METADATA_FILE = "metadata.jsonl"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Chunk metadata keys; never clash with the chunker's own (source, start, end, ...).
_PREFIX = "article_"


@dataclass(frozen=True)
class ArticleMeta:
    title: str = ""
    date: str = ""  # ISO YYYY-MM-DD
    author: str = ""
    url: str = ""
    site: str = ""  # the outlet, "Dân trí"

    def merged(self, over: ArticleMeta) -> ArticleMeta:
        """This, with every field `over` knows replaced by its value."""
        return replace(self, **{k: v for k, v in asdict(over).items() if v})

    def chunk_fields(self) -> dict[str, str]:
        """The known fields as chunk metadata (Chroma takes no None: unknown ones are left out).

        An article with nothing known adds no key, so its chunks hash as before and an
        unchanged corpus is not embedded again.
        """
        return {_PREFIX + k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_chunk(cls, metadata: dict) -> ArticleMeta:
        return cls(**{f.name: str(metadata.get(_PREFIX + f.name) or "") for f in fields(cls)})

    @property
    def outlet(self) -> str:
        """The outlet's name: the page's own, else the one its address is known by, else its host."""
        return self.site or outlet_of(self.url)

    def byline(self) -> str:
        """"Dân trí, 1 Oct 2020": outlet and date, as much of them as is known."""
        return ", ".join(p for p in (self.outlet, display_date(self.date)) if p)


def iso_date(value: object) -> str:
    """A publication date as YYYY-MM-DD, or "" when it cannot be read as one.

    Takes what people write in metadata and front matter: ISO dates and times,
    YAML's own dates, and day-first dates ("01/10/2020", as Vietnamese papers write them).
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return ""
    from dateutil import parser

    text = value.strip()
    try:
        return parser.isoparse(text).date().isoformat()
    except ValueError:
        pass
    try:
        return parser.parse(text, dayfirst=True, fuzzy=False).date().isoformat()
    except (ValueError, OverflowError):
        return ""


def display_date(iso: str) -> str:
    """"2020-10-01" -> "1 Oct 2020" (month names fixed, whatever the machine's locale)."""
    try:
        day = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def outlet_of(url: str) -> str:
    """The outlet an address belongs to (bot/data/outlets.tsv), else its host without www."""
    host = (urlsplit(url).hostname or "").lower() if url else ""
    if not host:
        return ""
    known = read_table("outlets.tsv")
    parts = host.split(".")
    for i in range(len(parts) - 1):  # "m.dantri.com.vn" is Dân trí too
        name = known.get(".".join(parts[i:]))
        if name:
            return name[0]
    return host.removeprefix("www.")


def from_mapping(record: dict) -> ArticleMeta:
    """The fields of a metadata.jsonl line or a front matter block (other keys are ignored)."""

    def text(key: str) -> str:
        value = record.get(key)
        return " ".join(normalize(str(value)).split()) if isinstance(value, str | int | float) else ""

    author = record.get("author") or record.get("authors")
    if isinstance(author, list):
        author = ", ".join(str(a) for a in author)
    return ArticleMeta(
        title=text("title"),
        date=iso_date(record.get("date")),
        author=" ".join(normalize(str(author)).split()) if author else "",
        url=text("url"),
        site=text("site") or text("sitename"),
    )


def read_metadata_file(folder: Path) -> tuple[dict[str, ArticleMeta], list[tuple[str, str]]]:
    """{file name: its metadata} from `folder/metadata.jsonl`, and (where, reason) per line not read.

    A broken line is reported and skipped; the articles are still read.
    """
    path = Path(folder) / METADATA_FILE
    found: dict[str, ArticleMeta] = {}
    problems: list[tuple[str, str]] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return found, problems
    except OSError as exc:
        return found, [(str(path), f"cannot be read ({exc.strerror or exc})")]
    for number, line in enumerate(raw.splitlines(), start=1):
        where = f"{path.name} line {number}"
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            problems.append((where, "not UTF-8"))
            continue
        except json.JSONDecodeError as exc:
            problems.append((where, f"not JSON ({exc.msg})"))
            continue
        name = record.get("file") if isinstance(record, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append((where, "no \"file\" naming the article"))
            continue
        found[Path(name.strip()).name] = from_mapping(record)
    return found, problems


def append_metadata(folder: Path, name: str, meta: ArticleMeta) -> None:
    """Record one file's metadata in `folder/metadata.jsonl` (a fetched page's address, above all),
    replacing an earlier line for the same file."""
    path = Path(folder) / METADATA_FILE
    kept: list[str] = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                same = json.loads(line).get("file") == name
            except (ValueError, AttributeError):
                same = False
            if line.strip() and not same:
                kept.append(line)
    record = {"file": name, **{k: v for k, v in asdict(meta).items() if v}}
    kept.append(json.dumps(record, ensure_ascii=False))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    tmp.replace(path)


def drop_metadata(folder: Path, name: str) -> None:
    """Forget one file's line in `folder/metadata.jsonl` (its article was removed)."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = []
    for line in lines:
        try:
            if json.loads(line).get("file") == name:
                continue
        except (ValueError, AttributeError):
            pass
        kept.append(line)
    if kept != lines:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(kept) + ("\n" if kept else ""), encoding="utf-8")
        tmp.replace(path)
