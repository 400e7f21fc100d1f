"""What every reader returns, and the one error that means "no text at all"."""

from __future__ import annotations

from dataclasses import dataclass

from bot.formats.meta import ArticleMeta


class EmptyArticle(ValueError):
    """The file exists but holds no text: with --sync its article is removed, not kept."""


@dataclass(frozen=True)
class Extracted:
    text: str  # NFC-normalised; citation offsets point into this
    meta: ArticleMeta = ArticleMeta()
