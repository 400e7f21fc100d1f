"""What kind of answer a question asks for, and whether a sentence holds one.

"How many troops…", "bao lâu…", "when…", "who…": the wording of a question
says what its answer must contain (a number of troops, a duration, a date, a
name). A sentence that shares the question's topic but holds no such value
does not answer it: "How many troops will join the drill?" is not answered by
"The drill will take place in February". This is the check that lets the bot
refuse a question the articles touch on but do not answer, and it lifts the
sentences that do hold the value above those that only repeat the question.

Questions are read in English and Vietnamese, with or without diacritics;
sentences are article text (Vietnamese, with diacritics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot.lexicon import STOPWORDS, TITLES
from bot.names import PLACE_BEFORE, asks_for_human, has_person
from bot.tables import read_table
from bot.text import fold, normalize, value_tokens, words

# Kinds whose value is unmistakable in text (a number, a date, a place after
# "tại/ở/tới", a person or organisation named in Latin script that the question
# does not name: bot.names.persons); missing from every good sentence, they
# justify a refusal.
STRICT_KINDS = frozenset({"quantity", "money", "duration", "date", "place", "person"})

_EN = {
    "money": re.compile(
        r"\bhow much\b.*\b(cost|costs|worth|pay|paid|spend|spent|price|priced|value|valued|money|fund|funding|budget)\b"
        r"|\b(cost|worth|price|value)\b.*\bhow much\b|\bhow many (dollars|euros|rubles|roubles|pounds)\b"
        r"|\bwhat (was|is|were|are) the (value|price|cost)\b"
    ),
    "duration": re.compile(r"\bhow long\b|\bhow soon\b|\bfor how many\b|\bhow many (hours|minutes|days|weeks|months|years)\b"),
    "quantity": re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|proportion)\b|\bthe number of\b"),
    "date": re.compile(
        r"^(and )?when\b|\bwhen (did|does|do|will|was|is|were|are|has|had|would|could)\b"
        r"|\b(what|which|on what|on which) (date|dates|day|days|month|year)\b|\bsince when\b|\bsince what year\b"
    ),
    "person": re.compile(
        r"\b(who|whom|whose)\b|\bwhich (\w+ )?(officials?|ministers?|diplomats?|leaders?|presidents?|persons?|people|analysts?)\b"
    ),
    "place": re.compile(r"\bwhere\b|\b(which|what) (\w+ )?(city|cities|country|countries|place|places|capital|venue|town|region)\b"),
}
# Folded Vietnamese: "bao lâu" and "bao lau" read the same.
_VI = {
    "money": re.compile(
        r"\btri gia\b|\bbao nhieu tien\b|\bbao nhieu (do ?la|usd|euro|rup|bang anh)\b|\bgia bao nhieu\b|\b(chi phi|kinh phi)\b.*\bbao nhieu\b"
    ),
    "duration": re.compile(r"\bbao lau\b|\b(bao nhieu|may) (gio|tieng|phut|ngay|tuan|thang|nam|thap ky)\b|\bkeo dai\b.*\bbao nhieu\b"),
    "quantity": re.compile(r"\bbao nhieu\b|\bso luong\b"),
    "date": re.compile(
        r"\b(khi nao|bao gio|luc nao|hom nao|thoi diem nao|thoi gian nao|ngay nao|ngay may|thang nao|thang may|nam nao|tu nam nao)\b"
    ),
    "person": re.compile(
        r"\b(la ai|ten (la )?gi)\b|\bai\b"
        r"|\b(nguoi|nha ngoai giao|quan chuc|nha lanh dao|nha phan tich|lanh dao|ong|ba)( \w+){0,2} nao\b"
    ),
    "place": re.compile(r"\b(o dau|tai dau|den dau|toi dau|noi nao|dia diem nao|thanh pho nao|nuoc nao|quoc gia nao|thu do nao)\b"),
}
# "mấy" folds to "may", as does "máy" (máy bay: aircraft): only read it with its diacritics.
_VI_HOW_MANY = re.compile(r"(?<!ngày )(?<!tháng )(?<!năm )(?<!thứ )\bmấy\b")

# Vietnamese numerals as words. "một" (one, also "a") and "năm" (five, also
# "year") are left out: they are far more often not a number.
_NUMBER_WORDS = {
    "hai", "ba", "bốn", "tư", "sáu", "bảy", "tám", "chín", "mười", "mươi", "chục", "trăm", "nghìn", "ngàn",
    "vạn", "triệu", "tỷ", "tỉ", "rưỡi", "vài", "hàng", "nửa",
}
_DURATION_UNITS = {"giây", "phút", "giờ", "tiếng", "ngày", "tuần", "tháng", "năm", "thập", "thế"}
_CURRENCIES = {"usd", "đô", "đôla", "dollar", "euro", "eur", "bảng", "rúp", "ruble", "yen", "nhân", "vnd", "$", "€", "£"}
_DATE_TOKEN = re.compile(r"^\d{1,2}/\d{1,2}(/\d{2,4})?$|^(19|20)\d\d$|^\d{1,2}/(19|20)\d\d$")
_DATE_WORDS = {"ngày", "tháng", "năm", "tuần", "hôm", "thứ", "sáng", "chiều", "tối", "đêm"}
_DATE_FOLLOWERS = {"tới", "sau", "trước", "qua", "nay", "này", "mai", "đó", "kế", "tiếp"}
_DIGITS = re.compile(r"^\d+([.,]\d+)*$")
_NAME = re.compile(r"\b[A-ZĐ][\w'’\-]*", re.UNICODE)
# How far after a number its counted noun may come: "100.000 binh sĩ", "40 chiếc máy bay", "12 ngày".
_UNIT_WINDOW = 3
_YEAR_ASKED = re.compile(r"\b(what|which) year\b|\bin what year\b|\bnam nao\b|\bnam bao nhieu\b|\bnam may\b")
_YEAR = re.compile(r"^(1[89]|20)\d\d$|[/-](1[89]|20)\d\d$")
# "how many hours" / "bao nhiêu giờ": the units an answer may give it in.
_TIME_UNITS = {
    "hours": ("giờ", "tiếng"), "gio": ("giờ", "tiếng"), "tieng": ("giờ", "tiếng"),
    "minutes": ("phút",), "phut": ("phút",),
    "days": ("ngày",), "ngay": ("ngày",),
    "weeks": ("tuần",), "tuan": ("tuần",),
    "months": ("tháng",), "thang": ("tháng",),
    "years": ("năm", "thập"), "nam": ("năm", "thập"),
}


@dataclass(frozen=True)
class Expectation:
    kinds: frozenset[str] = frozenset()
    # For "how many X": folded Vietnamese spellings of X; a number must precede one of them.
    units: tuple[str, ...] = ()
    # For "how many hours/bao nhiêu giờ": the time units that answer it; () accepts any.
    time_units: tuple[str, ...] = ()
    year_only: bool = False  # "since what year", "năm nào": a day and month is no answer
    question_tokens: frozenset[str] = field(default_factory=frozenset)
    question: str = ""  # as asked: the person check reads its names (bot.short)

    @property
    def strict(self) -> frozenset[str]:
        return self.kinds & STRICT_KINDS


def counted_nouns() -> dict[str, list[str]]:
    """English nouns that get counted -> their Vietnamese spellings (folded), from bot/data/counted_nouns.tsv."""
    return read_table("counted_nouns.tsv")


@lru_cache(maxsize=1024)  # scoring and judging one question both ask
def expectation(question: str) -> Expectation:
    """The kinds of value the question asks for (possibly several: "when … and how long …")."""
    text = normalize(question).lower()
    folded = " ".join(fold(t) for t in re.findall(r"\w+", text))
    kinds: set[str] = set()
    for kind, pattern in _EN.items():
        if pattern.search(text):
            kinds.add(kind)
    for kind, pattern in _VI.items():
        if pattern.search(folded):
            kinds.add(kind)
    if _VI_HOW_MANY.search(text):
        kinds.add("quantity")
    if asks_for_human(question):
        kinds.add("person")  # "Which spokesman…", by the one list of nouns for a person (question_words.tsv)
    # A money or duration question is not also a bare count: "how much … pay" needs a currency.
    if kinds & {"money", "duration"} and not _asks_plain_count(text, folded):
        kinds.discard("quantity")
    units = _units(text, folded) if "quantity" in kinds else ()
    time_units = _time_units(text, folded) if "duration" in kinds else ()
    year_only = "date" in kinds and bool(_YEAR_ASKED.search(text) or _YEAR_ASKED.search(folded))
    return Expectation(
        frozenset(kinds), units, time_units, year_only, frozenset(fold(t) for t in words(question)), question
    )


def _time_units(text: str, folded: str) -> tuple[str, ...]:
    asked = re.findall(r"\bhow many (hours|minutes|days|weeks|months|years)\b", text)
    asked += re.findall(r"\b(?:bao nhieu|may) (gio|tieng|phut|ngay|tuan|thang|nam)\b", folded)
    return tuple(dict.fromkeys(u for a in asked for u in _TIME_UNITS[a]))


def _asks_plain_count(text: str, folded: str) -> bool:
    """Does the question also count something that is not money or time? ("how many X … and how long")"""
    for m in re.finditer(r"\bhow many (\w+)", text):
        if m.group(1) not in {"hours", "minutes", "days", "weeks", "months", "years", "dollars", "euros"}:
            return True
    for m in re.finditer(r"\bbao nhieu (\w+)", folded):
        if m.group(1) not in {"gio", "phut", "ngay", "tuan", "thang", "nam", "tien", "do", "usd", "euro", "lau"}:
            return True
    return False


def _units(text: str, folded: str) -> tuple[str, ...]:
    """What is being counted, as folded Vietnamese words; () when it can't be told."""
    nouns = counted_nouns()
    units: list[str] = []
    for m in re.finditer(r"\bhow many\b", text):
        # "how many Russian troops": the counted noun is among the next few words.
        for word in re.findall(r"\w+", text[m.end() :])[:3]:
            if word in nouns:
                units.extend(nouns[word])
                break
    counted = [m.group(1) for m in re.finditer(r"\b(?:bao nhieu|so luong) (\w+)", folded)]
    counted += [fold(m.group(1)) for m in re.finditer(r"\bmấy (\w+)", text)]
    units.extend(w for w in counted if w not in {"la", "thi", "va", "lan", "cua"})
    return tuple(dict.fromkeys(units))


