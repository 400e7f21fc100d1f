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

from bot.expect import Expectation, counted_nouns, expectation
from bot.tables import read_table
from bot.text import fold, normalize, words

# The kinds a short answer is given for, in the order they are listed.
KINDS = ("person", "place", "date", "duration", "quantity", "money")
MAX_NAMES = 3  # "Sergei Lavrov and Antony Blinken": more is a list, not an answer
_NAME_TOKEN = re.compile(r"[A-ZĐ][\w'’]*(?:[.\-][\w'’]+)*")
_TOKEN = re.compile(r"[\w'’]+(?:[./\-,][\w'’]+)*")
# A place in Vietnamese prose follows a preposition of place: "tại Geneva", "tới vùng Khabarovsk Krai".
_PLACE_PREP = re.compile(
    r"\b(?:tại|ở|tới|đến|sang|từ|về phía|xuống)\s+(?:(?:thủ đô|thành phố|vùng|tỉnh|nước|khu vực|thủ phủ|bang|miền)\s+)?"
    r"((?:[A-ZĐ][\w\-]*)(?:\s+[A-ZĐ][\w\-.]*)*)(\s*\([^)]{1,40}\))?((?:\s*(?:,|và)\s*(?:[A-ZĐ][\w\-]*)(?:\s+[A-ZĐ][\w\-]*)*)*)"
)
_DATE = re.compile(
    r"\b(?:(?:ngày|hôm)\s+)?\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"
    r"|\btháng\s+\d{1,2}(?:[/-](?:19|20)\d\d)?\b"
    r"|\b(?:năm\s+)?(?:19|20)\d\d\b"
)
_NUMBER = r"\d+(?:[.,]\d+)*"
# "Who is Wendy Sherman?" / "… là ai?": asks for the role of a person the question names.
_WHO_IS = re.compile(r"^\s*who (is|was)\b|\bla ai\b")


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
def titles() -> dict[str, str]:
    """Folded Vietnamese title -> English (bot/data/titles.tsv)."""
    return {fold(k): v[0] for k, v in read_table("titles.tsv").items() if v}


@cache
def _not_names() -> frozenset[str]:
    from bot.evidence import STOPWORDS

    places = {w for spellings in read_table("exonyms.tsv").values() for s in spellings for w in s.split()}
    return frozenset(read_table("not_names.tsv")) | STOPWORDS | places


@cache
def _places() -> frozenset[str]:
    return frozenset(w for spellings in read_table("exonyms.tsv").values() for s in spellings for w in s.split())


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


# -- names ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    text: str
    start: int
    end: int
    titled: bool  # right after a title or "ông/bà": a person
    acronym: bool  # NATO, OSCE, RT: an organisation

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(fold(t) for t in re.split(r"[\s]+", self.text))

    @property
    def person_like(self) -> bool:
        return self.titled or self.acronym or len(self.tokens) > 1


def _latin(token: str) -> bool:
    return fold(token) == token.lower() and token[0].isalpha()


def names(sentence: str) -> list[Name]:
    """Names in Latin script: runs of capitalised words without Vietnamese diacritics.

    "Ngoại trưởng Nga Sergei Lavrov" gives "Sergei Lavrov": "Nga" (Russia) is a
    Vietnamese word, as are the capitalised words that open sentences ("Theo").
    """
    text = normalize(sentence)
    out: list[Name] = []
    run: list[re.Match] = []
    folded_titles = titles()

    def close() -> None:
        if not run:
            return
        start, end = run[0].start(), run[-1].end()
        before = fold(text[max(0, start - 60) : start]).split()
        # "Ngoại trưởng Mỹ Antony Blinken": a country may sit between the title and the name.
        while before and before[-1] in _places():
            before.pop()
        tail = " ".join(before[-4:])
        titled = any(re.search(rf"(^|\s){re.escape(t)}$", tail) for t in folded_titles)
        acronym = len(run) == 1 and run[0].group(0).isupper() and len(run[0].group(0)) > 1
        out.append(Name(text[start:end], start, end, titled, acronym))
        run.clear()

    last_end = -1
    for m in _NAME_TOKEN.finditer(text):
        token = m.group(0).rstrip(".")
        is_name = _latin(token) and fold(token) not in _not_names() and not token.isdigit()
        # "NATO-Nga": the Latin part is a name, the Vietnamese part is not.
        if is_name and "-" in token and fold(token.split("-")[-1]) in _not_names():
            is_name = False
        adjacent = run and text[last_end:m.start()].strip() == ""
        # An acronym is a name of its own: "NATO Anders Fogh Rasmussen" is NATO's former leader.
        acronym = token.isupper() and len(token) > 1
        if acronym or (run and run[-1].group(0).isupper() and len(run[-1].group(0)) > 1):
            adjacent = False
        if is_name and (adjacent or not run):
            run.append(m)
        else:
            close()
            if is_name:
                run.append(m)
        last_end = m.end()
    close()
    return out


