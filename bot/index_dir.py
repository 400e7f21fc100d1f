"""The index folder (`BOT_INDEX_DIR`): what the bot keeps there, and how a rebuild clears it.

The folder is the user's to choose, so it may hold anything else too (a
thesis, the articles themselves, their whole home directory). The bot marks
a folder it uses with `MARKER` and only ever deletes the entries it creates,
by name; it never deletes the folder itself, never follows a symlink out of
it, and refuses to clear a folder it did not mark unless that folder holds
nothing but the bot's own entries (an index made before the marker existed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bot.settings import Settings

MARKER = ".newsbot-index"
# Entries the bot creates directly in the index folder (glob patterns).
OWN_ENTRIES = ("chroma", "records.sqlite", "records.sqlite-journal", "bm25-*.pkl", "bm25-*.pkl.tmp*", "articles",
               "vectors.sqlite", "vectors.sqlite-wal", "vectors.sqlite-shm", "vectors.sqlite-journal")


class IndexFolderError(RuntimeError):
    """The index folder cannot be used or cleared as asked; the message says why and what to do."""


def lexical_path(settings: Settings) -> Path:
    return settings.index_dir / f"bm25-{settings.collection}.pkl"


def articles_dir(settings: Settings) -> Path:
    """Copies of indexed articles: the only files the UI's article viewer reads."""
    return settings.index_dir / "articles" / settings.collection


def records_path(settings: Settings) -> Path:
    return settings.index_dir / "records.sqlite"


def claim(settings: Settings) -> Path:
    """Create the index folder if needed and mark it as the bot's; returns it."""
    folder = settings.index_dir
    if folder.exists() and not folder.is_dir():
        raise IndexFolderError(f"BOT_INDEX_DIR={folder} is a file, not a folder. Point BOT_INDEX_DIR at a folder.")
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.is_file() or marker.is_symlink():
        marker.unlink(missing_ok=True)
        marker.write_text(
            json.dumps({"created_by": "newsbot", "note": "bot ingest --rebuild deletes only the bot's own entries"})
            + "\n",
            encoding="utf-8",
        )
    return folder


def own_entries(folder: Path) -> list[Path]:
    """The bot's own entries present directly in `folder` (symlinks included, never resolved)."""
    found: list[Path] = []
    for pattern in OWN_ENTRIES:
        found.extend(sorted(folder.glob(pattern)))
    return list(dict.fromkeys(found))


def _foreign_entries(folder: Path) -> list[str]:
    own = {p.name for p in own_entries(folder)} | {MARKER}
    return sorted(p.name for p in folder.iterdir() if p.name not in own)


def _remove(path: Path) -> None:
    # A symlink is removed as a link: what it points at is not the bot's.
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def wipe_local(settings: Settings) -> list[Path]:
    """Delete the bot's own entries in the index folder; returns what was removed.

    Raises IndexFolderError (and deletes nothing) when the folder is a file, a
    symlink, or unmarked and holding entries the bot did not create.
    """
    folder = settings.index_dir
    if os.path.lexists(folder) and folder.is_symlink():
        # Following it would clear whatever folder it points at.
        raise IndexFolderError(
            f"BOT_INDEX_DIR={folder} is a symlink; rebuild refuses to follow it. Point BOT_INDEX_DIR at the real folder."
        )
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise IndexFolderError(f"BOT_INDEX_DIR={folder} is a file, not a folder; nothing was deleted.")
    if not (folder / MARKER).is_file():
        foreign = _foreign_entries(folder)
        if foreign:
            shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
            raise IndexFolderError(
                f"{folder} was not created by the bot and holds other files ({shown}); nothing was deleted. "
                "Point BOT_INDEX_DIR at a folder of its own (the default is .bot)."
            )
    removed = own_entries(folder)
    for path in removed:
        _remove(path)
    return removed
