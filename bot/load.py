"""Load: read articles from files and folders, reporting (not raising on) bad files.

Each format is read by its own reader (bot.formats); a `metadata.jsonl` beside
the files adds titles, dates and addresses (bot.formats.meta).
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.formats import SUFFIXES, EmptyArticle, read_document
from bot.formats.meta import ArticleMeta, read_metadata_file
from bot.formats.plain import decode_text
from bot.text import normalize

ARTICLE_SUFFIXES = set(SUFFIXES)
# PDFs, Word files and saved pages carry images and markup beside their text (BOT_MAX_DOCUMENT_BYTES).
DEFAULT_DOCUMENT_BYTES = 20_000_000

__all__ = ["ARTICLE_SUFFIXES", "Article", "EmptyArticle", "LoadReport", "find_files", "load_articles", "read_article",
           "read_copy", "read_source"]


@dataclass(frozen=True)
class Article:
    source: str  # the file name; citations and the index key on it
    path: Path
    text: str  # NFC-normalised; citation offsets point into this
    meta: ArticleMeta = ArticleMeta()  # title, date, author, address (bot.formats.meta)

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


def read_article(path: Path, max_bytes: int = 2_000_000, max_document_bytes: int = DEFAULT_DOCUMENT_BYTES) -> Article:
    """Read one article; raises ValueError with a reason a person can act on."""
    extracted = read_document(path, max_bytes, max_document_bytes)
    return Article(source=path.name, path=path, text=extracted.text, meta=extracted.meta)


def load_articles(
    paths: Iterable[Path], max_bytes: int = 2_000_000, max_document_bytes: int = DEFAULT_DOCUMENT_BYTES
) -> LoadReport:
    report = LoadReport()
    seen: dict[str, Path] = {}
    texts: dict[str, str] = {}
    stated: dict[Path, dict[str, ArticleMeta]] = {}  # per folder: its metadata.jsonl
    for path in find_files(paths, report.skipped):
        if path.parent not in stated:
            stated[path.parent], problems = read_metadata_file(path.parent)
            report.skipped.extend(problems)
        try:
            article = read_article(path, max_bytes, max_document_bytes)
            written = stated[path.parent].get(path.name)
            if written is not None:  # what a person wrote down wins over what was read from the page
                article = Article(article.source, article.path, article.text, article.meta.merged(written))
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


def _bare_name(source: str) -> bool:
    return bool(source) and "/" not in source and "\\" not in source and not source.startswith(".")


def read_copy(folder: Path, source: str) -> str | None:
    """The text ingest kept of an article (plain UTF-8 whatever its format was), or None."""
    if not _bare_name(source):
        return None
    try:
        return normalize(decode_text((Path(folder) / source).read_bytes()))
    except (OSError, ValueError):
        return None


def read_source(data_dirs: Iterable[Path], source: str) -> str | None:
    """The text of an indexed article by its file name, or None. Never reads other paths."""
    if not _bare_name(source):
        return None
    for folder in data_dirs:
        candidate = Path(folder) / source
        if candidate.is_file():
            try:
                return read_article(candidate).text
            except (OSError, ValueError):
                return None
    return None