# -- what a sentence holds --------------------------------------------------------


def _is_number(token: str) -> bool:
    return bool(_DIGITS.match(token)) or token in _NUMBER_WORDS


def _numbers_followed_by(tokens: list[str], accept, exclude: frozenset[str]) -> bool:
    for i, token in enumerate(tokens):
        if not _is_number(token) or token in exclude or _DATE_TOKEN.match(token):
            continue
        if any(accept(t) for t in tokens[i + 1 : i + 1 + _UNIT_WINDOW]):
            return True
    return False


def has_quantity(sentence: str, exp: Expectation) -> bool:
    tokens = value_tokens(sentence)
    if exp.units:
        for i, token in enumerate(tokens):
            if not _is_number(token) or fold(token) in exp.question_tokens or _DATE_TOKEN.match(token):
                continue
            window = tokens[i + 1 : i + 1 + _UNIT_WINDOW]
            # "24 giờ sau cuộc đối thoại" counts hours, not talks: the count ends at a time unit.
            cut = next((j for j, t in enumerate(window) if t.lower() in _DURATION_UNITS), len(window))
            window = " ".join(fold(t) for t in window[:cut])
            if any(re.search(rf"\b{re.escape(u)}\b", window) for u in exp.units):
                return True
        return False
    return any(
        _DIGITS.match(t) and not _DATE_TOKEN.match(t) and fold(t) not in exp.question_tokens for t in tokens
    ) or any(t in _NUMBER_WORDS - {"hàng", "vài"} for t in tokens)


