"""The one answer shape every answerer returns, so the CLI, UI and eval don't care who answered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

AnswerKind = Literal["extractive", "llm", "refusal", "hint"]  # what kind of answer this is


@dataclass(frozen=True)
class Citation:
    """A quoted passage: `quote` is exactly `article_text[start:end]`."""

    n: int  # the [n] marker in the answer text
    source: str  # file name
    quote: str
    start: int
    end: int
    chunk_id: str = ""


@dataclass(frozen=True)
class Status:
    """A progress event of `Bot.stream` ("waiting for the model…"): shown, never part of the answer."""

    text: str


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    mode: AnswerKind = "extractive"
    lang: str = "en"
    refused: bool = False
    answerer: str = "extractive"  # a label for people: "extractive", "local model smollm2", ...
    notice: str = ""  # e.g. the one-line LLM error that caused a fallback
    flags: list[str] = field(default_factory=list)  # e.g. "uncited-claims", "invalid-citation:[7]"
    question: str = ""  # the standalone question actually searched (after follow-up rewriting)
    # The short answer shown first (bot.short): the asked-for span of a cited sentence, in the
    # reader's words ("Sergei Lavrov and Antony Blinken"); "" when no span of the asked kind is there.
    short: str = ""
    short_quote: str = ""  # the words of the cited sentence it was taken from
    # How a generated answer came about, for the eval and -v: the raw model output,
    # tokens, time to first token, the grounding checks that failed. {} for others.
    trace: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)
