"""Load: read articles from files and folders, reporting (not raising on) bad files."""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.text import normalize

ARTICLE_SUFFIXES = {".txt", ".md"}
# Control characters no text file holds (tab, newline and carriage return aside).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")


class EmptyArticle(ValueError):
    """The file exists but holds no text: with --sync its article is removed, not kept."""


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
    empty: list[str] = field(default_factory=list)  # the skipped files that exist but hold no text


def find_files(paths: Iterable[Path], skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """Article files under the given files and folders, sorted, without duplicates.

    What cannot be read is appended to `skipped` as (name, reason) instead of
    vanishing: broken or looping symlinks, folders that cannot be listed,
    symlinked folders (not followed: one could lead anywhere, or in a circle).
    """
    problems = skipped if skipped is not None else []
    found: dict[Path, None] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            under: list[Path] = []
            _walk(path, under, problems)
            for child in sorted(under):
                found[child.resolve()] = None
        elif path.is_file():
            found[path.resolve()] = None
        elif path.is_symlink():
            problems.append((path.name, _link_problem(path)))
        else:
            raise FileNotFoundError(f"No such file or folder: {path}")
    return list(found)


def _walk(folder: Path, out: list[Path], problems: list[tuple[str, str]]) -> None:
    # Path.rglob skipped unlistable folders, dangling links and link loops without a word.
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        problems.append((f"{folder}/", f"folder cannot be listed ({exc.strerror or exc})"))
        return
    for entry in entries:
        path = Path(entry.path)
        is_article = path.suffix.lower() in ARTICLE_SUFFIXES and not entry.name.startswith(".")
        if entry.is_dir(follow_symlinks=False):
            _walk(path, out, problems)
        elif entry.is_symlink():
            try:
                target_is_dir = path.is_dir()
                target_is_file = path.is_file()
            except OSError:
                target_is_dir = target_is_file = False
            if target_is_dir:
                problems.append((f"{path}/", "symlink to a folder, not followed; give that folder itself"))
            elif target_is_file:
                if is_article:
                    out.append(path)
            elif is_article:
                problems.append((entry.name, _link_problem(path)))
        elif is_article:
            if entry.is_file(follow_symlinks=False):
                out.append(path)
            else:
                problems.append((entry.name, "not a regular file"))


def _link_problem(path: Path) -> str:
    target = os.readlink(path)
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symlink loop ({path.name} -> {target})"
        if exc.errno == errno.ENOENT:
            return f"broken symlink (points to {target}, which does not exist)"
        return f"symlink cannot be followed ({exc.strerror or exc})"
    return "not a regular file"


def read_article(path: Path, max_bytes: int = 2_000_000) -> Article:
    """Read one article; raises ValueError with a reason a person can act on."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyArticle("empty file")
    if size > max_bytes:
        raise ValueError(f"file too large ({size:,} bytes > BOT_MAX_FILE_BYTES={max_bytes:,})")
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows' "Unicode" is UTF-16 with a byte-order mark: readable as it is.
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("UTF-16 with invalid bytes; re-save the file as UTF-8") from None
        if _BINARY.search(text):
            raise ValueError("binary file, not text")
    elif b"\x00" in raw[:8192]:
        if _looks_utf16(raw[:8192]):
            raise ValueError("UTF-16 without a byte-order mark; convert it to UTF-8")
        raise ValueError("binary file, not text")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    text = normalize(text)
    if not text.strip():
        raise EmptyArticle("no text (only white space)")
    return Article(source=path.name, path=path, text=text)


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 text without a BOM: zero bytes in one byte position of each pair only (Latin letters, spaces)."""
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    return max(zeros_even, zeros_odd) >= 0.3 * len(odd) and min(zeros_even, zeros_odd) == 0


def load_articles(paths: Iterable[Path], max_bytes: int = 2_000_000) -> LoadReport:
    report = LoadReport()
    seen: dict[str, Path] = {}
    texts: dict[str, str] = {}
    for path in find_files(paths, report.skipped):
        try:
            article = read_article(path, max_bytes)
        except (OSError, ValueError) as exc:
            report.skipped.append((path.name, str(exc)))
            if isinstance(exc, EmptyArticle):
                report.empty.append(path.name)
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
