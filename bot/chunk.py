"""Chunk: sentence-aware, overlapping chunks that remember where they came from."""

from __future__ import annotations

import hashlib

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.load import Article

# Paragraphs first, then sentence ends, then clauses: a chunk boundary falls
# inside a sentence only when a single sentence is longer than a chunk.
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "… ", "; ", ", ", " ", ""]


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
        add_start_index=True,
    )


def chunk_id(source: str, start: int, text: str) -> str:
    return hashlib.sha1(f"{source}\x00{start}\x00{text}".encode()).hexdigest()


def chunk_article(article: Article, splitter: RecursiveCharacterTextSplitter) -> list[Document]:
    """Chunks with source, chunk_index, start/end offsets into the article and a content hash."""
    docs = splitter.create_documents([article.text])
    chunks: list[Document] = []
    for i, doc in enumerate(docs):
        start = doc.metadata["start_index"]
        if start < 0 or article.text[start : start + len(doc.page_content)] != doc.page_content:
            # The splitter's offset search can miss after stripping; find it ourselves.
            start = article.text.find(doc.page_content)
        end = start + len(doc.page_content)
        content_hash = hashlib.sha1(doc.page_content.encode("utf-8")).hexdigest()
        chunks.append(
            Document(
                id=chunk_id(article.source, start, doc.page_content),
                page_content=doc.page_content,
                metadata={
                    "source": article.source,
                    "chunk_index": i,
                    "start": start,
                    "end": end,
                    "content_hash": content_hash,
                    "article_sha1": article.sha1,
                    # Title, date, author, address: kept with every chunk, so the index holds them
                    # across re-ingests (none added when nothing is known: the chunk hashes as before).
                    **article.meta.chunk_fields(),
                },
            )
        )
    return chunks
