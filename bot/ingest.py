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

from bot.chunk import chunk_article, make_splitter
from bot.embed import make_embeddings
from bot.index_dir import articles_dir, claim, lexical_path, records_path, wipe_local
from bot.lexical import BM25Index
from bot.load import load_articles
from bot.settings import Settings
from bot.store import all_chunks, record_manager, vector_store

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

    def summary(self) -> str:
        return (
            f"{len(self.files_added)} added, {len(self.files_updated)} updated, "
            f"{len(self.files_unchanged)} unchanged, {len(self.files_deleted)} deleted, "
            f"{len(self.failed)} failed; chunks: {self.chunks_added} embedded, "
            f"{self.chunks_skipped} already indexed, {self.chunks_deleted} removed; "
            f"{self.chunks_total} in the index"
        )


def ingest(
    paths: Iterable[Path],
    settings: Settings,
    *,
    sync: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Add new and changed articles; with sync, also drop articles not among `paths`."""
    report = IngestReport()
    claim(settings)
    loaded = load_articles(paths, settings.max_file_bytes)
    report.failed.extend(loaded.skipped)

    store = vector_store(settings, make_embeddings(settings))
    records = record_manager(settings)
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    copies = articles_dir(settings)
    copies.mkdir(parents=True, exist_ok=True)

    total = len(loaded.articles)
    for done, article in enumerate(loaded.articles):
        if progress:
            progress(article.source, done, total)
        known = bool(records.list_keys(group_ids=[article.source], limit=1))
        chunks = chunk_article(article, splitter)
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
            report.failed.append((article.source, f"indexing failed: {type(exc).__name__}: {exc}"))
            continue
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

    if sync:
        present = {a.source for a in loaded.articles} | {name for name, _ in loaded.skipped}
        report.chunks_deleted += _drop_missing(store, records, present, copies, report)

    report.chunks_total = store._collection.count()
    changed = report.chunks_added or report.chunks_deleted
    saved = None if changed else BM25Index.load(lexical_path(settings))
    # Rebuilding BM25 pages every chunk out of Chroma (~24 s at 100k chunks):
    # an ingest that changed nothing keeps the saved index when it is in step.
    if saved is None or len(saved) != report.chunks_total:
        docs = all_chunks(store)
        report.chunks_total = len(docs)
        BM25Index.build(docs).save(lexical_path(settings))
    return report


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
