"""Passage vectors kept beside the index, so that a question embeds only itself.

- Dense vectors of every evidence sentence (what `bot.evidence.score` compares
  with the question), encoded once when their chunk is ingested
  (bot.ingest_vectors). Evidence scoring reads them through `StoredEmbeddings`,
  an `Embeddings` whose `embed_documents` looks texts up here before encoding.
- Sparse topic vectors of passages (bot.topic.TopicOverlap, what the topic
  check compares with the question), encoded once per chunk at ingest too; a
  passage of an index built before they were stored is encoded the first time
  it is among a question's top three, and kept from then on.

One SQLite file in the index folder (`vectors.sqlite`), keyed by sha256 of the
embedder's name, the kind of vector and the text: the same sentence in two
chunks or two articles is stored once, an unchanged re-ingest finds every
sentence already there, and vectors of another embedder are never mixed in.
Rows are only ever added; `bot ingest --rebuild` deletes the file with the rest.
Anything that goes wrong here (a read-only folder, a locked file) only makes
evidence scoring encode the sentences itself, as it did before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.text import MIN_SENTENCE_WORDS, sentences

FILE_NAME = "vectors.sqlite"
_BATCH = 500  # keys per SELECT (SQLite's parameter limit is 32766; smaller stays fast)


def vectors_path(index_dir: Path) -> Path:
    return Path(index_dir) / FILE_NAME


def evidence_sentences(text: str) -> list[str]:
    """The sentences of a chunk that evidence scoring may embed (same split, same minimum length)."""
    return [s.text for s in sentences(text) if len(s.text.split()) >= MIN_SENTENCE_WORDS]


class VectorStore:
    """Dense and sparse passage vectors by (embedder, kind, text); safe to share between threads."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = Path(path)
        self.model = model
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only file keeps its mode
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS dense (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sparse (key BLOB PRIMARY KEY, idx BLOB NOT NULL, val BLOB NOT NULL) WITHOUT ROWID"
        )
        self._inode = self._stat()

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

    def sparse_rows(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Stored topic vectors of `texts` as (indices, weights), None where none is stored: read
        in batches and never densified (a dense row is the sparse head's 250k floats)."""
        keys = self._sparse_keys(list(texts))
        found: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        try:
            with self._lock:
                for i in range(0, len(keys), _BATCH):
                    part = keys[i : i + _BATCH]
                    rows = self._db.execute(
                        f"SELECT key, idx, val FROM sparse WHERE key IN ({','.join('?' * len(part))})", part
                    ).fetchall()
                    found.update(
                        (k, (np.frombuffer(ix, dtype=np.int32), np.frombuffer(v, dtype=np.float32))) for k, ix, v in rows
                    )
        except sqlite3.Error:
            return [None] * len(keys)
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
            self._db.close()


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


def forget_stores() -> None:
    """Close every open store (tests and benchmarks that delete index folders)."""
    with _stores_lock:
        for store in _stores.values():
            if store is not None:
                with contextlib.suppress(sqlite3.Error):
                    store.close()
        _stores.clear()
        _wrappers.clear()


class StoredEmbeddings(Embeddings):
    """`base`, except that passages with a stored vector are not encoded again.

    Texts not in the store (a sentence split differently since ingestion, an
    index ingested before the store existed) are encoded by `base` and added.
    """

    def __init__(self, base: Embeddings, store: VectorStore) -> None:
        self.base = base
        self.store = store
        self.hits = 0  # texts answered from the store / encoded: for benchmarks and tests
        self.misses = 0

    def embed_query(self, text: str) -> list[float]:
        return self.base.embed_query(text)

    def embed_documents(self, texts: list[str], *, keep: bool = True) -> list[list[float]]:
        """Stored vectors where there are some, else encoded (and stored, unless `keep` is False:
        a model's answer sentences are compared once and never asked about again)."""
        texts = list(texts)
        try:
            stored = self.store.get_dense(texts)
        except sqlite3.Error:
            stored = [None] * len(texts)
        missing = list(dict.fromkeys(t for t, v in zip(texts, stored) if v is None))
        fresh: dict[str, list[float]] = {}
        if missing:
            fresh = dict(zip(missing, self.base.embed_documents(missing)))
        if missing and keep:
            with contextlib.suppress(sqlite3.Error):
                self.store.put_dense(missing, [fresh[t] for t in missing])
        self.hits += len(texts) - sum(v is None for v in stored)
        self.misses += len(missing)
        return [v.tolist() if v is not None else fresh[t] for t, v in zip(texts, stored)]


_wrappers: dict[tuple[int, int], StoredEmbeddings] = {}


def _stored_embeddings(embeddings: Embeddings, store: VectorStore | None) -> Embeddings:
    """`embeddings` reading sentence vectors from `store` when there is one."""
    if store is None:
        return embeddings
    key = (id(embeddings), id(store))  # embedders and stores live as long as the process
    if key not in _wrappers or _wrappers[key].base is not embeddings or _wrappers[key].store is not store:
        _wrappers[key] = StoredEmbeddings(embeddings, store)
    return _wrappers[key]


def for_index(settings, embeddings: Embeddings) -> tuple[Embeddings, VectorStore | None]:
    """What evidence scoring and the topic check use for this index: (embedder, store or None)."""
    from bot.embed import embedder_name

    store = open_store(settings.store_dir, embedder_name(settings))
    return _stored_embeddings(embeddings, store), store
