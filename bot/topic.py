"""The topic gate's vectors: e5's sparse "latent terms" of a question and of passages.

The refusal's topic check (bot.evidence.judge) asks what share of a question's
sparse term weight the best passages hold. Passages' vectors are computed at
ingest, on the worker processes (bot.ingest_vectors, which import this module
without LangChain) and stored in the index's vector store; the question's is
computed here, once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from bot.e5 import ENGINE_LOCK, load_e5

# Latent terms kept per text: the question and its passages must use the same number,
# at ingest and at question time alike.
TOPIC_TOP_K = 256


def topic_row(model, text: str) -> tuple[np.ndarray, np.ndarray]:
    """`text`'s sparse topic vector as (indices ascending, int32; their weights, float32).

    One form for the ingest workers and the question-time fallback, so a vector
    stored by either is the same bytes: what `model.sparse(text)` gives as a
    dense array, without the zeros.
    """
    return topic_sorted(*model.sparse(text, top_k=TOPIC_TOP_K, fmt="indices"))


def topic_sorted(idx, val) -> tuple[np.ndarray, np.ndarray]:
    """An engine's (indices, weights), by weight, as a `topic_row`: indices ascending, no zeros."""
    idx, val = np.asarray(idx, dtype=np.int32), np.asarray(val, dtype=np.float32)
    order = np.argsort(idx, kind="stable")
    idx, val = idx[order], val[order]
    keep = val != 0
    return idx[keep], val[keep]


def topic_dense(row: tuple[np.ndarray, np.ndarray], dim: int) -> np.ndarray:
    """A `topic_row` as the dense float32 vector the overlap is computed on."""
    vec = np.zeros(dim, dtype=np.float32)
    vec[row[0]] = row[1]
    return vec


class TopicOverlap:
    """The share of a question's sparse "latent terms" (e5's sparse head) found in a passage.

    Cosine similarity sits in a narrow band for any two texts; this share does
    not: measured on the seeds, off-topic questions ("How do I bake bread?",
    "Giá vàng hôm nay?") find at most 0.230 of their term weight in the best
    passages, and the eval set's questions at least 0.248, short or long,
    English or Vietnamese (hence BOT_MIN_TOPIC_OVERLAP=0.235 then; 0.245 since English questions
    are also searched under the general lexicon's words: bot/settings.py).
    Passages' vectors are computed at ingest (bot.ingest_vectors) and read from
    the index's vector store; a passage the store lacks (an index built before
    they were stored) is encoded here once and added, so a question encodes
    only itself.
    """

    def __init__(self, cache_size: int = 2048) -> None:
        self._model = load_e5()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = ENGINE_LOCK
        self.encoded = 0  # passages and questions encoded here: for benchmarks and tests

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Encode `text`'s topic vector (see `topic_row`)."""
        with self._lock:
            self.encoded += 1
            return topic_row(self._model, text)

    def vector(self, text: str) -> np.ndarray:
        """`text`'s topic vector as a dense array (a question's: encoded once, then cached)."""
        return self._vector(text)

    def _vector(self, text: str, stored=None) -> np.ndarray:
        vec = self._cache.get(text)
        if vec is None and stored is not None:
            vec = stored.get_sparse(text, self._model.sparse_dim)
        if vec is None:
            vec = topic_dense(self.row(text), self._model.sparse_dim)
            if stored is not None:
                stored.put_sparse(text, vec)
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vec

    def best(self, question: str, passages: list[str], stored=None) -> float:
        """max over passages of (q·p)/(q·q): 1.0 means every latent term of q is matched.

        `stored` (a bot.passage_vectors.VectorStore) holds the passages'
        vectors, written at ingest; only the question is encoded.
        """
        q = self._vector(question)
        norm = float(q @ q)
        if not passages or norm == 0.0:
            return 0.0
        return max(float(self._vector(p, stored) @ q) for p in passages) / norm


_overlap: list[TopicOverlap] = []


def topic_overlap() -> TopicOverlap:
    if not _overlap:
        _overlap.append(TopicOverlap())
    return _overlap[0]
