"""The lexical side of retrieval: Okapi BM25 over folded Vietnamese syllables and their pairs.

An inverted index in numpy arrays, so a query costs time in its own terms'
postings, not in the size of the corpus (rank_bm25 loops over every document
per term). Persisted beside the Chroma index and loaded once at start-up.
Adjacent syllables (bot.text.lexical_bigrams) are terms too, weighed at
TUNING.retrieval.bigram_weight: a question's words, not only its syllables.
"""

from __future__ import annotations

import math
import os
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from bot.casing import NameCounts
from bot.text import lexical_bigrams, lexical_terms, lexical_tokens

FORMAT_VERSION = 6


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
    # Which words the chunks write as names (bot.casing), counted, so `updated` adds and takes
    # away only the changed chunks' words instead of reading every chunk again.
    name_counts: NameCounts | None = None

    @staticmethod
    def _term_counts(text: str) -> tuple[Counter, int]:
        """A chunk's terms (syllables and pairs) with their counts, and its length in syllables."""
        tokens, pairs = lexical_terms(text)
        counts = Counter(tokens)
        counts.update(pairs)
        return counts, len(tokens)

    @classmethod
    def build(cls, docs: list[Document]) -> BM25Index:
        per_term: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, doc in enumerate(docs):
            counts, lengths[i] = cls._term_counts(doc.page_content)
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
            name_counts=NameCounts.of(d.page_content for d in docs),
        )

    def updated(self, remove: set[str] | frozenset[str] = frozenset(), add: list[Document] | None = None) -> BM25Index:
        """This index with the chunks whose ids are in `remove` taken out and `add` appended.

        Costs time in the changed chunks' postings plus a few vectorised passes
        over the arrays (no tokenising of unchanged chunks): the same index
        `build` makes from the resulting chunks, up to the order of term rows.
        """
        add = list(add or [])
        n_old = len(self)
        if remove:
            gone = np.fromiter((i in remove for i in self.ids), dtype=bool, count=n_old)
        else:
            gone = np.zeros(n_old, dtype=bool)
        keep_docs = ~gone
        # Old document index -> new one (removed documents map nowhere).
        new_pos = np.cumsum(keep_docs, dtype=np.int64) - 1
        n_kept = int(keep_docs.sum())

        rows = np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.offsets))
        keep = keep_docs[self.doc_idx] if len(self.doc_idx) else np.zeros(0, dtype=bool)
        rows, doc_idx, tfs = rows[keep], new_pos[self.doc_idx[keep]].astype(np.int32), self.tfs[keep]
        counts = np.bincount(rows, minlength=len(self.terms)).astype(np.int64)

        # Postings of the added chunks: rows for known terms, new rows after them.
        terms = dict(self.terms)
        add_rows: list[int] = []
        add_docs: list[int] = []
        add_tfs: list[int] = []
        lengths = np.zeros(len(add), dtype=np.float32)
        for j, doc in enumerate(add):
            tokens, lengths[j] = self._term_counts(doc.page_content)
            for term, tf in tokens.items():
                row = terms.setdefault(term, len(terms))
                add_rows.append(row)
                add_docs.append(n_kept + j)
                add_tfs.append(tf)
        counts = np.concatenate([counts, np.zeros(len(terms) - len(self.terms), dtype=np.int64)])
        if add_rows:
            a_rows = np.asarray(add_rows, dtype=np.int64)
            order = np.argsort(a_rows, kind="stable")  # by row, then by document (appended in order)
            a_rows = a_rows[order]
            a_docs = np.asarray(add_docs, dtype=np.int32)[order]
            a_tfs = np.asarray(add_tfs, dtype=np.float32)[order]
            # Each added posting goes at the end of its row, after every kept (older)
            # document; a new term's row is empty, so its postings land at the very end.
            at = np.cumsum(counts)[a_rows]
            doc_idx = np.insert(doc_idx, at, a_docs)
            tfs = np.insert(tfs, at, a_tfs)
            counts += np.bincount(a_rows, minlength=len(terms))
        live = counts > 0
        if not live.all():
            # A term no chunk holds any more must disappear, as from a fresh build (idf, `in`).
            renumber = np.cumsum(live) - 1
            names = list(terms)
            terms = {names[r]: int(renumber[r]) for r in np.flatnonzero(live)}
            counts = counts[live]
        kept = np.flatnonzero(keep_docs)
        return BM25Index(
            ids=[self.ids[i] for i in kept] + [d.id or "" for d in add],
            texts=[self.texts[i] for i in kept] + [d.page_content for d in add],
            metadatas=[self.metadatas[i] for i in kept] + [dict(d.metadata) for d in add],
            terms=terms,
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            doc_idx=doc_idx.astype(np.int32),
            tfs=tfs.astype(np.float32),
            doc_len=np.concatenate([self.doc_len[keep_docs], lengths]).astype(np.float32),
            k1=self.k1,
            b=self.b,
            name_counts=self._counts().changed(
                NameCounts.of(self.texts[i] for i in np.flatnonzero(gone)), NameCounts.of(d.page_content for d in add)
            ),
        )

    def _counts(self) -> NameCounts:
        if self.name_counts is None:
            self.name_counts = NameCounts.of(self.texts)
        return self.name_counts

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, term: str) -> bool:
        return term in self.terms

    def doc(self, i: int) -> Document:
        return Document(id=self.ids[i], page_content=self.texts[i], metadata=dict(self.metadatas[i]))

    @cached_property
    def _by_source(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, meta in enumerate(self.metadatas):
            out.setdefault(meta.get("source", ""), []).append(i)
        return out

    def article(self, source: str) -> str:
        """An article's text as its chunks hold it, in order (overlaps repeated): what its sentences
        are about, named once in the title or the lead."""
        rows = sorted(self._by_source.get(source, []), key=lambda i: int(self.metadatas[i].get("start", 0)))
        return "\n".join(self.texts[i] for i in rows)

    @property
    def docs(self) -> list[Document]:
        return [self.doc(i) for i in range(len(self))]

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        row = self.terms.get(term)
        if row is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        lo, hi = self.offsets[row], self.offsets[row + 1]
        return self.doc_idx[lo:hi], self.tfs[lo:hi]

    @cached_property
    def name_forms(self) -> dict[str, str]:
        """The words these chunks write as names, and how (bot.casing). Read by `save`."""
        return self._counts().forms()

    def idf(self, term: str) -> float:
        n = len(self)
        df = len(self.postings(term)[0])
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(
        self, query: str, terms: Sequence[str] | None = None, pairs: Sequence[str] | None = None
    ) -> np.ndarray:
        """BM25 of every chunk; `terms`: the query's `lexical_tokens` when already read (bot.query.Query.terms),
        `pairs`: its syllable pairs (default those of `query`), counting at TUNING.retrieval.bigram_weight."""
        from bot.tuning import TUNING

        scores = np.zeros(len(self), dtype=np.float32)
        if not len(self):
            return scores
        avg = float(self.doc_len.mean()) or 1.0
        weighted = [(t, 1.0) for t in (terms if terms is not None else lexical_tokens(query))]
        weighted += [(t, TUNING.retrieval.bigram_weight) for t in (pairs if pairs is not None else lexical_bigrams(query))]
        counts: Counter[tuple[str, float]] = Counter(weighted)
        for (term, weight), qtf in counts.items():
            if term not in self.terms:
                continue
            idx, tf = self.postings(term)
            norm = self.k1 * (1 - self.b + self.b * self.doc_len[idx] / avg)
            scores[idx] += weight * qtf * self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
        return scores

    def search(
        self, query: str, k: int, terms: Sequence[str] | None = None, pairs: Sequence[str] | None = None
    ) -> list[tuple[Document, float]]:
        scores = self.scores(query, terms, pairs)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.doc(int(i)), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Beside the file, under a name of its own (bm25-*.pkl.tmp*, inside the bot's own folder: bot.index_dir).
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        _ = self.name_forms  # read now, saved with the index: not on a question's time (1.3 s per 10k chunks)
        try:
            with tmp.open("wb") as fh:
                pickle.dump((FORMAT_VERSION, self), fh, protocol=pickle.HIGHEST_PROTOCOL)
            # Atomic: a killed ingest leaves the previous index, never half a file.
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        """The saved index, or None when missing, unreadable or of another format."""
        try:
            with path.open("rb") as fh:
                version, index = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
            return None
        return index if version == FORMAT_VERSION and isinstance(index, cls) else None
