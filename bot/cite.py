"""Turn a generated answer's [n] markers into citations, and check the answer is grounded.

A model numbers its claims by the passages it was shown ([1]…[k]). Here each
marker is mapped back to its passage (source file, exact quote, offsets);
markers that point nowhere are removed from the text and flagged, so the text
and the citation list always agree. Numbers are never changed.

`grounding_problems` decides whether a generated answer may be shown as an
answer from the articles at all: text invented by the model, or following
instructions planted in an article (bot.guard), fails it, and the caller falls
back to quoting the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from bot.anchors import anchor_found, anchors
from bot.answer import Answer, Citation
from bot.evidence import Evidence
from bot.guard import injection_problems, instruction_like
from bot.lexicon import STOPWORDS
from bot.prompts import message
from bot.text import fold, lexical_tokens, sentences

# [1], [1, 2], [1;2], [1-3], [1 and 2], [passage 1], [nguồn 2]; at most two
# digits, so a year in brackets ("[2022]") is not taken for a marker.
_NUM = r"\d{1,2}"
_SEP = r"\s*(?:,|;|&|-|–|and|và)\s*"
MARKER = re.compile(
    rf"\[\s*(?:(?:passages?|sources?|đoạn|nguồn)\s*)?({_NUM}(?:{_SEP}{_NUM})*)\s*\]",
    re.IGNORECASE,
)
LANGUAGES = ("en", "vi")


def marker_numbers(text: str) -> list[list[int]]:
    """The numbers in each marker, in order: "[1, 2] … [4-5]" -> [[1, 2], [4, 5]]."""
    return [_expand(m.group(1)) for m in MARKER.finditer(text)]


def _expand(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|&|and|và)\s*", group, flags=re.IGNORECASE):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part.strip()) if x.strip().isdigit()]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 10:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return list(dict.fromkeys(numbers))


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


def _simplify(text: str) -> str:
    text = fold(text).replace("’", "'")
    text = re.sub(r"n't\b", " not", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def refusal_sentences() -> list[str]:
    """The fixed refusal in every language: a model may refuse in the wrong one."""
    return [message("refusal", lang) for lang in LANGUAGES]


def restates(answer: str, question: str) -> bool:
    """Does the answer only say the question back ("The senior Russian diplomat said Moscow
    would take")? A small model that finds no answer in the passages often parrots the
    question with markers: it is the model's "I don't know", and is read as one."""
    said = _content_terms(strip_markers(answer))
    return bool(said) and said <= _content_terms(question)


def off_question(answer: str, question: str) -> bool:
    """Does the answer share no content word with the question? A small model that loses
    the thread copies a passage's sentence about something else ("Người đồng cấp Mỹ đã
    trôi qua…" for a question on an OSCE commitment). The caller also checks that it holds
    no asked-for value: "100.000 binh lính" answers "how many troops" in no shared word."""
    said = _content_terms(strip_markers(answer))
    return bool(said) and not said & _content_terms(question)


def is_refusal(text: str, refusals: Iterable[str] | None = None) -> bool:
    """Is this answer the fixed refusal sentence, give or take punctuation, markers or a slight rewording?"""
    said = _simplify(strip_markers(text))
    if not said:
        return False
    for refusal in refusals if refusals is not None else refusal_sentences():
        fixed = _simplify(refusal)
        if said == fixed:
            return True
        # "The articles don't say anything about this."
        if said.startswith(fixed) and len(said.split()) - len(fixed.split()) <= 4:
            return True
        if len(said) <= 1.6 * len(fixed) and SequenceMatcher(None, said, fixed).ratio() >= 0.75:
            return True
    return False


def resolve(text: str, passages: Sequence[Evidence], lang: str, answerer: str = "llm") -> Answer:
    """The Answer for a model's raw text: citations resolved, bad markers removed and flagged."""
    text = text.strip()
    if is_refusal(text):
        return Answer(message("refusal", lang), mode="refusal", lang=lang, refused=True, answerer=answerer)

    flags: list[str] = []
    cited: list[int] = []

    def rewrite(match: re.Match) -> str:
        numbers = _expand(match.group(1))
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        cited.extend(valid)
        for n in numbers:
            if n not in valid and f"invalid-citation:[{n}]" not in flags:
                flags.append(f"invalid-citation:[{n}]")
        return "".join(f"[{n}]" for n in valid)

    text = MARKER.sub(rewrite, text)
    # "[1][1]" -> "[1]"; no space left before punctuation where a marker was removed.
    text = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()

    citations = [
        Citation(n=n, source=p.source, quote=p.text, start=p.start, end=p.end, chunk_id=p.chunk_id)
        for n in dict.fromkeys(cited)
        for p in [passages[n - 1]]
    ]
    if not citations and re.search(r"\w", strip_markers(text)):
        flags.append("uncited-claims")
    return Answer(text, citations, mode="llm", lang=lang, answerer=answerer, flags=flags)


# -- grounding -------------------------------------------------------------------


def _content_terms(text: str) -> set[str]:
    return {t for t in lexical_tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())}


def name_support(
    answer_text: str, passages: Sequence[Evidence], question: str = ""
) -> tuple[list[str], list[str]]:
    """(supported, unsupported) names and numbers of the answer, checked against the passages and question.

    Names and numbers survive translation, so this works for an English answer
    over Vietnamese passages too (with the exonym table for place names).
    """
    source = " ".join([*(p.text for p in passages), question])
    tokens = lexical_tokens(source)
    text_tokens = f" {' '.join(tokens)} "
    vocabulary = set(tokens)
    supported: list[str] = []
    unsupported: list[str] = []
    # Per sentence, so a sentence's capitalised first word is not taken for a name.
    for span in sentences(strip_markers(answer_text)):
        for phrase in anchors(span.text):
            name = " ".join(phrase)
            (supported if anchor_found(phrase, text_tokens, vocabulary, "en") else unsupported).append(name)
    return list(dict.fromkeys(supported)), list(dict.fromkeys(unsupported))


def grounding_problems(
    answer: Answer,
    passages: Sequence[Evidence],
    question: str = "",
    instructions: Sequence[str] = (),
    *,
    attributed: bool = False,
) -> list[str]:
    """Why this generated answer cannot be shown as grounded in the passages; [] when it can.

    Independent signals, none tied to a particular attack string:
    - it cites no passage that exists, or only text that addresses a model;
    - it shares no content word with the passages it cites;
    - most of its names and numbers occur in neither the passages nor the question;
    - it carries links, addresses or markup the passages do not (exfiltration);
    - it recites the instructions (a prompt leak, or a model that lost the thread).

    With `attributed`, the citations come from bot.attribute, which already
    checked each sentence's names, numbers and support passage by passage:
    the coarser whole-answer term and name checks are skipped.
    """
    if answer.refused:
        return []
    problems: list[str] = []
    plain = strip_markers(answer.text)
    if not answer.citations:
        problems.append("no-valid-citation")
    else:
        cited_text = " ".join(c.quote for c in answer.citations)
        if not attributed and not _content_terms(plain) & _content_terms(cited_text):
            problems.append("no-evidence-terms")
        if all(instruction_like(c.quote) for c in answer.citations):
            problems.append("cites-only-instruction-like-text")
    supported, unsupported = ([], []) if attributed else name_support(plain, passages, question)
    if unsupported and len(unsupported) >= len(supported):
        problems.append("unsupported-names:" + ",".join(unsupported[:5]))
    problems += injection_problems(plain, passages, instructions)
    return problems
