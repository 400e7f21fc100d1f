"""Which passage supports each sentence of a generated answer, whether or not the model cited it.

A small model answers correctly far more often than it writes `[n]` markers
the way a grounding check needs. So citations are not taken from punctuation:
each answer sentence is matched to the passages that support it, on signals
that survive translation (an English answer over Vietnamese passages):

- names and numbers: every name and number the sentence states must occur in
  a passage (names also under their Vietnamese spelling, bot/data/exonyms.tsv;
  "21 January" matches "21/1", "100,000" matches "100.000");
- content words shared with the passage (same-language answers);
- the e5 similarity of the sentence and the passage.

The model's own markers are kept where the passage they name supports the
sentence; the best-supporting passage is added where it named none. A
sentence no passage supports, or one stating a number or name that no
passage (nor the question) holds, is unsupported: the answer is not shown
as grounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.anchors import exonyms
from bot.evidence import Evidence
from bot.lang import VI_LETTERS
from bot.lexicon import STOPWORDS, TITLES
from bot.text import fold, lexical_tokens, normalize, sentences
from bot.tuning import ATTRIBUTION as T

_NAME = re.compile(r"[A-ZĐ][\w'’]*(?:[\-.][\w'’]+)*")
_NUMBER = re.compile(r"\d+(?:[.,/\-]\d+)*")
_MARKER = re.compile(r"\[\s*(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\s*\]")

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit vectors, one row each


@dataclass
class SentenceSupport:
    text: str  # the sentence, without markers
    cited: list[int] = field(default_factory=list)  # 1-based passages supporting it, model's first
    model_cited: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # names and numbers no passage holds
    similarity: float = 0.0  # with the best passage
    supported: bool = False


def _number_forms(token: str) -> set[str]:
    """How a number may be written: "100.000" and "100,000" are one number."""
    return {token, re.sub(r"[.,]", "", token)}


def _passage_numbers(text: str) -> set[str]:
    """A passage's numbers, and their parts an answer may state alone ("21/1" -> "21/1", "21", "1")."""
    out: set[str] = set()
    for m in _NUMBER.finditer(text):
        token = m.group(0).rstrip(".,")
        out |= _number_forms(token)
        out.update(p for p in re.split(r"[/\-.,]", token) if p)
    return out


