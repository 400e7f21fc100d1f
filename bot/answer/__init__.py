"""The one answer shape every answerer returns, so the CLI, UI and eval don't care who answered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Mode = Literal["extractive", "llm", "refusal", "hint"]


@dataclass(frozen=True)
class Citation:
    """A quoted passage: `quote` is exactly `article_text[start:end]`."""

    n: int  # the [n] marker in the answer text
    source: str  # file name
    quote: str
    start: int
    end: int
    chunk_id: str = ""


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    mode: Mode = "extractive"
    lang: str = "en"
    refused: bool = False
    answerer: str = "extractive"  # a label for people: "extractive", "local model smollm2", ...
    notice: str = ""  # e.g. the one-line LLM error that caused a fallback
    flags: list[str] = field(default_factory=list)  # e.g. "uncited-claims", "invalid-citation:[7]"
    question: str = ""  # the standalone question actually searched (after follow-up rewriting)

    def to_dict(self) -> dict:
        return asdict(self)
