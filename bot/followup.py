"""Follow-up questions without a model: carry the conversation's names, dates and places.

"who met in Geneva on 21/1" then "how long did their talks last?": searched as
typed, the follow-up finds some other meeting. The LLM path rewrites it into a
standalone question; with no model this module does the same mechanically:
when a question leans on the conversation (the same test the LLM path uses,
`bot.answer.llm.needs_context`), the previous turn's names, dates and places
(its question's anchors and its short answer) are added to the search, and the
passages it cited are added to the evidence. A name the new question gives
itself is never overridden: carried names are dropped when it names someone,
carried dates and numbers when it gives one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.anchors import anchors
from bot.prompts import message
from bot.text import fold, normalize, words

# How far back a chain of follow-ups is followed to find the turn that named its subject.
MAX_TURNS = 3
# A part of an earlier answer's first line longer than this is a sentence, not a short answer.
SHORT_PART_WORDS = 6
_QUOTE = re.compile(r"“(.+?)”\s*\[\d+\]", re.S)
_MARKER = re.compile(r"\s*\[\d+\]")
_NUMERIC = re.compile(r"\d")


@dataclass
class Carried:
    question: str  # what is searched and weighed: the question plus the carried terms
    terms: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)  # sentences the earlier answer cited


def _terms(question: str) -> list[str]:
    """A question's names, dates and numbers as written ("Geneva", "21/1", "Sergei Lavrov")."""
    out = []
    text = normalize(question)
    for phrase in anchors(question):
        # Find the phrase as written, so that the search sees "Geneva", not "geneva".
        pattern = r"\b" + r"[\s\-]+".join(re.escape(p) for p in phrase) + r"\b"
        m = re.search(pattern, text, re.I) or None
        out.append(m.group(0) if m else " ".join(phrase))
    return out


def _folded(text: str) -> str:
    return f" {' '.join(fold(w) for w in words(text))} "


def _names_in(part: str) -> list[str]:
    """What of one part of an earlier short answer is carried: the part itself when it is a
    short answer ("Sergei Lavrov"), only the names in it when it is a whole sentence (a
    generated answer's first line): carried whole, a sentence's every word would have to
    be matched by the follow-up's evidence."""
    if len(part.split()) > SHORT_PART_WORDS:
        return [t for t in _terms(part) if not _NUMERIC.search(t)]
    return [part] if part and not _NUMERIC.search(part) else []


def _short_of(answer: str) -> str:
    """The short answer an extractive answer opens with (its first line, before the lead-in)."""
    first, _, rest = answer.partition("\n")
    if not rest:
        return ""
    leads = {message("lead_in", lang) for lang in ("en", "vi")}
    if any(first.startswith(lead) for lead in leads):
        return ""
    return _MARKER.sub("", first).strip().rstrip(".")


def needs_context(question: str) -> bool:
    from bot.answer.llm import needs_context as leans

    return leans(question)


def carry(question: str, history: Sequence[tuple[str, str]] | None) -> Carried | None:
    """The follow-up made searchable, or None when the question stands on its own."""
    if not history or not needs_context(question):
        return None
    own = anchors(question)
    own_names = any(not _NUMERIC.search(" ".join(a)) for a in own)
    own_numbers = any(_NUMERIC.search(" ".join(a)) for a in own)
    terms: list[str] = []
    quotes: list[str] = []
    for earlier, answer in reversed(list(history)[-MAX_TURNS:]):
        found = _terms(earlier)
        short = _short_of(answer or "")
        if short:
            # Its names only: a rendered number ("1.5 hours") is not how the articles write it.
            found += [t for part in re.split(r";|,| and | và ", short) for t in _names_in(part.strip())]
        quotes += _QUOTE.findall(answer or "")
        terms += found
        if not needs_context(earlier):
            break  # this turn named its own subject
    kept = []
    for t in dict.fromkeys(terms):
        if any(t != o and _folded(o) in _folded(t) for o in terms):
            continue  # "Geneva (Thụy Sĩ)" beside "Geneva": the shorter one is carried
        numeric = bool(_NUMERIC.search(t))
        if (numeric and own_numbers) or (not numeric and own_names):
            continue  # the new question's own names and dates win
        if t.lower() in question.lower():
            continue
        kept.append(t)
    if not kept and not quotes:
        return None
    # Joined by a lower-case word, so that two carried names stay two names (bot.anchors.anchors).
    searched = f"{question.rstrip()} ({' and '.join(kept)})" if kept else question
    return Carried(searched, kept, list(dict.fromkeys(quotes)))


def cited_hits(quotes: Sequence[str], docs, make_hit) -> list:
    """The indexed chunks holding the earlier answer's quotes, as hits (`make_hit(doc)`)."""
    out = []
    seen = set()
    for quote in quotes:
        for doc in docs:
            if quote in doc.page_content and (doc.id or id(doc)) not in seen:
                seen.add(doc.id or id(doc))
                out.append(make_hit(doc))
                break
    return out
