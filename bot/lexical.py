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

FORMAT_VERSION = 2


@dataclass
class BM25Index:
    docs: list[Document]
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (doc indices, term counts)
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
        postings = {
            t: (np.asarray(i, dtype=np.int32), np.asarray(f, dtype=np.float32)) for t, (i, f) in per_term.items()
        }
        return cls(docs=docs, postings=postings, doc_len=lengths)

    def __len__(self) -> int:
        return len(self.docs)

    def idf(self, term: str) -> float:
        n = len(self.docs)
        df = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.docs), dtype=np.float32)
        if not self.docs:
            return scores
        avg = float(self.doc_len.mean()) or 1.0
        for term, qtf in Counter(lexical_tokens(query)).items():
            if term not in self.postings:
                continue
            idx, tf = self.postings[term]
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
        return [(self.docs[i], float(scores[i])) for i in top if scores[i] > 0]

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
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
            return None
        return index if version == FORMAT_VERSION and isinstance(index, cls) else None
