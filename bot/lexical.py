"""The lexical side of retrieval: Okapi BM25 over folded Vietnamese syllables.

An inverted index in numpy arrays, so a query costs time in its own terms'
postings, not in the size of the corpus (rank_bm25 loops over every document
per term). Persisted beside the Chroma index and loaded once at start-up.
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from bot.text import lexical_tokens

FORMAT_VERSION = 3


@dataclass
class BM25Index:
    """Chunks as plain lists, postings in CSR arrays (term -> a slice of `doc_idx`/`tfs`).

    Plain data, not Document objects: at 100k chunks the index unpickles in a
    fraction of a second instead of ~5 s (bench/run.py), and Documents are
    made only for the hits of a query.
    """

    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    terms: dict[str, int]  # term -> its row in offsets
    offsets: np.ndarray  # row r's postings are doc_idx[offsets[r]:offsets[r + 1]]
    doc_idx: np.ndarray
    tfs: np.ndarray
    doc_len: np.ndarray
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, docs: list[Document]) -> BM25Index:
        per_term: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, doc in enumerate(docs):
            counts = Counter(lexical_tokens(doc.page_content))
            lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                idx, tfs = per_term.setdefault(term, ([], []))
                idx.append(i)
                tfs.append(tf)
        sizes = np.fromiter((len(i) for i, _ in per_term.values()), dtype=np.int64, count=len(per_term))
        return cls(
            ids=[d.id or "" for d in docs],
            texts=[d.page_content for d in docs],
            metadatas=[dict(d.metadata) for d in docs],
            terms={t: row for row, t in enumerate(per_term)},
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            doc_idx=np.fromiter((i for idx, _ in per_term.values() for i in idx), dtype=np.int32),
            tfs=np.fromiter((f for _, tfs in per_term.values() for f in tfs), dtype=np.float32),
            doc_len=lengths,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, term: str) -> bool:
        return term in self.terms

    def doc(self, i: int) -> Document:
        return Document(id=self.ids[i], page_content=self.texts[i], metadata=dict(self.metadatas[i]))

    @property
    def docs(self) -> list[Document]:
        return [self.doc(i) for i in range(len(self))]

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        row = self.terms.get(term)
        if row is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        lo, hi = self.offsets[row], self.offsets[row + 1]
        return self.doc_idx[lo:hi], self.tfs[lo:hi]

    def idf(self, term: str) -> float:
        n = len(self)
        df = len(self.postings(term)[0])
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self), dtype=np.float32)
        if not len(self):
            return scores
        avg = float(self.doc_len.mean()) or 1.0
        for term, qtf in Counter(lexical_tokens(query)).items():
            if term not in self.terms:
                continue
            idx, tf = self.postings(term)
            norm = self.k1 * (1 - self.b + self.b * self.doc_len[idx] / avg)
            scores[idx] += qtf * self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
        return scores

    def search(self, query: str, k: int) -> list[tuple[Document, float]]:
        scores = self.scores(query)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.doc(int(i)), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump((FORMAT_VERSION, self), fh, protocol=pickle.HIGHEST_PROTOCOL)
        # Atomic: a killed ingest leaves the previous index, never half a file.
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        """The saved index, or None when missing, unreadable or of another format."""
        try:
            with path.open("rb") as fh:
                version, index = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
            return None
        return index if version == FORMAT_VERSION and isinstance(index, cls) else None
