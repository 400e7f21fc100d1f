"""The workspace's SQLite file: chats and feedback, beside the index unless BOT_WORKSPACE_DB says where.

It lives in `.newsbot/` beside the index-<id>/ folders, so `bot ingest --rebuild` keeps it.
One connection per call (SQLite opens in microseconds), so the UI's worker threads
never share one; WAL lets a reader read while another thread writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.settings import Settings

DB_NAME = "workspace.sqlite"


def db_path(settings: Settings) -> Path:
    """BOT_WORKSPACE_DB, else workspace.sqlite in the bot's own folder (.newsbot/, bot.index_dir)."""
    if settings.workspace_db:
        return Path(settings.workspace_db)
    from bot.index_dir import own_folder

    return own_folder(settings.index_dir) / DB_NAME


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection with `schema` applied (CREATE … IF NOT EXISTS), committed on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.executescript(schema)
        yield con
        con.commit()
    finally:
        con.close()
