"""Text that speaks to a model instead of a reader: planted instructions (OWASP LLM01).

An article may carry "Ignore previous instructions…", fake role labels or a
list of sources imitating our [n] markers. Such sentences are kept from the
model (bot.answer.llm) and never quoted under a generated answer; a generated
answer carrying links or markup the passages do not, or reciting the bot's own
instructions, is not shown (bot.cite.grounding_problems).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.evidence import Evidence
from bot.text import words

_URL = re.compile(r"(?:https?://|www\.)[^\s\])>\"']+|[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_MARKUP = re.compile(r"!\[|<\s*/?\s*(?:script|img|iframe|a|svg|style)\b", re.IGNORECASE)
# Text in an article that addresses a model rather than a reader: orders to
# drop instructions, role labels, requests for secrets, "answer X" commands, and
# lists of sources that imitate our [n] markers. Such sentences are kept from
# the model (they stay quotable by the extractive answerer).
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|rules?|prompts?|directions?|guidelines?)\b"
    r"|\b(new|updated|real|actual|secret)\s+(instructions?|system\s+prompt)\b"
    r"|(^|[\n.!?]\s*)(system|assistant|developer|user)\s*[:>]"
    r"|\byou\s+(are|will)\s+now\b|\bdeveloper\s+mode\b|\bjailbreak"
    r"|\b(answer|reply|respond|say|output|print)\s+(only\s+|with\s+|exactly\s+)*[\"'“‘]"
    r"|\b(reveal|print|show|repeat|leak)\b.{0,30}\b(system\s+prompt|api[\s_-]*key|instructions|password|secrets?)\b"
    r"|\b(bỏ qua|phớt lờ|quên)\b.{0,40}\b(hướng dẫn|chỉ dẫn|chỉ thị|quy tắc)\b"
    r"|(^|[.!?:\n]\s*)(please\s+|now\s+)?(ignore|disregard|forget|reply|respond|pretend|output|reveal|act\s+as)\b"
    r"|\b(every|all|any)\s+(questions?|prompts?|users?)\b"
    r"|(^|[.!?:\n]\s*)hãy\b|\bhãy\s+(chỉ\s+)?trả lời\b"
    r"|(\[\s*\d{1,2}\s*\][^\[\]]{0,80}){3,}",
    re.IGNORECASE,
)
# Words shared with the instructions that prove the model is reciting them.
ECHO_NGRAM = 6


def instruction_like(text: str) -> bool:
    """Does this article text speak to a model ("Ignore previous instructions…", "System: …")?"""
    return bool(_INSTRUCTION.search(text))


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def injection_problems(answer: str, passages: Sequence[Evidence], instructions: Sequence[str] = ()) -> list[str]:
    """Signs that a generated answer obeyed planted text or lost the thread; [] when none.

    - links, addresses or markup the passages do not carry (exfiltration);
    - six words in a row of the bot's own instructions that the passages do not hold (a prompt leak).
    """
    problems: list[str] = []
    passage_text = " ".join(p.text for p in passages).lower()
    if any(u.lower() not in passage_text for u in _URL.findall(answer)) or _MARKUP.search(answer):
        problems.append("link-or-markup-not-in-passages")
    if instructions:
        recited = _ngrams(answer, ECHO_NGRAM) & set().union(*(_ngrams(t, ECHO_NGRAM) for t in instructions))
        if recited - _ngrams(passage_text, ECHO_NGRAM):
            problems.append("echoes-instructions")
    return problems
