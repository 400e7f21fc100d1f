"""Store: the Chroma collection (embedded directory or a Chroma server) and its record manager."""

from __future__ import annotations

import os
from pathlib import Path

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from bot.settings import Settings


class IndexUnavailable(RuntimeError):
    """The index is missing, unreadable or unreachable; the message says what to do."""


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            # HttpClient waits forever (httpx timeout=None) on a port that accepts but never answers.
            httpx.get(f"http://{settings.chroma_host}:{settings.chroma_port}/api/v2/heartbeat", timeout=10)
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, headers=headers, settings=chroma_settings
            )
        except Exception as exc:
            raise IndexUnavailable(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(exc).__name__}). Start it (`chroma run --path DIR --port {settings.chroma_port}`) "
                "or unset CHROMA_HOST to use the local index."
            ) from None
    try:
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexUnavailable(
            f"The index folder {settings.chroma_dir} cannot be created ({exc.strerror or exc}). "
            "Set BOT_INDEX_DIR to a folder you can write to."
        ) from None
    if not os.access(settings.chroma_dir, os.W_OK):
        # Chroma's SQLite needs to write even to answer; "rebuild" would fail the same way.
        raise IndexUnavailable(
            f"The index at {settings.chroma_dir} is read-only, and Chroma needs write access even to answer. "
            "Make it writable, or copy the index folder somewhere writable and point BOT_INDEX_DIR at the copy."
        )
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        raise IndexUnavailable(
            f"The index at {settings.chroma_dir} cannot be opened ({type(exc).__name__}: {exc}). "
            "Rebuild it with `bot ingest --rebuild`."
        ) from None


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
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "local"
    manager = SQLRecordManager(
        f"chroma/{where}/{settings.collection}",
        db_url=f"sqlite:///{Path(settings.index_dir).resolve() / 'records.sqlite'}",
    )
    manager.create_schema()
    return manager


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