def _given(question: str) -> tuple[set[str], list[tuple[str, ...]]]:
    from bot.evidence import anchors

    return {fold(t) for t in words(question)}, [a for a in anchors(question) if len(a) > 1]


def _named_by(name: Name, question_tokens: set[str], phrases: list[tuple[str, ...]]) -> bool:
    """Does the question already give this name? ("Putin" gives "Vladimir Putin"; "Rasmussen Global" does
    not give "Anders Fogh Rasmussen")."""
    tokens = name.tokens
    if all(t in question_tokens for t in tokens):
        return True
    if tokens[-1] not in question_tokens:
        return False
    return not any(tokens[-1] in p and p != tokens for p in phrases)


def _place_spans(sentence: str) -> list[tuple[int, int]]:
    text = normalize(sentence)
    return [(m.start(1), m.end(3) if m.group(3) else m.end(2) if m.group(2) else m.end(1)) for m in _PLACE_PREP.finditer(text)]


def _modifier(text: str, name: Name) -> bool:
    """Is the name only a modifier, not an actor? After "của" (of: "phát ngôn viên của Tổng thống
    Putin", Putin's spokesman) or the whole of a parenthesis (a gloss: "Hiệp ước Bắc Đại Tây Dương (NATO)")."""
    before = fold(text[max(0, name.start - 60) : name.start]).split()
    changed = True
    while before and changed:
        changed = False
        while before and before[-1] in _places():
            before.pop()
            changed = True
        for t in titles():
            n = len(t.split())
            if " ".join(before[-n:]) == t:
                del before[-n:]
                changed = True
                break
    if before and before[-1] in {"cua", "theo"}:  # "của X": X's; "theo X": according to X (a source)
        return True
    return text[max(0, name.start - 1) : name.start] == "(" and text[name.end : name.end + 1] == ")"


def persons(sentence: str, question: str) -> list[Name]:
    """People and organisations the sentence names as actors, that the question does not name."""
    q_tokens, phrases = _given(question)
    text = normalize(sentence)
    places = _place_spans(sentence)
    out = []
    for n in names(sentence):
        if any(s <= n.start < e for s, e in places) and not n.titled:
            continue
        if _modifier(text, n):
            continue
        if not n.person_like or _named_by(n, q_tokens, phrases):
            continue
        out.append(n)
    return out


def has_person(sentence: str, exp: Expectation) -> bool:
    """For "who…": a person or organisation the question does not already name, or, for
    "Who is Wendy Sherman?", the name it gives with its title ("Thứ trưởng Ngoại giao Mỹ Wendy Sherman")."""
    if persons(sentence, exp.question):
        return True
    if not _WHO_IS.search(fold(exp.question)):
        return False
    q_tokens, phrases = _given(exp.question)
    text = normalize(sentence)
    return any(
        n.titled and not _modifier(text, n) and _named_by(n, q_tokens, phrases) for n in names(sentence)
    )


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
    for m in _PLACE_PREP.finditer(text):
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
    from bot.expect import _CURRENCIES, _DATE_TOKEN, _DURATION_UNITS, _NUMBER_WORDS

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
