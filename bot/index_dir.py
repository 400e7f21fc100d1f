"""The index folder (`BOT_INDEX_DIR`): where the bot keeps its index, and how it replaces it.

The folder is the user's to choose, so it may hold anything else too (a
thesis, the articles themselves, their whole home directory). Everything the
bot writes lives inside one folder of its own, `.newsbot/`, which it creates
and marks; nothing outside it is ever matched by name, moved or deleted:

    BOT_INDEX_DIR/.newsbot/
        newsbot.json      the mark: this folder is the bot's
        current           the name of the live index below (replaced atomically)
        index-<id>/       an index: chroma/, records.sqlite, bm25-<collection>.pkl, vectors.sqlite,
                          articles/<collection>/ (copies of the indexed articles, what the UI shows)
        lock              held shared by an ingest, exclusively while the live index is swapped

A rebuild builds a new `index-<id>/` beside the live one and swaps `current`
only when the build succeeded: a mistyped path, a full disk or Ctrl-C leaves
the old index answering. An index laid out the old way (the bot's entries
directly in BOT_INDEX_DIR) is moved into `.newsbot/` the first time it is
opened; copies of articles are copied, never moved, because the old layout
shared its `articles/` with whatever folder of that name the user had there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bot.settings finds the live index through this module
    from bot.settings import Settings

log = logging.getLogger(__name__)

OWN_FOLDER = ".newsbot"
MARK = "newsbot.json"
POINTER = "current"
LOCK = "lock"
# The old layout's mark (directly in BOT_INDEX_DIR), and its entries there.
LEGACY_MARKER = ".newsbot-index"
_LEGACY_FILES = ("records.sqlite", "records.sqlite-journal", "vectors.sqlite", "vectors.sqlite-wal",
                 "vectors.sqlite-shm", "vectors.sqlite-journal")


class IndexFolderError(RuntimeError):
    """The index folder cannot be used as asked; the message says why and what to do."""


def own_folder(index_dir: Path) -> Path:
    return Path(index_dir) / OWN_FOLDER


def lexical_path(settings: Settings) -> Path:
    return settings.store_dir / f"bm25-{settings.collection}.pkl"


def articles_dir(settings: Settings) -> Path:
    """Copies of indexed articles: the only files the UI's article viewer reads."""
    return settings.store_dir / "articles" / settings.collection


def records_path(settings: Settings) -> Path:
    return settings.store_dir / "records.sqlite"


# -- which index is live ---------------------------------------------------------------


