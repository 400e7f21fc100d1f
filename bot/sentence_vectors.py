"""Passage vectors kept beside the index, so that a question embeds only itself.

- Dense vectors of every evidence sentence (what `bot.evidence.score` compares
  with the question), encoded once when their chunk is ingested
  (bot.ingest_vectors). Evidence scoring reads them through `StoredEmbeddings`,
  an `Embeddings` whose `embed_documents` looks texts up here before encoding.
- Sparse topic vectors of passages (bot.topic.TopicOverlap, what the topic
  check compares with the question), encoded once per chunk at ingest too; a
  passage of an index built before they were stored is encoded the first time
  it is among a question's top three, and kept from then on.

Kept in the index folder's `vectors.sqlite` (bot.passage_vectors). Anything
that goes wrong there (a read-only folder, a locked file) only makes
evidence scoring encode the sentences itself, as it did before.
"""

from __future__ import annotations

import contextlib
import sqlite3

from langchain_core.embeddings import Embeddings

from bot.passage_vectors import VectorStore, close_stores, open_store
from bot.text import MIN_SENTENCE_WORDS, sentences


def evidence_sentences(text: str) -> list[str]:
    """The sentences of a chunk that evidence scoring may embed (same split, same minimum length)."""
    return [s.text for s in sentences(text) if len(s.text.split()) >= MIN_SENTENCE_WORDS]


def forget_stores() -> None:
    """Close every open store and forget the embedders wrapping them (tests and benchmarks
    that delete index folders)."""
    close_stores()
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