def has_money(sentence: str, exp: Expectation) -> bool:
    tokens = value_tokens(sentence)
    if any(t in {"$", "€", "£"} for t in tokens):
        return True
    return _numbers_followed_by(tokens, lambda t: t in _CURRENCIES or t.startswith("usd"), exp.question_tokens)


def has_duration(sentence: str, exp: Expectation) -> bool:
    units = set(exp.time_units) or _DURATION_UNITS
    return _numbers_followed_by(value_tokens(sentence), lambda t: t in units, frozenset())


def has_date(sentence: str, exp: Expectation) -> bool:
    tokens = words(sentence)
    if exp.year_only:
        return any(_YEAR.search(t) and fold(t) not in exp.question_tokens for t in tokens)
    for i, token in enumerate(tokens):
        if _DATE_TOKEN.match(token) and fold(token) not in exp.question_tokens:
            return True
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _DATE_WORDS and (nxt in _DATE_FOLLOWERS or (_DIGITS.match(nxt) and fold(nxt) not in exp.question_tokens)):
            return True
    return False


# A place in Vietnamese prose follows a preposition: "tại Geneva", "ở thủ đô Paris", "tới Belarus".
_PLACE = re.compile(PLACE_BEFORE + r"([A-ZĐ][\w\-]*)")


def has_place(sentence: str, exp: Expectation) -> bool:
    """A place named after a preposition of place, that the question does not already name."""
    for m in _PLACE.finditer(normalize(sentence)):
        token = fold(m.group(1))
        if token not in exp.question_tokens and token not in STOPWORDS | TITLES:
            return True
    return False


_CHECKS = {
    "quantity": has_quantity,
    "money": has_money,
    "duration": has_duration,
    "date": has_date,
    "person": lambda sentence, exp: has_person(sentence, exp.question),
    "place": has_place,
}


def satisfied(sentence: str, exp: Expectation) -> frozenset[str]:
    """The asked-for kinds this sentence holds a value of."""
    return frozenset(kind for kind in exp.kinds if _CHECKS[kind](sentence, exp))
