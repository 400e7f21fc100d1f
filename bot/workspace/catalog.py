"""Every indexed article with what the Articles view and the citations show: title, date, size, chunks.

Read from the BM25 index the Bot already holds in memory (every chunk with its
metadata), so listing costs no store query; sizes are those of the text copies
ingest keeps (bot.index_dir.articles_dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.formats.meta import ArticleMeta, display_date
from bot.index_dir import articles_dir
from bot.settings import Settings


@dataclass(frozen=True)
class Entry:
    source: str  # the file name citations show
    meta: ArticleMeta
    chunks: int
    chars: int  # characters of the indexed text
    sha1: str  # of the indexed text (bot.load.Article.sha1)

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def date(self) -> str:
        return display_date(self.meta.date)


def first_line(text: str, limit: int = 120) -> str:
    """An article's headline when nothing else names it: its first line, shortened at a word."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: max(first.rfind(" ", 0, limit), 1)].rstrip(",;:") + "…"


def entries(lexical, settings: Settings) -> list[Entry]:
    """The articles of a BM25 index (bot.lexical.BM25Index), newest first, then by name."""
    grouped: dict[str, list[dict]] = {}
    for meta in lexical.metadatas:
        grouped.setdefault(str(meta.get("source", "")), []).append(meta)
    copies = articles_dir(settings)
    out = []
    for source, metas in grouped.items():
        if not source:
            continue
        meta = ArticleMeta.from_chunk(metas[0])
        text = _copy_text(copies, source)
        if not meta.title:
            head = min(metas, key=lambda m: int(m.get("start", 0)))
            meta = meta.merged(ArticleMeta(title=first_line(text or _chunk_text(lexical, head))))
        out.append(Entry(source, meta, len(metas), len(text) if text is not None else 0,
                         str(metas[0].get("article_sha1", ""))))
    out.sort(key=lambda e: e.source)
    out.sort(key=lambda e: e.meta.date, reverse=True)
    return out


def metas(lexical) -> dict[str, ArticleMeta]:
    """{source: what is known about it} for every article of a BM25 index (first chunk's metadata)."""
    out: dict[str, ArticleMeta] = {}
    for meta in lexical.metadatas:
        source = str(meta.get("source", ""))
        if source and source not in out:
            out[source] = ArticleMeta.from_chunk(meta)
    return out


def _copy_text(folder: Path, source: str) -> str | None:
    from bot.load import read_copy

    return read_copy(folder, source)


def _chunk_text(lexical, meta: dict) -> str:
    for i, m in enumerate(lexical.metadatas):
        if m is meta:
            return lexical.texts[i]
    return ""
