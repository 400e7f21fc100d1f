"""Index: load -> chunk -> embed into Chroma, incrementally, then refresh the BM25 side.

LangChain's indexing API with a SQL record manager decides what to embed:
chunks whose content hash is already recorded are skipped, so re-running on an
unchanged corpus embeds nothing. Each file is indexed on its own, so a killed
run leaves every finished file in place and the next run does the rest.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.indexing import index as lc_index

from bot.chunk import make_splitter
from bot.embed import make_embeddings
from bot.index_dir import articles_dir, claim, lexical_path, records_path, wipe_local
from bot.ingest_vectors import IngestVectors, refresh_lexical
from bot.load import load_articles
from bot.settings import Settings
from bot.store import (
    IndexUnavailable,
    all_chunks,
    is_unreachable,
    record_manager,
    recorded_sources,
    store_ids,
    unreachable_message,
    vector_store,
)

Progress = Callable[[str, int, int], None]  # (file name, files done, files total)


@dataclass
class IngestReport:
    files_added: list[str] = field(default_factory=list)
    files_updated: list[str] = field(default_factory=list)
    files_unchanged: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    chunks_skipped: int = 0
    chunks_total: int = 0
    # Recorded as indexed but absent from the vector store (it was deleted or
    # emptied): forgotten, so that the articles among the paths were embedded again.
    chunks_lost: int = 0
    lost_elsewhere: list[str] = field(default_factory=list)  # such articles not among the paths
    files_total: int = 0
    stopped: bool = False  # the store became unreachable part way; the counts are what was done
    # Texts encoded by kind (chunks, sentences, topics; chunks_reused: a stored vector served),
    # for benchmarks and tests (bot.ingest_vectors.IngestVectors.counts).
    encoded: dict[str, int] = field(default_factory=dict)
    lexical_update: str = "kept"  # how the BM25 file was brought in step (bot.ingest_vectors.refresh_lexical)

    def summary(self) -> str:
        done = len(self.files_added) + len(self.files_updated) + len(self.files_unchanged)
        tail = (
            f"stopped after {done} of {self.files_total} files (run the same ingest again to finish)"
            if self.stopped
            else f"{self.chunks_total} in the index"
        )
        text = (
            f"{len(self.files_added)} added, {len(self.files_updated)} updated, "
            f"{len(self.files_unchanged)} unchanged, {len(self.files_deleted)} deleted, "
            f"{len(self.failed)} failed; chunks: {self.chunks_added} embedded, "
            f"{self.chunks_skipped} already indexed, {self.chunks_deleted} removed; {tail}"
        )
        if self.chunks_lost:
            text += f"\n{self.chunks_lost} chunks were recorded as indexed but missing from the vector store; re-embedded."
        if self.lost_elsewhere:
            shown = ", ".join(self.lost_elsewhere[:5]) + (" …" if len(self.lost_elsewhere) > 5 else "")
            text += (
                f"\n{len(self.lost_elsewhere)} articles lost from the vector store are not among these paths "
                f"({shown}): ingest their folders too to restore them."
            )
        return text


class IngestStopped(IndexUnavailable):
    """The store became unreachable during an ingest; `report` says what was done before."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


