"""Retrieve: dense (multilingual e5 in Chroma) + lexical (BM25), fused by reciprocal rank.

Dense search is what lets an English question find a Vietnamese passage;
BM25 pins down names, dates and numbers, and questions typed without
diacritics. Reciprocal rank fusion needs no score calibration between the two,
which matters because e5 similarities sit in a narrow band. The two sides'
candidates are also ranked by how much of the question's sparse "latent
terms" (bot.topic) each holds, from the vectors stored at ingest: a third
ranking in the fusion, which keeps the passages about what the question is
about ahead of the many that merely share its words once an archive of other
news is mixed in.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from langchain_chroma import Chroma
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from bot.disk import is_disk_full, mount_point
from bot.embed import make_embeddings
from bot.index_dir import lexical_path
from bot.lexical import BM25Index
from bot.query import Query, as_query
from bot.settings import RetrieverKind, Settings
from bot.store import IndexUnavailable, all_chunks, fresh_client, store_label, vector_store
from bot.text import lexical_bigrams
from bot.tuning import TUNING

POOLS_KEPT = 16  # candidate pools a retriever keeps for a deeper look (bot.pipeline)


@dataclass
class Hit:
    doc: Document
    score: float  # fused score (or the single retriever's score)
    dense_rank: int | None = None  # 1-based; None when that side did not return it
    bm25_rank: int | None = None
    dense_sim: float | None = None
    bm25_score: float | None = None
    sparse_rank: int | None = None  # among the pooled candidates, by sparse latent terms (HybridRetriever.topic_ranking)
    # The fused score of the dense and BM25 sides alone: the topic gate's order (bot.pipeline),
    # since the sparse ranking is the very measure that gate applies.
    two_sided: float = 0.0

    @property
    def source(self) -> str:
        return self.doc.metadata.get("source", "")


def query_pairs(query: Query) -> list[str]:
    """The question's syllable pairs for BM25: its own, and those of its Vietnamese phrases (English)."""
    glossed = [f"{a} {b}" for word in query.glossed for phrase in word for a, b in zip(phrase, phrase[1:])]
    return lexical_bigrams(query.text) + list(dict.fromkeys(glossed))


def reciprocal_rank_fusion(
    rankings: list[list[str]], k: int = TUNING.retrieval.rrf_k, weights: list[float] | None = None
) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