def _pointed(own: Path) -> Path | None:
    try:
        name = (own / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    # Only a name of ours, inside our folder: never a path elsewhere.
    if not name.startswith("index-") or "/" in name or "\\" in name or not (own / name).is_dir():
        return None
    return own / name


def _is_legacy(index_dir: Path) -> bool:
    chroma = index_dir / "chroma"
    return (index_dir / LEGACY_MARKER).is_file() or ((chroma / "chroma.sqlite3").is_file() and not chroma.is_symlink())


def live_dir(index_dir: Path) -> Path:
    """The folder holding the live index of BOT_INDEX_DIR (an old-layout index is moved in first).

    With no index yet, where the first ingest puts it (`.newsbot/index-<id>/`, not created here).
    """
    index_dir = Path(index_dir)
    own = own_folder(index_dir)
    pointed = _pointed(own)
    if pointed is not None:
        return pointed
    if _is_legacy(index_dir):
        try:
            return migrate(index_dir)
        except OSError:
            # Read-only (or a race lost): the old layout is read where it is.
            return index_dir
    return own / "index-1"


def generation(index_dir: Path) -> str:
    """What changes whenever the live index does: its folder, and the times its files were last written.

    Cheap (a few stat calls): a server asks it before each question to see whether to reopen, and
    `bot ask` compares it with a running server's (bot.remote). The files are those only a change
    writes: the ingest records and the BM25 pickles (an ingest, a rebuild and a removal write both).
    Not chroma.sqlite3: opening Chroma commits a transaction to it, so its time changed with every
    open, and a server reopened the whole index before every question.
    """
    live = live_dir(index_dir)
    stamps = [live.name]
    lexical: list[str] = []
    with contextlib.suppress(OSError):
        lexical = sorted(p.name for p in live.glob("bm25-*.pkl"))
    for name in ("records.sqlite", *lexical):
        with contextlib.suppress(OSError):
            st = (live / name).stat()
            stamps.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(stamps)


def ensure_live(index_dir: Path) -> Path:
    """The live index's folder, created (and pointed at) when there is none yet."""
    live = live_dir(index_dir)
    if live == Path(index_dir) or live.is_dir():
        return live
    own = claim(index_dir)
    with locked(index_dir, exclusive=True):
        pointed = _pointed(own)
        if pointed is not None:  # another ingest made it meanwhile
            return pointed
        live.mkdir(exist_ok=True)
        _point(own, live)
    return live


# -- claiming, locking, swapping ------------------------------------------------------------


def claim(index_dir: Path) -> Path:
    """Create `.newsbot/` (marked) in the index folder if needed; returns it."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFolderError(f"BOT_INDEX_DIR={index_dir} is a file, not a folder. Point BOT_INDEX_DIR at a folder.")
    own = own_folder(index_dir)
    if own.is_symlink() or (own.exists() and not own.is_dir()):
        raise IndexFolderError(
            f"{own} is not a folder the bot made (a file or a symlink); move it away, then run the command again."
        )
    own.mkdir(parents=True, exist_ok=True)
    mark = own / MARK
    if not mark.is_file() or mark.is_symlink():
        mark.unlink(missing_ok=True)
        mark.write_text(
            json.dumps({"created_by": "newsbot", "note": "the bot's index; it writes nothing outside this folder"})
            + "\n",
            encoding="utf-8",
        )
    return own


@contextlib.contextmanager
def locked(index_dir: Path, exclusive: bool) -> Iterator[None]:
    """Hold `.newsbot/lock`: shared while ingesting into the live index, exclusive while it is swapped."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    own = claim(index_dir)
    with open(own / LOCK, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def new_index_dir(index_dir: Path) -> Path:
    """A fresh, empty folder for an index being built beside the live one."""
    own = claim(index_dir)
    path = own / f"index-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def _point(own: Path, live: Path) -> None:
    tmp = own / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(live.name + "\n", encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(own / POINTER)


def swap_in(index_dir: Path, built: Path) -> None:
    """Make `built` the live index, then delete the indexes no longer live (never anything else)."""
    own = claim(index_dir)
    with locked(index_dir, exclusive=True):
        _point(own, built)
    remove_stale(index_dir)


def discard(built: Path) -> None:
    """Delete an index that was being built (a failed or interrupted rebuild)."""
    if built.parent.name == OWN_FOLDER and built.name.startswith("index-") and not built.is_symlink():
        shutil.rmtree(built, ignore_errors=True)


def remove_stale(index_dir: Path) -> list[Path]:
    """Delete `.newsbot/index-*` folders that are neither live nor being built now (their builder is gone)."""
    own = own_folder(index_dir)
    live = _pointed(own)
    removed = []
    for path in own.glob("index-*"):
        if path == live or path.is_symlink() or not path.is_dir():
            continue
        builder = path / ".building"
        if builder.is_file() and _alive(builder.read_text(encoding="utf-8").strip()):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def mark_building(built: Path) -> None:
    (built / ".building").write_text(str(os.getpid()), encoding="utf-8")


def unmark_building(built: Path) -> None:
    (built / ".building").unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the old layout ------------------------------------------------------------------------


def _recorded_sources(records: Path) -> set[str]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{records}?mode=ro", uri=True)) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT group_id FROM upsertion_record") if row[0]}
    except sqlite3.Error:
        return set()


def migrate(index_dir: Path) -> Path:
    """Move an old-layout index (the bot's entries directly in BOT_INDEX_DIR) into `.newsbot/`; returns its folder.

    Only entries the old bot certainly wrote move: `chroma/` holding Chroma's
    database, the records and vectors databases, `bm25-*.pkl`. The article copies
    lived in `articles/<collection>/`, a name a user's own folder may have: the files
    of recorded articles are copied from there, and nothing there is moved or deleted.
    """
    index_dir = Path(index_dir)
    own = claim(index_dir)
    with locked(index_dir, exclusive=True):
        pointed = _pointed(own)
        if pointed is not None or not _is_legacy(index_dir):  # another process did it meanwhile
            return pointed or live_dir(index_dir)
        target = own / f"index-{uuid.uuid4().hex[:12]}"
        target.mkdir()
        sources = _recorded_sources(index_dir / "records.sqlite")
        copies = index_dir / "articles"
        if copies.is_dir() and not copies.is_symlink():
            for folder in copies.iterdir():
                if not folder.is_dir() or folder.is_symlink():
                    continue
                for name in sources:
                    source = folder / name
                    if source.is_file() and not source.is_symlink():
                        (target / "articles" / folder.name).mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target / "articles" / folder.name / name)
        chroma = index_dir / "chroma"
        moved = [chroma] if (chroma / "chroma.sqlite3").is_file() and not chroma.is_symlink() else []
        moved += [index_dir / name for name in _LEGACY_FILES if (index_dir / name).is_file()]
        moved += [p for p in index_dir.glob("bm25-*.pkl") if p.is_file() and not p.is_symlink()]
        for path in moved:
            path.rename(target / path.name)
        _point(own, target)
        (index_dir / LEGACY_MARKER).unlink(missing_ok=True)
    log.warning(
        "moved the index in %s into %s (the bot now keeps everything there); %s",
        index_dir, own, "old copies of articles in articles/ were left where they were" if copies.is_dir() else "",
    )
    return target
