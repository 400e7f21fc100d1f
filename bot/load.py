"""Load: read articles from files and folders, reporting (not raising on) bad files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.text import normalize

ARTICLE_SUFFIXES = {".txt", ".md"}


@dataclass(frozen=True)
class Article:
    source: str  # the file name; citations and the index key on it
    path: Path
    text: str  # NFC-normalised; citation offsets point into this

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


@dataclass
class LoadReport:
    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Article files under the given files and folders, sorted, without duplicates."""
    found: dict[Path, None] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in ARTICLE_SUFFIXES and not child.name.startswith("."):
                    found[child.resolve()] = None
        elif path.is_file():
            found[path.resolve()] = None
        else:
            raise FileNotFoundError(f"No such file or folder: {path}")
    return list(found)


def read_article(path: Path, max_bytes: int = 2_000_000) -> Article:
    """Read one article; raises ValueError with a reason a person can act on."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file")
    if size > max_bytes:
        raise ValueError(f"file too large ({size:,} bytes > BOT_MAX_FILE_BYTES={max_bytes:,})")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    text = normalize(text)
    if not text.strip():
        raise ValueError("no text (only white space)")
    return Article(source=path.name, path=path, text=text)


def load_articles(paths: Iterable[Path], max_bytes: int = 2_000_000) -> LoadReport:
    report = LoadReport()
    seen: dict[str, Path] = {}
    texts: dict[str, str] = {}
    for path in find_files(paths):
        try:
            article = read_article(path, max_bytes)
        except (OSError, ValueError) as exc:
            report.skipped.append((path.name, str(exc)))
            continue
        if article.source in seen and seen[article.source] != path:
            # Citations name files, so two files with one name would be ambiguous.
            report.skipped.append((path.name, f"same file name as {seen[article.source]}"))
            continue
        if article.sha1 in texts:
            # The same article twice would fill every result with pairs of twins.
            report.skipped.append((path.name, f"same text as {texts[article.sha1]}"))
            continue
        seen[article.source] = path
        texts[article.sha1] = article.source
        report.articles.append(article)
    return report


def read_source(data_dirs: Iterable[Path], source: str) -> str | None:
    """The text of an indexed article by its file name, or None. Never reads other paths."""
    if "/" in source or "\\" in source or source.startswith("."):
        return None
    for folder in data_dirs:
        candidate = Path(folder) / source
        if candidate.is_file():
            try:
                return read_article(candidate).text
            except (OSError, ValueError):
                return None
    return None