class HybridRetriever(BaseRetriever):
    """A LangChain retriever; `search` also returns the per-side ranks and scores."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Chroma
    lexical: BM25Index
    kind: RetrieverKind = "hybrid"
    k: int = 5
    fetch_k: int = 30

    # The index's stored passage vectors (bot.passage_vectors), for the topic ranking (hybrid only).
    vectors: object | None = None

    # The candidate pools of the last few searches: the deeper look of a
    # question (bot.pipeline) re-ranks its pool instead of searching again.
    _pools: OrderedDict = PrivateAttr(default_factory=OrderedDict)
    _pools_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def candidates(
        self, query: Query, fetch: int, kind: RetrieverKind
    ) -> tuple[list[tuple[Document, float]], list[tuple[Document, float]]]:
        """Both sides' candidates, `fetch` deep: (dense (doc, similarity), lexical (doc, BM25 score))."""
        dense: list[tuple[Document, float]] = []
        lexical: list[tuple[Document, float]] = []
        if kind in ("hybrid", "dense"):
            # The query's own embedding, which the sentence scoring reuses (Query.vector).
            # Chroma returns cosine distance; 1 - distance is the similarity.
            vector = query.vector(self.store.embeddings)
            found = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=fetch)
            dense = [(d, 1.0 - dist) for d, dist in found]
        if kind in ("hybrid", "bm25"):
            lexical = self.lexical.search(query.text, fetch, terms=query.search_terms, pairs=query_pairs(query))
        return dense, lexical

    def search(
        self, query: Query | str, k: int | None = None, kind: RetrieverKind | None = None, *, reuse_pool: bool = False
    ) -> list[Hit]:
        """The top k, fused. With reuse_pool, a pool this retriever fetched for the same
        query and kind (at least as deep) is ranked again instead of searching."""
        query = as_query(query)
        k = k or self.k
        kind = kind or self.kind
        fetch = max(self.fetch_k, k)
        key = (query.text, kind)
        pool = None
        if reuse_pool:
            with self._pools_lock:
                kept = self._pools.get(key)
            if kept is not None and kept[0] >= fetch:
                pool = kept[1], kept[2]
        if pool is None:
            pool = self.candidates(query, fetch, kind)
            with self._pools_lock:
                self._pools[key] = (fetch, *pool)
                self._pools.move_to_end(key)
                while len(self._pools) > POOLS_KEPT:
                    self._pools.popitem(last=False)
        return self.fuse(query, pool[0], pool[1], k, kind, fetch)

    def fuse(
        self,
        query: Query,
        dense: list[tuple[Document, float]],
        lexical: list[tuple[Document, float]],
        k: int,
        kind: RetrieverKind,
        fetch: int,
    ) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for rank, (doc, sim) in enumerate(dense, start=1):
            hits[doc.id] = Hit(doc=doc, score=0.0, dense_rank=rank, dense_sim=sim)
        for rank, (doc, score) in enumerate(lexical, start=1):
            hit = hits.setdefault(doc.id, Hit(doc=doc, score=0.0))
            hit.bm25_rank, hit.bm25_score = rank, score

        if kind == "hybrid":
            rankings = [[d.id for d, _ in dense], [d.id for d, _ in lexical]]
            weights = [1.0, TUNING.retrieval.bm25_weight(query.lang)]
            two_sided = reciprocal_rank_fusion(rankings, weights=weights)
            topical = self.topic_ranking(query, list(hits.values()))
            if topical:
                rankings.append(topical)
                weights.append(TUNING.retrieval.topic_weight)
            fused = reciprocal_rank_fusion(rankings, weights=weights)
        else:
            fused = reciprocal_rank_fusion([[d.id for d, _ in (dense or lexical)]])
            two_sided = fused
        for key, hit in hits.items():
            hit.score = fused.get(key, 0.0)
            hit.two_sided = two_sided.get(key, 0.0)
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.dense_rank or fetch + 1))
        return ranked[:k]

    def topic_ranking(self, query: Query, hits: list[Hit]) -> list[str]:
        """The candidates' ids by the share of the question's latent terms each holds, best first;
        empty unless every candidate's topic vector is stored (an ingest still storing them, or
        BOT_INGEST_TOPICS=0: the question is ranked by the two sides alone, not by a part of them)."""
        if self.vectors is None or not hits:
            return []
        rows = self.vectors.get_topic_rows([h.doc.page_content for h in hits])
        if any(row is None for row in rows):
            return []
        from bot.topic import topic_overlap

        q = topic_overlap().vector(query.text)
        scores = {h.doc.id: float(q[idx] @ val) for h, (idx, val) in zip(hits, rows)}
        ranked = sorted(scores, key=lambda key: -scores[key])
        ranks = {key: rank for rank, key in enumerate(ranked, start=1)}
        for h in hits:
            h.sparse_rank = ranks[h.doc.id]
        return ranked

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        docs = []
        for hit in self.search(query):
            doc = hit.doc.model_copy()
            doc.metadata = {**doc.metadata, "score": hit.score}
            docs.append(doc)
        return docs


def open_retriever(
    settings: Settings, kind: RetrieverKind | None = None, embeddings: Embeddings | None = None, *, fresh: bool = False
) -> HybridRetriever:
    """Open the index for querying; raises IndexUnavailable with what to do. fresh: as on disk now (bot.store.fresh_client)."""
    client = fresh_client(settings) if fresh else None
    store = vector_store(settings, embeddings or make_embeddings(settings), client)
    try:
        count = store._collection.count()
    except Exception as exc:
        if is_disk_full(exc):  # a rebuild would need more space, not less: say what is wrong
            raise IndexUnavailable(
                f"The index ({store_label(settings)}) cannot be read: no space left on {mount_point(settings.chroma_dir)}. "
                "Free some space; the index answers again as it is."
            ) from None
        raise IndexUnavailable(
            f"The index ({store_label(settings)}) cannot be read ({type(exc).__name__}). "
            "Rebuild it with `bot ingest --rebuild`."
        ) from None
    if count == 0:
        raise IndexUnavailable(
            f"The index ({store_label(settings)}) is empty. Add articles with `bot ingest {settings.data_dir}`."
        )
    from bot.embed import embedder_name
    from bot.passage_vectors import open_store

    lexical = BM25Index.load(lexical_path(settings))
    if lexical is None or len(lexical) != count:
        # Missing, old or out of step with Chroma (e.g. another machine ingested
        # into the server): rebuild from the store once, and keep it.
        lexical = BM25Index.build(all_chunks(store))
        # A read-only index still answers; it just rebuilds at the next start.
        with contextlib.suppress(OSError):
            lexical.save(lexical_path(settings))
    return HybridRetriever(
        store=store,
        lexical=lexical,
        vectors=open_store(settings.store_dir, embedder_name(settings)),
        kind=kind or settings.retriever,
        k=settings.top_k,
    )