def ingest(
    paths: Iterable[Path],
    settings: Settings,
    *,
    sync: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Add new and changed articles; with sync, also drop articles not among `paths`.

    Raises IngestStopped (with the report so far) when a Chroma server stops answering.
    """
    report = IngestReport()
    claim(settings)
    loaded = load_articles(paths, settings.max_file_bytes, settings.max_document_bytes)
    report.failed.extend(loaded.skipped)
    report.files_total = len(loaded.articles)

    store = vector_store(settings, make_embeddings(settings))
    records = record_manager(settings)
    try:
        return _index(loaded, store, records, settings, report, sync=sync, progress=progress)
    except Exception as exc:
        if is_unreachable(settings, exc):
            # One line like `bot ask` gives, not httpx's traceback; the report keeps what was done.
            report.stopped = True
            raise IngestStopped(unreachable_message(settings, exc), report) from None
        raise


def _index(loaded, store, records, settings: Settings, report: IngestReport, *, sync: bool, progress) -> IngestReport:
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    copies = articles_dir(settings)
    copies.mkdir(parents=True, exist_ok=True)
    held = _reconcile(store, records, {a.source for a in loaded.articles}, report)
    # New chunks' and sentences' vectors, encoded ahead by worker processes (bot.ingest_vectors).
    vectors = IngestVectors(settings, store.embeddings, records, loaded.articles, splitter)

    total = len(loaded.articles)
    for done, article in enumerate(loaded.articles):
        if progress:
            progress(article.source, done, total)
        known = bool(records.list_keys(group_ids=[article.source], limit=1))
        chunks = vectors.chunks(done)
        try:
            result = lc_index(
                chunks,
                records,
                store,
                cleanup="incremental",
                source_id_key="source",
                batch_size=32,
                key_encoder="sha256",
            )
        except Exception as exc:  # one bad file (or a flaky embedder) must not stop the rest
            if is_unreachable(settings, exc):
                raise  # every file after it would fail the same way
            report.failed.append((article.source, f"indexing failed: {type(exc).__name__}: {exc}"))
            continue
        vectors.indexed(done)
        (copies / article.source).write_text(article.text, encoding="utf-8")
        report.chunks_added += result["num_added"] + result["num_updated"]
        report.chunks_deleted += result["num_deleted"]
        report.chunks_skipped += result["num_skipped"]
        if not known:
            report.files_added.append(article.source)
        elif result["num_added"] or result["num_deleted"] or result["num_updated"]:
            report.files_updated.append(article.source)
        else:
            report.files_unchanged.append(article.source)
    if progress:
        progress("", total, total)
    report.encoded = vectors.counts()

    if sync:
        # A file that could not be read this time keeps its article (it may be
        # back tomorrow); one emptied on purpose has nothing left to serve.
        unreadable = {name for name, _ in loaded.skipped} - set(loaded.empty)
        present = {a.source for a in loaded.articles} | unreadable
        report.chunks_deleted += _drop_missing(store, records, present, copies, report)

    report.chunks_total = store._collection.count()
    # BM25: the changed articles' postings only, when the saved index is in step (bot.ingest_vectors).
    refresh_lexical(settings, store, report, held, vectors)
    return report


def _reconcile(store, records, ingesting: set[str], report: IngestReport) -> set[str]:
    """Forget records of chunks the store no longer holds; returns the ids it does hold.

    The record manager's key is the chunk's id in the store. When the store
    lost chunks (its folder deleted, `chroma.sqlite3` emptied, a server reset)
    while the records survived, the indexing API would call every chunk
    "already indexed" and embed nothing: the index stayed empty for good.
    """
    held = store_ids(store)
    lost = {key: source for key, source in recorded_sources(records).items() if key not in held}
    if lost:
        records.delete_keys(list(lost))
        report.chunks_lost = sum(source in ingesting for source in lost.values())
        report.lost_elsewhere = sorted({s for s in lost.values() if s not in ingesting})
    return held


def _drop_missing(store, records, present: set[str], copies: Path, report: IngestReport) -> int:
    """Remove every article whose file is no longer among the ingested paths."""
    ids_by_source: dict[str, list[str]] = {}
    for doc in all_chunks(store):
        ids_by_source.setdefault(doc.metadata.get("source", ""), []).append(doc.id)
    deleted = 0
    for source in sorted(s for s in ids_by_source if s not in present):
        store.delete(ids=ids_by_source[source])
        records.delete_keys(records.list_keys(group_ids=[source]))
        (copies / source).unlink(missing_ok=True)
        report.files_deleted.append(source)
        deleted += len(ids_by_source[source])
    return deleted


def wipe_index(settings: Settings) -> None:
    """Delete the index: the bot's own files in the index folder, and the collection on a Chroma server.

    Never anything else in that folder (see bot.index_dir).
    """
    if settings.chroma_host:
        from bot.store import chroma_client

        client = chroma_client(settings)
        # An absent collection is what we want anyway.
        with contextlib.suppress(Exception):
            client.delete_collection(settings.collection)
        # The local side of a server index: its records, BM25 file and article copies.
        for path in (records_path(settings), lexical_path(settings)):
            path.unlink(missing_ok=True)
        if articles_dir(settings).is_dir() and not articles_dir(settings).is_symlink():
            shutil.rmtree(articles_dir(settings))
        return
    wipe_local(settings)
