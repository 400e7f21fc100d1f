"""The short answer: the span of a cited sentence that holds what the question asks for.

Many questions ask for something that reads the same in English and Vietnamese:
people and organisations written in Latin script ("Sergei Lavrov", "OSCE"),
numbers and amounts ("100.000", "S-400"), dates ("21/1", "14-12") and places
("Geneva"; "Thụy Sĩ" → "Switzerland" through bot/data/exonyms.tsv). When a
question asks who / when / where / how many / how much / how long, this module
pulls that span out of the sentence the answer quotes, so that a reader of
either language gets the answer first and the quote as its proof.

Everything here only ever *selects* text from the sentence: the English
rendering changes the words around a value (units, month names, "less than",
from bot/data/short_words.tsv), never the value. No span of the asked kind in
the sentence gives no short answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.expect import _CURRENCIES, _DATE_TOKEN, _DURATION_UNITS, _NUMBER_WORDS, Expectation, counted_nouns, expectation
from bot.names import PLACE_PREP, persons
from bot.tables import read_table
from bot.text import fold, normalize, words

# The kinds a short answer is given for, in the order they are listed.
KINDS = ("person", "place", "date", "duration", "quantity", "money")
MAX_NAMES = 3  # "Sergei Lavrov and Antony Blinken": more is a list, not an answer
_TOKEN = re.compile(r"[\w'’]+(?:[./\-,][\w'’]+)*")
_DATE = re.compile(
    r"\b(?:(?:ngày|hôm)\s+)?\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"
    r"|\btháng\s+\d{1,2}(?:[/-](?:19|20)\d\d)?\b"
    r"|\b(?:năm\s+)?(?:19|20)\d\d\b"
)
_NUMBER = r"\d+(?:[.,]\d+)*"


@dataclass(frozen=True)
class Span:
    kind: str
    text: str  # rendered for the reader's language
    quote: str  # the words of the sentence it was taken from


@dataclass(frozen=True)
class Short:
    text: str = ""
    quote: str = ""  # the source words, " … "-joined when several spans
    cited: int = 0  # the [n] of the sentence it came from (0: none)

    def __bool__(self) -> bool:
        return bool(self.text)


# -- tables ------------------------------------------------------------------------


@cache
def _words() -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for key, values in read_table("short_words.tsv").items():
        kind, _, word = key.partition(":")
        out.setdefault(kind, {})[word] = values
    return out


@cache
def _english_place() -> dict[str, str]:
    """Folded Vietnamese place spelling -> its English name (the first exonym that has it)."""
    out: dict[str, str] = {}
    for english, spellings in read_table("exonyms.tsv").items():
        for s in spellings:
            out.setdefault(s, english.title() if len(english) > 3 else english.upper())
    return out


@cache
def _english_count() -> dict[str, str]:
    out: dict[str, str] = {}
    for english, spellings in counted_nouns().items():
        for s in spellings:
            out.setdefault(s, english)
    return out


# -- spans of each kind ---------------------------------------------------------------


def _join(items: list[str], lang: str) -> str:
    conj = " và " if lang == "vi" else " and "
    if len(items) <= 2:
        return conj.join(items)
    return ", ".join(items[:-1]) + conj + items[-1]


def person_span(sentence: str, question: str, lang: str) -> Span | None:
    found = persons(sentence, question)
    # People before organisations, in sentence order.
    ordered = [n for n in found if not n.acronym] + [n for n in found if n.acronym]
    picked = list(dict.fromkeys(n.text for n in ordered))[:MAX_NAMES]
    if not picked:
        return None
    return Span("person", _join(picked, lang), " … ".join(picked))


def _render_place(text: str, lang: str) -> str:
    if lang == "vi":
        return text
    english = _english_place()
    parts = re.split(r"(\s*\(|\)|\s*,\s*|\s+và\s+)", text)
    out = []
    for p in parts:
        key = fold(p.strip())
        if key in english:
            out.append(english[key])
        elif p.strip() == "và":
            out.append(" and ")
        else:
            out.append(p if not re.fullmatch(r"\s+và\s+", p) else " and ")
    return "".join(out).strip()


def place_span(sentence: str, question: str, lang: str) -> Span | None:
    q_tokens = {fold(t) for t in words(question)}
    q_places = q_tokens | {s for t in q_tokens for s in read_table("exonyms.tsv").get(t, [])}
    text = normalize(sentence)
    for m in PLACE_PREP.finditer(text):
        head = m.group(1)
        if fold(head) in q_places or all(fold(t) in q_places for t in head.split()):
            continue
        end = m.end(3) if m.group(3) else m.end(2) if m.group(2) else m.end(1)
        quote = text[m.start(1) : end].strip()
        return Span("place", _render_place(quote, lang), quote)
    return None


def _render_date(raw: str, lang: str) -> str:
    text = re.sub(r"^(ngày|hôm)\s+", "", raw)
    if lang == "vi":
        return text
    months = _words().get("month", {})
    m = re.fullmatch(r"tháng\s+(\d{1,2})(?:[/-]((?:19|20)\d\d))?", text)
    if m and m.group(1).lstrip("0") in months:
        return " ".join(filter(None, [months[m.group(1).lstrip("0")][0], m.group(2)]))
    return re.sub(r"^năm\s+", "", text)


def date_span(sentence: str, exp: Expectation, lang: str) -> Span | None:
    text = normalize(sentence)
    for m in _DATE.finditer(text):
        raw = m.group(0)
        value = words(re.sub(r"^(ngày|hôm|tháng|năm)\s+", "", raw))
        if not value or value[0] in exp.question_tokens:
            continue
        if exp.year_only and not re.search(r"(19|20)\d\d", raw):
            continue
        return Span("date", _render_date(raw, lang), raw)
    if exp.year_only:
        return None
    folded = fold(text)
    for phrase, english in _words().get("date", {}).items():
        i = folded.find(phrase)
        if i >= 0 and phrase.split()[-1] not in exp.question_tokens:
            quote = text[i : i + len(phrase)]
            return Span("date", quote if lang == "vi" else english[0], quote)
    return None


def _qualifier(text: str, start: int) -> tuple[int, str]:
    before = fold(text[max(0, start - 12) : start]).rstrip()
    for phrase, english in _words().get("qualifier", {}).items():
        if before.endswith(phrase):
            return start - (len(before) - len(before[: -len(phrase)])) , english[0]
    return start, ""


def _number_value(token: str) -> str:
    return _words().get("number", {}).get(fold(token), [token])[0] if not token.isdigit() else token


def amount_span(sentence: str, exp: Expectation, kind: str, lang: str) -> Span | None:
    """A number with the unit asked for: a duration, a count of the thing asked about, an amount of money."""
    text = normalize(sentence)
    tokens = list(_TOKEN.finditer(text))
    number_words = set(_NUMBER_WORDS) - {"hàng", "nửa"}  # with diacritics: "sáu" (six) is not "sau" (after)
    time_units = {fold(u) for u in (exp.time_units or _DURATION_UNITS)}
    for i, m in enumerate(tokens):
        token = m.group(0)
        is_number = bool(re.fullmatch(_NUMBER, token)) or token.lower() in number_words
        if not is_number or _DATE_TOKEN.match(token) or (fold(token) in exp.question_tokens and kind != "duration"):
            continue
        window = [fold(t.group(0)) for t in tokens[i + 1 : i + 4]]
        if not window:
            continue
        unit, end = "", m.end()
        if kind == "duration":
            if window[0] in time_units or " ".join(window[:2]) in time_units:
                unit = " ".join(window[:2]) if " ".join(window[:2]) in time_units else window[0]
                end = tokens[i + len(unit.split())].end()
            else:
                continue
        elif kind == "money":
            if window[0] in {fold(c) for c in _CURRENCIES} or window[0].startswith("usd"):
                unit, end = window[0], tokens[i + 1].end()
            else:
                continue
        else:
            units = exp.units
            # The counted noun comes right after the number, or after one classifier ("2 bản dự thảo").
            hit = next((u for u in units for k in (0, 1) if " ".join(window[k : k + len(u.split())]) == u), None)
            if units and hit is None:
                continue
            if not units and (window[0] in {fold(u) for u in _DURATION_UNITS} or window[0] in {"gio", "tieng"}):
                continue  # "24 giờ" is a time, not a count
            if hit:
                unit = hit
                # up to the end of the counted noun
                n = len(hit.split())
                k = next((j for j in range(3) if " ".join(window[j : j + n]) == hit), 0)
                end = tokens[i + k + n].end()
            elif window[0] in {"ngay", "thang", "nam"}:
                continue  # "2 tháng" is a time, not a count
        half = ""
        if kind == "duration" and i + 1 + len(unit.split()) < len(tokens):
            nxt = fold(tokens[i + 1 + len(unit.split())].group(0))
            if nxt in _words().get("half", {}):
                half, end = _words()["half"][nxt][0], tokens[i + 1 + len(unit.split())].end()
        start, qualifier = _qualifier(text, m.start())
        quote = text[start:end].strip()
        if lang == "vi":
            return Span(kind, quote, quote)
        value = _number_value(token) + half if half and re.fullmatch(r"\d+", token) else _number_value(token)
        english_unit = ""
        if kind == "duration":
            forms = _words().get("unit", {}).get(unit, [unit])
            english_unit = forms[-1] if (value not in {"1"} or half) else forms[0]
            if half and not re.fullmatch(r"\d+", token):
                english_unit += " and a half"
        elif kind == "money":
            english_unit = tokens[i + 1].group(0)
        elif unit:
            english_unit = _english_count().get(unit, "")
        return Span(kind, " ".join(filter(None, [qualifier, value, english_unit])), quote)
    return None


def spans(question: str, sentence: str, lang: str, kinds: frozenset[str] | None = None) -> list[Span]:
    """The asked-for values this sentence holds, one span per kind (in KINDS order)."""
    exp = expectation(question)
    asked = exp.kinds if kinds is None else kinds
    out: list[Span] = []
    for kind in KINDS:
        if kind not in asked:
            continue
        if kind == "person":
            span = person_span(sentence, question, lang)
        elif kind == "place":
            span = place_span(sentence, question, lang)
        elif kind == "date":
            span = date_span(sentence, exp, lang)
        else:
            span = amount_span(sentence, exp, kind, lang)
        if span:
            out.append(span)
    return out


def short_answer(question: str, sentences: list[str], lang: str) -> Short:
    """The first cited sentence's span of each asked-for kind ("" when none holds one)."""
    exp = expectation(question)
    if not exp.kinds & set(KINDS):
        return Short()
    for n, sentence in enumerate(sentences, start=1):
        found = spans(question, sentence, lang)
        if found:
            text = "; ".join(s.text for s in found)
            return Short(text, " … ".join(s.quote for s in found), n)
    return Short()
