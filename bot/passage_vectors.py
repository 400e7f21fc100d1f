"""The index folder's store of passage vectors (`vectors.sqlite`), keyed by embedder, kind and text.

Dense vectors of evidence sentences and sparse topic vectors of passages
(bot.sentence_vectors says what they are for and who writes them), in one
SQLite file: the same text in two chunks or two articles is stored once, an
unchanged re-ingest finds every vector already there, and vectors of another
embedder are never mixed in. Rows are only ever added; `bot ingest --rebuild`
deletes the file with the rest. Retrieval reads the topic vectors too
(bot.retrieve), so this module depends on nothing of the answer's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

FILE_NAME = "vectors.sqlite"
_BATCH = 500  # keys per SELECT (SQLite's parameter limit is 32766; smaller stays fast)


def vectors_path(index_dir: Path) -> Path:
    return Path(index_dir) / FILE_NAME


class VectorStore:
    """Dense and sparse passage vectors by (embedder, kind, text); safe to share between threads."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = Path(path)
        self.model = model
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._connect()
        self._inode = self._stat()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only file keeps its mode
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS dense (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")
        db.execute(
            "CREATE TABLE IF NOT EXISTS sparse (key BLOB PRIMARY KEY, idx BLOB NOT NULL, val BLOB NOT NULL) WITHOUT ROWID"
        )
        self._conn = db
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        """The open connection; reopened after `close` (close_stores), since a retriever or an
        embedder opened earlier may still hold this store and must not silently lose it."""
        return self._conn if self._conn is not None else self._connect()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def same_file(self) -> bool:
        """Is the file this store has open still the one at its path?"""
        return self._inode is not None and self._stat() == self._inode

    def _key(self, kind: str, text: str) -> bytes:
        return hashlib.sha256(f"{self.model}\x00{kind}\x00{text}".encode()).digest()

    # -- dense ------------------------------------------------------------------

    def get_dense(self, texts: list[str]) -> list[np.ndarray | None]:
        keys = [self._key("passage", t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), _BATCH):
                part = keys[i : i + _BATCH]
                rows = self._db.execute(
                    f"SELECT key, vec FROM dense WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return [found.get(k) for k in keys]

    def missing_dense(self, texts: list[str]) -> list[str]:
        """Those of `texts` with no stored vector, once each, in order."""
        unique = list(dict.fromkeys(texts))
        return [t for t, v in zip(unique, self.get_dense(unique)) if v is None]

    def put_dense(self, texts: list[str], vectors) -> None:
        rows = [
            (self._key("passage", t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)
        ]
        self._write_many("INSERT OR REPLACE INTO dense (key, vec) VALUES (?, ?)", rows)

    def _write_many(self, sql: str, rows: list[tuple]) -> None:
        """All rows in one transaction: a killed ingest leaves them all or none."""
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def count(self, kind: str = "dense") -> int:
        table = "dense" if kind == "dense" else "sparse"
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # -- sparse -----------------------------------------------------------------

    def _sparse_keys(self, texts: list[str]) -> list[bytes]:
        return [self._key("sparse", t) for t in texts]

    def get_sparse(self, text: str, dim: int) -> np.ndarray | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT idx, val FROM sparse WHERE key = ?", (self._key("sparse", text),)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        vec = np.zeros(dim, dtype=np.float32)
        vec[np.frombuffer(row[0], dtype=np.int32)] = np.frombuffer(row[1], dtype=np.float32)
        return vec

    def get_topic_rows(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Stored topic vectors as (indices, weights), None where there is none; one query per 500 texts."""
        keys = self._sparse_keys(texts)
        found: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        try:
            with self._lock:
                for i in range(0, len(keys), _BATCH):
                    part = keys[i : i + _BATCH]
                    rows = self._db.execute(
                        f"SELECT key, idx, val FROM sparse WHERE key IN ({','.join('?' * len(part))})", part
                    ).fetchall()
                    found.update(
                        (k, (np.frombuffer(idx, dtype=np.int32), np.frombuffer(val, dtype=np.float32)))
                        for k, idx, val in rows
                    )
        except sqlite3.Error:
            return [None] * len(texts)
        return [found.get(k) for k in keys]

    def missing_sparse(self, texts: list[str]) -> list[str]:
        """Those of `texts` with no stored topic vector, once each, in order."""
        unique = list(dict.fromkeys(texts))
        keys = self._sparse_keys(unique)
        found: set[bytes] = set()
        with self._lock:
            for i in range(0, len(keys), _BATCH):
                part = keys[i : i + _BATCH]
                rows = self._db.execute(f"SELECT key FROM sparse WHERE key IN ({','.join('?' * len(part))})", part)
                found.update(k for (k,) in rows.fetchall())
        return [t for t, k in zip(unique, keys) if k not in found]

    def put_topics(self, texts: list[str], rows) -> None:
        """Topic vectors as (indices, weights) pairs (bot.topic.topic_row), in one transaction.

        Stored as `put_sparse` stores a dense vector: indices ascending, no zeros.
        """
        values = []
        for key, (idx, val) in zip(self._sparse_keys(list(texts)), rows):
            idx, val = np.asarray(idx, dtype=np.int32), np.asarray(val, dtype=np.float32)
            order = np.argsort(idx, kind="stable")
            keep = val[order] != 0
            values.append((key, idx[order][keep].tobytes(), val[order][keep].tobytes()))
        self._write_many("INSERT OR REPLACE INTO sparse (key, idx, val) VALUES (?, ?, ?)", values)

    def put_sparse(self, text: str, vec: np.ndarray) -> None:
        """Best effort: a read-only or busy index just encodes the passage again next time."""
        idx = np.flatnonzero(vec).astype(np.int32)
        row = (self._key("sparse", text), idx.tobytes(), np.asarray(vec[idx], dtype=np.float32).tobytes())
        with contextlib.suppress(sqlite3.Error), self._lock:
            self._db.execute("INSERT OR REPLACE INTO sparse (key, idx, val) VALUES (?, ?, ?)", row)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_stores: dict[tuple[str, str], VectorStore | None] = {}
_stores_lock = threading.Lock()


def open_store(index_dir: Path, model: str, create: bool = False) -> VectorStore | None:
    """The index folder's vector store (one per process), or None when there is none or it cannot be opened.

    Readers pass create=False: asking a question never creates the file.
    """
    path = vectors_path(index_dir)
    key = (str(path.absolute()), model)
    with _stores_lock:
        store = _stores.get(key)
        if store is not None and not store.same_file():
            # `bot ingest --rebuild` deleted or replaced the file under us.
            with contextlib.suppress(sqlite3.Error):
                store.close()
            _stores.pop(key)
            store = None
        if store is not None or (key in _stores and not create and not path.is_file()):
            return store
        if not create and not path.is_file():
            return None
        try:
            store = VectorStore(path, model)
        except (sqlite3.Error, OSError):
            store = None
        _stores[key] = store
        return store


def close_stores() -> None:
    """Close every open store (tests and benchmarks that delete index folders)."""
    with _stores_lock:
        for store in _stores.values():
            if store is not None:
                with contextlib.suppress(sqlite3.Error):
                    store.close()
        _stores.clear()