def _sentence_numbers(text: str) -> list[str]:
    """Numbers an answer sentence states: a date written "21 January" is the number 21 of month 1."""
    found: list[str] = []
    for m in _NUMBER.finditer(text):
        token = m.group(0).rstrip(".,")
        # "100,000" and "100.000" are one number; "21/1" stays a date.
        found.append(re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", token))
    return found


def _opens(sentence: str, at: int) -> bool:
    """Is the word at `at` the sentence's first (quotes and brackets before it aside)?"""
    return not sentence[:at].strip(" \"'“‘(")


def _names(text: str) -> list[tuple[str, bool]]:
    """(folded name, is_sentence_start) for runs of capitalised words that are not titles or function words.

    "United States" and "Eastern Mediterranean" are one name each: looked up
    whole (exonyms.tsv) before word by word.
    """
    out: list[tuple[str, bool]] = []
    for span in sentences(text) or []:
        run: list[str] = []
        start = False
        end = -1
        for m in _NAME.finditer(span.text):
            # "Washington's" is Washington: the possessive is English grammar, not part of the name.
            word = re.sub(r"['’]s$", "", fold(m.group(0))).strip("'’")
            # Month names are title words (bot/data/title_words.txt): "21 January" states a date, not a name.
            if word in STOPWORDS or word in TITLES or len(word) < 2:
                if run:
                    out.append((" ".join(run), start))
                run, end = [], -1
                continue
            if run and span.text[end : m.start()] == " ":
                run.append(word)
            else:
                if run:
                    out.append((" ".join(run), start))
                run, start = [word], _opens(span.text, m.start())
            end = m.end()
        if run:
            out.append((" ".join(run), start))
    return out


def _invented_words(text: str, folded_passages: Sequence[str], folded_question: str) -> set[str]:
    """Capitalised words with Vietnamese letters that no passage or the question holds, folded.

    A small model prefixes a Vietnamese surname to a name ("Nguyễn Putin", "Nguyễn Anh đã
    cảnh báo…"): one real word lets a name of several words through, and a sentence's first
    word is excused for its capital unless a name follows it. A foreign name's other
    spelling ("Sergey") has no Vietnamese letters, so it is still let through by its other words."""
    out = set()
    for span in sentences(text) or []:
        out |= _invented_in(span.text, folded_passages, folded_question)
    return out


def _invented_in(sentence: str, folded_passages: Sequence[str], folded_question: str) -> set[str]:
    out = set()
    for m in _NAME.finditer(sentence):
        word = m.group(0)
        if not VI_LETTERS.search(word):
            continue
        after = sentence[m.end() :].split(maxsplit=1)
        if _opens(sentence, m.start()) and not (after and after[0][:1].isupper()):
            continue  # a sentence's first word, capitalised for that ("Câu tập trận…", a misspelt "Cuộc")
        key = fold(word)
        pattern = rf"\b{re.escape(key)}\b"
        if not any(re.search(pattern, f) for f in [*folded_passages, folded_question]):
            out.add(key)
    return out


def _name_in(name: str, folded_text: str) -> bool:
    """Is this name in the (folded) text: as written, under a Vietnamese spelling, or, for a
    name of several words, by one distinctive word ("President Sauli Niinistö" -> "niinisto")."""
    if re.search(rf"\b{re.escape(name)}\b", folded_text):
        return True
    if any(re.search(rf"\b{re.escape(s)}\b", folded_text) for s in exonyms().get(name, [])):
        return True
    words = name.split()
    return len(words) > 1 and any(len(w) > 2 and _name_in(w, folded_text) for w in words)


def _content(text: str) -> set[str]:
    return {t for t in lexical_tokens(text) if t not in STOPWORDS and (len(t) > 2 or t.isdigit())}


def split_answer(text: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences, each with the passage numbers its own markers give."""
    out: list[tuple[str, list[int]]] = []
    # "… Blinken. [1] They …": a marker after the full stop moves before it, so sentences split.
    text = re.sub(r"([.!?…])\s*((?:\[\s*\d{1,2}(?:\s*[,;]\s*\d{1,2})*\s*\]\s*)+)", r" \2\1 ", normalize(text))
    for span in sentences(text):
        numbers = [int(n) for m in _MARKER.finditer(span.text) for n in re.findall(r"\d+", m.group(1))]
        plain = " ".join(_MARKER.sub(" ", span.text).split())
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if re.search(r"\w", plain):
            out.append((plain, numbers))
        elif out and numbers:  # a marker standing after the full stop belongs to the sentence before
            out[-1][1].extend(numbers)
    return out


def attribute(
    answer: str,
    passages: Sequence[Evidence],
    question: str = "",
    embed: Embed | None = None,
    extra_cited: Sequence[int] = (),
    prefer: Sequence[int] = (),
) -> list[SentenceSupport]:
    """Support for each sentence of `answer` among `passages` (see the module docstring).

    `extra_cited` are passages the model listed outside the text (the JSON
    reply's "passages"): they count as its markers on every sentence.
    `prefer`: the passages (1-based) the evidence judge quotes itself.
    """
    parts = split_answer(answer)
    if len(set(extra_cited)) >= len(passages) > 1:
        # "passages": [1, 2, 3] out of three names no choice: a small model lists them all.
        extra_cited = ()
    if not parts or not passages:
        return [SentenceSupport(text=t, model_cited=m) for t, m in parts]
    folded = [fold(normalize(p.text)) for p in passages]
    numbers = [_passage_numbers(p.text) for p in passages]
    content = [_content(p.text) for p in passages]
    q_folded, q_numbers = fold(normalize(question)), _passage_numbers(question)
    sims = np.zeros((len(parts), len(passages)))
    if embed is not None:
        vectors = embed([t for t, _ in parts] + [p.text for p in passages])
        sims = vectors[: len(parts)] @ vectors[len(parts) :].T

    out: list[SentenceSupport] = []
    for row, (text, markers) in enumerate(parts):
        s = SentenceSupport(text=text, model_cited=list(dict.fromkeys([*markers, *extra_cited])))
        names = _names(text)
        nums = _sentence_numbers(text)
        s.names = [n for n, _ in names] + nums
        # The names and numbers the question gives: no passage is needed for them.
        given = {n for n, _ in names if _name_in(n, q_folded)} | {n for n in nums if _number_forms(n) & q_numbers}
        stated = len(names) + len(nums)
        own = _content(text)
        scores: list[float] = []
        holds: list[bool] = []
        facts: list[set[str]] = []  # the names and numbers of the sentence each passage holds, not given by the question
        for i in range(len(passages)):
            found_names = [n for n, _ in names if _name_in(n, folded[i])]
            found_nums = [n for n in nums if _number_forms(n) & numbers[i]]
            facts.append(set(found_names + found_nums) - given)
            share = (len(found_names) + len(found_nums)) / stated if stated else 0.0
            overlap = len(own & content[i]) / len(own) if own else 0.0
            sim = float(sims[row, i])
            related = embed is None or sim >= T.sim_floor
            scores.append(T.name_weight * share + T.overlap_weight * overlap + max(0.0, sim - T.sim_floor))
            holds.append(
                (stated > 0 and share >= T.min_name_share and related)
                or overlap >= T.min_overlap
                or (embed is not None and sim >= T.sim_support)
            )
        # Names and numbers no passage holds (nor the question): invented, or a wrong value.
        invented = _invented_words(text, folded, q_folded)
        for n, at_start in names:
            if n in given:
                continue
            unheld = not at_start and not any(_name_in(n, f) for f in folded)
            if unheld or set(n.split()) & invented:
                s.missing.append(n)
        for n in nums:
            if not any(_number_forms(n) & ns for ns in numbers) and n not in given:
                s.missing.append(n)
        s.similarity = float(sims[row].max()) if embed is not None else 0.0
        ranked = sorted(range(len(passages)), key=lambda i: -scores[i])
        top = max(scores)
        near = [i + 1 for i in range(len(passages)) if holds[i] and scores[i] >= T.keep_marker_share * top]
        kept = [n for n in s.model_cited if n in near]
        # Among the passages that support it about as well as the best one, the evidence judge
        # decides: first those it quotes itself, then its order (it weighed retrieval, the
        # question's words and the asked-for value).
        best = sorted(near, key=lambda n: n not in prefer)[:1] or [i + 1 for i in ranked if holds[i]][:1]
        s.cited = _fewest(kept or best, near, facts, [p.source for p in passages])
        s.supported = bool(best) and not s.missing
        out.append(s)
    return out


def _fewest(chosen: list[int], near: list[int], facts: list[set[str]], sources: list[str]) -> list[int]:
    """The first chosen passage; others of its article that support the sentence about as well;
    another article's only for a name or number no cited passage holds.

    "Ryabkov and Grushko" rests on the two passages naming one each; "100,000
    troops", stated by three articles, rests on the one the judge put first.
    A second article that only shares the sentence's gist points the reader
    at another file for nothing. Names the question gives prove no passage.
    """
    if not chosen:
        return []
    out = [chosen[0]]
    covered = set(facts[chosen[0] - 1])
    for n in dict.fromkeys([*chosen[1:], *near]):
        new = facts[n - 1] - covered
        if n not in out and (new or sources[n - 1] in {sources[m - 1] for m in out}):
            out.append(n)
            covered |= new
    return out
