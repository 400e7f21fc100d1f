"""A full disk: seen before an ingest writes (an estimate of the space it needs) or when a write fails.

Either way it is one line naming the file system and the space needed, and
never advice to rebuild: a rebuild needs more space, not less, and the index
answers again as soon as space is freed.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from bot.settings import Settings

# Index bytes per character of article text: Chroma (rows, full-text index, HNSW), the
# records, the sentence and topic vectors, BM25 and the article copy. Measured: the five
# seeds, 18,629 characters, take 1.66 MB (89 bytes a character, the empty database
# included); text repeating sentences already stored takes less (vectors are kept by content).
BYTES_PER_CHAR = 100
# An empty index: Chroma's database and segment files, the records' schema.
BASE_BYTES = 600_000
# SQLite rewrites pages through its journal, and Chroma's WAL grows before a checkpoint.
HEADROOM = 1.3

_FULL = ("database or disk is full", "no space left on device", "disk is full", "disk quota exceeded")


class DiskFull(OSError):
    """No space left for the index; str() is the one line to show."""


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) says the disk is full: OSError ENOSPC/EDQUOT, SQLite's and Chroma's wording."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, DiskFull):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(words in str(exc).lower() for words in _FULL):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def mount_point(path: Path) -> Path:
    """The file system's mount point (what `df` names), for the message."""
    path = _existing(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


def _new_chars(settings: Settings, articles: Iterable, whole: bool) -> int:
    """Characters of the articles this ingest will embed: all for a new index, else those without a same copy."""
    from bot.index_dir import articles_dir

    copies = articles_dir(settings)
    total = 0
    for article in articles:
        if not whole:
            try:
                if (copies / article.source).read_text(encoding="utf-8") == article.text:
                    continue
            except (OSError, ValueError):
                pass
        total += len(article.text)
    return total


def needed_bytes(settings: Settings, articles: Iterable, whole: bool = False) -> int:
    chars = _new_chars(settings, articles, whole)
    if not chars:
        return 0
    fresh = whole or not settings.chroma_dir.is_dir()
    return int((chars * BYTES_PER_CHAR + (BASE_BYTES if fresh else 0)) * HEADROOM)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n < 10_000_000 else f"{round(n / 1_000_000)} MB"


def disk_full_message(settings: Settings, articles: Iterable, whole: bool = False, *, started: bool = False) -> str:
    """The one line; `started`: the disk filled up part way (what was finished before is kept)."""
    where = settings.index_dir if settings.chroma_host else settings.store_dir
    needed = needed_bytes(settings, articles, whole) or BASE_BYTES
    kept = (
        "the articles indexed before it filled up are kept, and the index answers as before"
        if started and not whole
        else "the index is as it was before this run"
    )
    return (
        f"no space left on {mount_point(where)} (needed about {_mb(needed)}, {_mb(free_bytes(where))} free) "
        f"for the index in {Path(settings.index_dir).absolute()}; {kept}. "
        "Free some space and run the same command again."
    )


def check_space(settings: Settings, articles: Iterable, whole: bool = False) -> None:
    """Raise DiskFull before anything is written when the articles will not fit."""
    articles = list(articles)
    where = settings.index_dir if settings.chroma_host else settings.store_dir
    needed = needed_bytes(settings, articles, whole)
    if needed and free_bytes(where) < needed:
        raise DiskFull(disk_full_message(settings, articles, whole))
