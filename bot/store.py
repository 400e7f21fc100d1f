"""Store: the Chroma collection (embedded directory or a Chroma server) and its record manager."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from bot.settings import Settings

if TYPE_CHECKING:  # the record manager (SQLAlchemy and all) is ingestion's: a question never loads it
    from langchain_classic.indexes import SQLRecordManager


class IndexUnavailable(RuntimeError):
    """The index is missing, unreadable or unreachable; the message says what to do."""


def unreachable_message(settings: Settings, exc: BaseException) -> str:
    """The one line shown wherever the Chroma server cannot be reached (ask, ingest, the UI)."""
    return (
        f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
        f"({type(exc).__name__}). Check that it is running (start it with "
        f"`chroma run --path DIR --port {settings.chroma_port}`) and that CHROMA_HOST and CHROMA_PORT "
        "point at it, or unset CHROMA_HOST to use the local index."
    )


def is_unreachable(settings: Settings, exc: BaseException) -> bool:
    """Whether `exc` means the Chroma server went away (chromadb's HttpClient raises httpx's errors as they are).

    Only the exception itself counts, not its cause: the OpenAI client wraps
    its own httpx errors, and those are the LLM's, not Chroma's.
    """
    return bool(settings.chroma_host) and isinstance(exc, httpx.TransportError)


def require_index(settings: Settings) -> None:
    """For commands that only read: fail, saying where it looked, when there is no local index.

    Opening Chroma creates its folder, so `bot ask` run from another folder
    used to leave a new, empty `./.bot` there and call the index "empty".
    """
    if settings.chroma_host or settings.chroma_dir.is_dir():
        return
    where = settings.index_dir.absolute()
    existing = next((p for p in where.parents if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK):
        raise IndexUnavailable(
            f"There is no index at {where}, and it cannot be created there ({existing} is not writable). "
            "Set BOT_INDEX_DIR to a folder you can write to, then run `bot ingest`."
        )
    hint = ""
    if not settings.index_dir.is_absolute():
        # Relative to the current folder; the index is usually made next to the data.
        beside = Path(settings.data_dir).absolute().parent / settings.index_dir
        from bot.index_dir import live_dir

        if beside.resolve() != settings.index_dir.resolve() and (live_dir(beside) / "chroma").is_dir():
            hint = f" An index exists at {beside}: run from {beside.parent} or set BOT_INDEX_DIR={beside}."
        else:
            hint = f" (BOT_INDEX_DIR={settings.index_dir} is relative to the current folder, {Path.cwd()}.)"
    raise IndexUnavailable(
        f"There is no index at {where}. Build it with `bot ingest {settings.data_dir}`.{hint}"
    )


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            # HttpClient waits forever (httpx timeout=None) on a port that accepts but never answers.
            beat = httpx.get(
                f"http://{settings.chroma_host}:{settings.chroma_port}/api/v2/heartbeat", headers=headers, timeout=10
            )
        except Exception as exc:
            raise IndexUnavailable(unreachable_message(settings, exc)) from None
        if beat.status_code in (401, 403):
            # It answered: "cannot reach" would send the user looking for a server that runs.
            raise IndexUnavailable(
                f"The Chroma server at {settings.chroma_host}:{settings.chroma_port} refused the request "
                f"(HTTP {beat.status_code}): "
                + ("CHROMA_TOKEN is not the token it expects." if settings.chroma_token else "set CHROMA_TOKEN to its token.")
            )
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, headers=headers, settings=chroma_settings
            )
        except Exception as exc:
            raise IndexUnavailable(unreachable_message(settings, exc)) from None
    try:
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexUnavailable(
            f"The index folder {settings.chroma_dir} cannot be created ({exc.strerror or exc}). "
            "Set BOT_INDEX_DIR to a folder you can write to."
        ) from None
    database = settings.chroma_dir / "chroma.sqlite3"
    read_only = (
        f"The index at {settings.chroma_dir} is read-only, and Chroma needs write access even to answer. "
        "Make it writable, or copy the index folder somewhere writable and point BOT_INDEX_DIR at the copy."
    )
    # Chroma's SQLite needs to write even to answer; "rebuild" would fail the same
    # way, and would delete an index that is only read-only, not broken.
    if not os.access(settings.chroma_dir, os.W_OK) or (database.exists() and not os.access(database, os.W_OK)):
        raise IndexUnavailable(read_only)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        if "readonly database" in str(exc):  # e.g. a read-only file inside the folder
            raise IndexUnavailable(read_only) from None
        from bot.disk import is_disk_full, mount_point

        if is_disk_full(exc):  # a rebuild would need more space, not less
            raise IndexUnavailable(
                f"The index at {settings.chroma_dir} cannot be opened: no space left on "
                f"{mount_point(settings.chroma_dir)}. Free some space; the index answers again as it is."
            ) from None
        raise IndexUnavailable(
            f"The index at {settings.chroma_dir} cannot be opened ({type(exc).__name__}: {exc}). "
            "Rebuild it with `bot ingest --rebuild`."
        ) from None


def fresh_client(settings: Settings) -> chromadb.ClientAPI:
    """A client over the index as it is on disk now.

    chromadb keeps one System per folder in a process, its vectors in memory: one
    opened before another process ingested does not see the new vectors (its count
    does, its searches do not). Dropped from the cache, the old System goes on
    serving whoever holds it; the next client gets a new one.
    """
    if not settings.chroma_host:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(settings.chroma_dir), None)
    return chroma_client(settings)


def store_label(settings: Settings) -> str:
    if settings.chroma_host:
        return f"chroma server {settings.chroma_host}:{settings.chroma_port}, collection {settings.collection}"
    return f"{settings.chroma_dir}, collection {settings.collection}"


def vector_store(settings: Settings, embeddings: Embeddings, client: chromadb.ClientAPI | None = None) -> Chroma:
    return Chroma(
        collection_name=settings.collection,
        embedding_function=embeddings,
        client=client or chroma_client(settings),
        collection_metadata={"hnsw:space": "cosine"},
    )


def record_manager(settings: Settings) -> SQLRecordManager:
    """What has been indexed, by content hash: re-ingesting unchanged text embeds nothing.

    The namespace names the store, so a local index and a server's collection
    keep separate records.
    """
    from langchain_classic.indexes import SQLRecordManager

    settings.store_dir.mkdir(parents=True, exist_ok=True)
    where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "local"
    manager = SQLRecordManager(
        f"chroma/{where}/{settings.collection}",
        db_url=f"sqlite:///{Path(settings.store_dir).resolve() / 'records.sqlite'}",
    )
    manager.create_schema()
    return manager


def recorded_sources(manager: SQLRecordManager) -> dict[str, str]:
    """Every key the record manager holds, with the article (group id) it belongs to.

    The public API lists keys by group but not the groups of keys, and a
    reconcile needs to name the articles whose chunks the store lost.
    """
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord

    with manager._make_session() as session:
        rows = (
            session.query(UpsertionRecord.key, UpsertionRecord.group_id)
            .filter(UpsertionRecord.namespace == manager.namespace)
            .all()
        )
    return {key: group or "" for key, group in rows}


def all_chunks(store: Chroma, page: int = 5000) -> list[Document]:
    """Every chunk in the collection, read in pages (large collections don't fit one call)."""
    collection = store._collection
    total = collection.count()
    docs: list[Document] = []
    for offset in range(0, total, page):
        got = collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
        for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            docs.append(Document(id=id_, page_content=text or "", metadata=dict(meta or {})))
    return docs


def store_ids(store: Chroma, page: int = 5000) -> set[str]:
    """The ids the collection really holds (no texts, no vectors: cheap even at 100k chunks)."""
    collection = store._collection
    ids: set[str] = set()
    for offset in range(0, collection.count(), page):
        ids.update(collection.get(include=[], limit=page, offset=offset)["ids"])
    return ids
