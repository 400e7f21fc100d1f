"""The values a Vietnamese sentence states: amounts with their units, counts of things, dates,
times, durations, scores, and the names of people, places and organisations.

Each is a `Mention`: its kind, the whole words of the sentence it spans (never a cut word),
and what it measures or counts. The short answer (bot.short) chooses among them the one a
question asks for, tied to what the question names; the evidence judge (bot.evidence) asks
whether any sentence about the question holds one of the asked kind at all.

Vietnamese news writes numbers with "." between thousands and "," before decimals
("1.100", "1,5 triệu đồng"), a unit after its number ("12 ngày", "3.885mAh", "2-8 độ C")
and a date's unit before it ("tháng 2", "năm 2020", "ngày 15/4"). What the units are and
what they measure is data (bot/data/units.tsv, names.tsv); the rules here read only the
order of words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.tables import read_table
from bot.text import fold, normalize, vietnamese_syllable

# -- tokens -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+(?:(?:[./\-:'’+]|(?<=\d),(?=\d))\w+)*%?|[%$€£°]")  # "1,5" one token, "năm,gấp" two
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_RANGE = re.compile(r"^\d+(?:[.,]\d+)*[-–]\d+(?:[.,]\d+)*$")
_NUM_UNIT = re.compile(r"^(\d+(?:[.,]\d+)*)-?([^\W\d_][^\W\d_/]*(?:/[^\W\d_]+)?)$")  # "3.885mAh", "90Hz", "8,1-inch"
_UNIT_NUM = re.compile(r"^(km|Km|KM)(\d+(?:[.,]\d+)*)$")  # "km230": a point on a road
_CLOCK = re.compile(r"^(\d{1,2})[hg](\d{2})?(?:p)?$", re.I)  # "6h", "0h", "10h30"
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$")
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_SCORE = re.compile(r"^(\d{1,2})[-–](\d{1,2})$")
_DASH_DATE = re.compile(r"^(0?[1-9]|[12]\d|3[01])[-.](0?[1-9]|1[0-2])(?:[-.](\d{4}))?$")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def capital(self) -> bool:
        return self.text[:1].isupper()


# "đồng.HuyệnCần": a sentence glued to the next (a missing space after its full stop).
_GLUED = re.compile(r"(?<=[a-zđà-ỹ]{2})\.(?=[A-ZĐÀ-Ỹ][a-zđà-ỹ])")  # not "TP.HCM", "S.Truman"


def tokens(sentence: str) -> list[Token]:
    out = []
    for m in _TOKEN.finditer(sentence):
        start = m.start()
        for piece in _GLUED.split(m.group(0)):
            out.append(Token(piece, start, start + len(piece)))
            start += len(piece) + 1
    return out


# -- the tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    spelling: str
    dimension: str  # money, percent, length, weight, duration, age, …
    english: tuple[str, str]  # singular, plural


@cache
def units() -> tuple[dict[tuple[str, ...], Unit], dict[tuple[str, ...], Unit]]:
    """(units by their tokens as written, units by their folded tokens where no two rows fold the same)."""
    exact: dict[tuple[str, ...], Unit] = {}
    folded: dict[tuple[str, ...], list[Unit]] = {}
    for spelling, values in read_table("units.tsv").items():
        dimension, singular, plural = (values + ["", ""])[:3]
        unit = Unit(spelling, dimension, (singular, plural or singular))  # plural written only when it differs
        key = tuple(t.text for t in tokens(spelling))
        exact[key] = unit
        folded.setdefault(tuple(fold(t) for t in key), []).append(unit)
    return exact, {k: v[0] for k, v in folded.items() if len(v) == 1}


@cache
def _words(kind: str) -> dict[str, str]:
    """`kind:word` rows of bot/data/number_words.tsv (written with their diacritics)."""
    return {k.partition(":")[2]: v[0] for k, v in read_table("number_words.tsv").items() if k.startswith(kind + ":")}


@cache
def names_table() -> dict[str, frozenset[str]]:
    """bot/data/names.tsv: the words around a name that say what it names, lower case with their
    diacritics ("cầu" bridge is not "cậu" boy); `places` and `surnames` folded (names are matched
    as typed without diacritics too)."""
    folded = {"places"}
    return {
        k: frozenset(fold(v) if k in folded else v.lower() for v in values) for k, values in read_table("names.tsv").items()
    }


def _phrase_before(toks: list[Token], i: int, table: frozenset[str], longest: int = 4) -> int:
    """How many tokens right before toks[i] form a phrase of `table` (0: none)."""
    for n in range(min(longest, i), 0, -1):
        if " ".join(t.low for t in toks[i - n : i]) in table:
            return n
    return 0


# -- mentions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    kind: str  # money, percent, measure, duration, age, count, date, time, minute, score, person, place, placename, org, name
    start: int  # character offsets in the sentence: whole tokens
    end: int
    text: str
    number: str = ""  # the numeral as written ("1,5", "2-8")
    unit: str = ""  # the unit or the counted noun as written ("triệu đồng", "mAh", "tình nguyện viên")
    dimension: str = ""  # what a unit measures (units.tsv), or a name's kind
    multiplier: str = ""  # "triệu" in "1,5 triệu đồng"
    qualifier: str = ""  # "gần" in "gần 20 phòng"
    of: str = ""  # what an amount is of, right after its unit ("vàng" in "5 chỉ vàng", "gạo" in "2 tấn gạo")

    @property
    def numeric(self) -> bool:
        return bool(self.number)


@lru_cache(maxsize=4096)
def mentions(sentence: str) -> tuple[Mention, ...]:
    """Every value and name the sentence states, in sentence order."""
    text = normalize(sentence)
    toks = tokens(text)
    found: list[Mention] = []
    taken: set[int] = set()  # token indices already part of a mention
    found += _dates(text, toks, taken)
    found += _numbers(text, toks, taken)
    found += _names(text, toks, taken)
    return tuple(sorted(found, key=lambda m: m.start))


def _span(text: str, toks: list[Token], i: int, j: int) -> tuple[int, int, str]:
    """Offsets and text of tokens i..j inclusive."""
    return toks[i].start, toks[j].end, text[toks[i].start : toks[j].end]


# -- dates and times ----------------------------------------------------------------------


def _dates(text: str, toks: list[Token], taken: set[int]) -> list[Mention]:
    out: list[Mention] = []
    n = len(toks)
    day_words = names_table().get("date_before", frozenset())
    parts = names_table().get("day_part", frozenset())
    i = 0
    while i < n:
        t = toks[i]
        start, end = i, None
        kind = "date"
        clock = _CLOCK.match(t.text)
        if _DATE.match(t.text) or (i > 0 and toks[i - 1].low in day_words and _DASH_DATE.match(t.text)):
            end = i  # "21/1", "15/4/2021"; "ngày 14-12" ("14-12" alone may be a score)
            # "15/4/2021" or "15/4 năm 2021"
            if i + 2 < n and toks[i + 1].folded == "nam" and _YEAR.match(toks[i + 2].text):
                end = i + 2
        elif t.folded == "thang" and i + 1 < n and re.fullmatch(r"\d{1,2}(/(\d{4}))?", toks[i + 1].text):
            # "tháng 2", "tháng 4/2021", "tháng 8 năm 1988"
            if 1 <= int(toks[i + 1].text.split("/")[0]) <= 12:
                end = i + 1
                if i + 3 < n and toks[i + 2].folded == "nam" and _YEAR.match(toks[i + 3].text):
                    end = i + 3
        elif t.folded == "nam" and i + 1 < n and _YEAR.match(toks[i + 1].text):
            end = i + 1
        elif t.text.isdigit() and 1 <= int(t.text) <= 31 and i + 2 < n and toks[i + 1].folded == "thang" and (
            toks[i + 2].text.isdigit() and 1 <= int(toks[i + 2].text) <= 12
        ):
            # "24 tháng 8 năm 1988"
            end = i + 2
            if i + 4 < n and toks[i + 3].folded == "nam" and _YEAR.match(toks[i + 4].text):
                end = i + 4
        elif clock and int(clock.group(1)) <= 24:
            kind, end = "time", i
        elif t.text.isdigit() and int(t.text) <= 24 and i + 1 < n and toks[i + 1].folded in {"gio", "h"} and (
            (i + 2 < n and toks[i + 2].low in parts) or (i > 0 and toks[i - 1].low == "lúc")
        ):
            kind, end = "time", i + 1
        elif t.folded == "phut" and i + 1 < n and (toks[i + 1].text.isdigit() or toks[i + 1].folded == "thu"):
            # "phút 75", "phút thứ 12", "phút 90+3": a moment of a match, not a duration
            j = i + 1 + (toks[i + 1].folded == "thu")
            if j < n and re.fullmatch(r"\d{1,3}(\+\d{1,2})?", toks[j].text):
                kind, end = "minute", j
        if end is None:
            i += 1
            continue
        # "sáng 24/4", "ngày 21/1", "hôm 10/1", "6h sáng 30/4": the words that make it one moment
        while start > 0 and toks[start - 1].low in day_words | parts and start - 1 not in taken:
            start -= 1
        while end + 1 < n and toks[end + 1].low in parts:
            end += 1
        if kind == "time" and end + 1 < n and (_DATE.match(toks[end + 1].text) or toks[end + 1].folded == "ngay"):
            kind = "date"  # "6h sáng 30/4": a moment of a day
            end += 1 + (toks[end + 1].folded == "ngay" and end + 2 < n and bool(_DATE.match(toks[end + 2].text)))
        s, e, span = _span(text, toks, start, end)
        out.append(Mention(kind, s, e, span))
        taken.update(range(start, end + 1))
        i = end + 1
    return out


# -- numbers with units -------------------------------------------------------------------------


def _number_words() -> dict[str, str]:
    """Numerals written as words, with their diacritics ("sáu" six is not "sau" after)."""
    return _words("word")


def _is_number(t: Token) -> bool:
    bare = t.text.rstrip("%")
    return bool(_NUMBER.match(bare) or _RANGE.match(bare)) or t.low in _number_words()


def _latin(word: str) -> bool:
    return fold(word) == word.lower()


def _after_name(text: str, toks: list[Token], i: int) -> bool:
    """Does toks[i] follow a capitalised Latin word, one space before it ("Band 6", "Mi 11 Lite",
    "Snapdragon 732G")? Without a unit after it, such a number is part of the name."""
    if i == 0:
        return False
    before = toks[i - 1]
    return before.capital and _latin(before.text) and not _NUMBER.match(before.text) and (
        text[before.end : toks[i].start] == " "
    )


def _unit_at(toks: list[Token], i: int) -> tuple[Unit | None, int]:
    """The unit that starts at toks[i] (longest first) and how many tokens it spans."""
    exact, folded = units()
    for n in (3, 2, 1):
        if i + n > len(toks) or any(toks[k].start != toks[k - 1].end + 1 for k in range(i + 1, i + n)):
            continue  # a unit's words are one space apart ("2 triệu bảng; anh" is no "bảng Anh")
        key = tuple(t.text for t in toks[i : i + n])
        unit = exact.get(key) or exact.get(tuple(k.lower() for k in key)) or folded.get(tuple(fold(k) for k in key))
        if unit is None and n == 1 and "/" in key[0] and key[0] not in {"km/h", "m/s"}:
            # "432 đồng/lít", "74,351 USD/thùng": an amount per something, in the unit before the slash
            head = key[0].split("/")[0]
            unit = exact.get((head,)) or exact.get((head.lower(),)) or folded.get((fold(head),))
        if unit is not None:
            return unit, n
    return None, 0


def _range_end(text: str, toks: list[Token], i: int) -> int:
    """The last number token of a range starting at toks[i] ("2 - 8", "8- 44%", "từ 50 triệu đến
    hơn 60"), else i."""
    n = len(toks)
    multipliers = _words("multiplier")
    j = i
    while True:
        k = j + 1
        while k < n and toks[k].low in multipliers:
            k += 1
        dash = k < n and text[toks[k - 1].end : toks[k].start].strip() in {"-", "–"}
        if k < n and dash and _is_number(toks[k]):
            j = k
        elif k + 1 < n and toks[k].low in {"đến", "tới"} and _is_number(toks[k + 1]):
            j = k + 1
        elif k + 2 < n and toks[k].low in {"đến", "tới"} and toks[k + 1].low in {"hơn", "gần"} and _is_number(toks[k + 2]):
            j = k + 2
        else:
            return j


def _numbers(text: str, toks: list[Token], taken: set[int]) -> list[Mention]:
    out: list[Mention] = []
    n = len(toks)
    multipliers = _words("multiplier")
    stops = names_table().get("not_counted", frozenset())  # lower case, with diacritics
    i = 0
    while i < n:
        t = toks[i]
        if i in taken:
            i += 1
            continue
        road = _UNIT_NUM.match(t.text)
        if road:  # "km230": a point on a road
            s, e, span = _span(text, toks, i, i)
            out.append(Mention("measure", s, e, span, road.group(2), road.group(1), "length"))
            taken.add(i)
            i += 1
            continue
        attached = _NUM_UNIT.match(t.text)
        if attached:  # "3.885mAh", "90Hz"; "732G" after "Snapdragon" is a model name
            unit, _ = _unit_at([Token(attached.group(2), 0, 0)], 0)
            if unit is not None and not _after_name(text, toks, i):
                start, qualifier = _qualifier_before(toks, i, taken)
                s, e, span = _span(text, toks, start, i)
                out.append(Mention(_kind_of(unit), s, e, span, attached.group(1), attached.group(2), unit.dimension,
                                   qualifier=qualifier))
                taken.update(range(start, i + 1))
            i += 1
            continue
        if not _is_number(t) or (t.low in _number_words() and not _counted_next(toks, i)):
            i += 1
            continue
        j = _range_end(text, toks, i)
        number = text[toks[i].start : toks[j].end]
        k = j + 1
        multiplier = []
        while k < n and toks[k].low in multipliers:
            multiplier.append(toks[k].text)
            k += 1
        unit, width = _unit_at(toks, k)
        if toks[j].text.endswith("%"):
            unit, width, k = units()[0][("%",)], 0, j + 1
        start, qualifier = _qualifier_before(toks, i, taken)
        if unit is not None:
            end = max(k + width - 1, j)
            if unit.dimension == "duration" and end + 1 < n and toks[end + 1].low in _words("half"):
                end += 1  # "1 giờ rưỡi"
            while unit.dimension == "duration" and end + 2 < n and _NUMBER.match(toks[end + 1].text) and (
                (_unit_at(toks, end + 2)[0] or Unit("", "", ("", ""))).dimension == "duration"
            ):
                end += 1 + _unit_at(toks, end + 2)[1]  # "3 giờ 38 phút": one duration
            s, e, span = _span(text, toks, start, end)
            written = " ".join(x.text for x in toks[k : k + width]) or "%"
            of = _material(text, toks, end + 1, stops) if _kind_of(unit) == "measure" else ""
            out.append(Mention(_kind_of(unit), s, e, span, number, written, unit.dimension, " ".join(multiplier), qualifier, of))
            taken.update(range(start, end + 1))
            i = end + 1
            continue
        if _after_name(text, toks, i) and not multiplier:
            i = j + 1  # "Band 6", "Mi 11 Lite": part of a name
            continue
        if _SCORE.match(t.text) and j == i and not multiplier:
            s, e, span = _span(text, toks, i, i)
            out.append(Mention("score", s, e, span, t.text))
            taken.add(i)
            i += 1
            continue
        # A count: the noun after the number (with its classifier), up to a function word, a name or a comma.
        noun_end = k
        while noun_end < n and noun_end - k < 4 and not toks[noun_end].capital and toks[noun_end].low not in stops and (
            not any(c.isdigit() for c in toks[noun_end].text)
            and text[toks[noun_end - 1].end : toks[noun_end].start].strip() == ""
            and " ".join(x.low for x in toks[noun_end : noun_end + 2]) not in stops
        ):
            noun_end += 1
        if noun_end > k or multiplier:
            end = max(noun_end - 1, k - 1)
            s, e, span = _span(text, toks, start, end)
            noun = " ".join(x.text for x in toks[k:noun_end])
            out.append(Mention("count", s, e, span, number, noun, "", " ".join(multiplier), qualifier))
            taken.update(range(start, end + 1))
            i = end + 1
            continue
        i = j + 1
    return out


def _material(text: str, toks: list[Token], k: int, stops: frozenset[str]) -> str:
    """The one or two lower-case words right after a unit that say what is measured ("vàng")."""
    out = []
    while k < len(toks) and len(out) < 2 and not toks[k].capital and toks[k].low not in stops and (
        not any(c.isdigit() for c in toks[k].text) and text[toks[k - 1].end : toks[k].start] == " "
    ):
        out.append(toks[k].text)
        k += 1
    return " ".join(out)


def _counted_next(toks: list[Token], i: int) -> bool:
    """A numeral written as a word counts only when a noun follows ("hai ngôi nhà", not "ba" = father)."""
    return i + 1 < len(toks) and not toks[i + 1].capital and toks[i + 1].low not in names_table().get("not_counted", ())


def _kind_of(unit: Unit) -> str:
    if unit.dimension in {"money", "percent", "duration", "age"}:
        return unit.dimension
    return "measure"


def _qualifier_before(toks: list[Token], i: int, taken: set[int]) -> tuple[int, str]:
    """The start of a value with the qualifier before its number ("gần 20 phòng", "chưa đầy 24 giờ")."""
    table = frozenset(_words("qualifier"))
    n = next((n for n in (2, 1) if n <= i and " ".join(t.low for t in toks[i - n : i]) in table), 0)
    if n and not any(x in taken for x in range(i - n, i)):
        return i - n, " ".join(t.text for t in toks[i - n : i])
    return i, ""


# -- names ----------------------------------------------------------------------------------


@cache
def _places() -> frozenset[str]:
    """Folded place names: the Vietnamese spellings of bot/data/exonyms.tsv, places.tsv and names.tsv."""
    from bot.anchors import exonyms

    out = set(names_table().get("places", frozenset()))
    for spellings in exonyms().values():
        out.update(spellings)
    return frozenset(out)


def _joins_name(text: str, toks: list[Token], j: int) -> bool:
    """Does toks[j + 1] continue the name ending at toks[j]? A capitalised word one space on, or a
    model number ("Mi 11 Lite", "Snapdragon 732G", "Band 6")."""
    nxt = toks[j + 1]
    if text[toks[j].end : nxt.start] != " ":
        return False
    acronym = toks[j].text.isupper() and len(toks[j].text) > 1
    if acronym != (nxt.text.isupper() and len(nxt.text) > 1):
        return False  # "NATO Anders Fogh Rasmussen": an acronym is a name of its own
    if nxt.capital:
        return True
    model = bool(re.fullmatch(r"\d+[A-Za-z]*", nxt.text)) and _latin(toks[j].text) and toks[j].capital
    if not model:
        return False
    unit, _ = _unit_at(toks, j + 2) if j + 2 < len(toks) else (None, 0)
    return unit is None and _NUM_UNIT.match(nxt.text) is None or bool(re.fullmatch(r"\d+[A-Z]", nxt.text))


def _names(text: str, toks: list[Token], taken: set[int]) -> list[Mention]:
    """Runs of capitalised words, with what the words before them say they name."""
    table = names_table()
    orgs = table.get("org_before", frozenset())
    people = table.get("person_before", frozenset())
    out: list[Mention] = []
    n = len(toks)
    i = 0
    while i < n:
        if i in taken or not toks[i].capital or not toks[i].text[0].isalpha():
            i += 1
            continue
        # "Ngoại trưởng Lavrov", "Tổng thống Putin": a capitalised title is no name.
        title = next((m for m in (4, 3, 2) if i + m <= n and " ".join(t.low for t in toks[i : i + m]) in people), 0)
        if title and not toks[i + 1].capital:
            i += title
            # "Bộ trưởng Quốc phòng Mỹ Lloyd Austin": a ministry's name belongs to the title.
            if i + 2 < n and toks[i].capital and not toks[i + 1].capital and toks[i + 2].capital:
                i += 2
            continue
        # "Công ty Nanogen", "Học viện Quân y", "Bộ Y tế": an organisation's noun opens its name.
        org = next((m for m in (3, 2, 1) if i + m <= n and " ".join(t.low for t in toks[i : i + m]) in orgs), 0)
        j = i + org - 1 if org else i
        while j + 1 < n and j + 1 not in taken and _joins_name(text, toks, j):
            j += 1
        if org and j == i + org - 1:
            i = j + 1  # the noun alone ("Bộ …" is not followed by a name)
            continue
        if j == i and not org and vietnamese_syllable(toks[i].text) and not _latin(toks[i].text) and (
            i + 1 < n and not toks[i + 1].capital and toks[i + 1].low not in table.get("not_counted", ())
            and text[toks[i].end : toks[i + 1].start] == " "
        ):
            # "Căn cước công dân", "Quốc phòng": a capitalised first syllable of a common noun, no name
            # ("anh Tuấn cho biết": a given name is followed by a word of grammar).
            i += 1
            continue
        start = i
        gap = text[toks[i - 1].end : toks[i].start].strip() if i else ""
        opens = i == 0 or (gap[-1:] in {".", "!", "?", ":", '"', "“", "…"})
        words = [t.folded for t in toks[i : j + 1]]
        if opens and not org and " ".join(words) not in _places():
            single = j == i
            foreign = _latin(toks[i].text) and not vietnamese_syllable(toks[i].text)
            surname = toks[i].low in table.get("surnames", ())
            if (single and not foreign) or (not single and not (foreign or surname or _latin(toks[i].text))):
                start = i + 1  # a sentence's first word is capitalised whatever it is
        if start > j:
            i = j + 1
            continue
        # "Nga Sergey Lavrov", "Mỹ Lloyd Austin": a country before a person's name is the person's.
        lead = start
        # only before a person's full name ("Mỹ Lloyd Austin"), not in a name ("Barcelona Open")
        while not org and lead < j - 1 and toks[lead].low not in table.get("surnames", ()):
            known = next((m for m in (3, 2, 1) if lead + m < j and fold(" ".join(t.text for t in toks[lead : lead + m])) in _places()), 0)
            if not known:
                break
            lead += known
        if lead > start:
            s, e, span = _span(text, toks, start, lead - 1)
            out.append(Mention("placename", s, e, span, dimension="placename"))
        kind = "org" if org else _name_kind(toks, lead, j, titled=lead > start and _titled(toks, start))
        if kind == "place":  # "tại Geneva (Thụy Sĩ)": the country in brackets belongs to the place
            k = j + 1
            while k < n and toks[k].capital and text[toks[k - 1].end : toks[k].start].strip() in {"(", ""}:
                k += 1
            if k > j + 1 and text[toks[j].end : toks[j + 1].start].strip() == "(" and text[toks[k - 1].end :].lstrip().startswith(")") and (
                fold(" ".join(t.text for t in toks[j + 1 : k])) in _places()
            ):
                taken.update(range(j + 1, k))
                j = k - 1
                s, e, span = _span(text, toks, lead, j)
                e = text.index(")", e) + 1
                out.append(Mention(kind, s, e, text[s:e], dimension=kind))
                i = j + 1
                continue
        s, e, span = _span(text, toks, lead, j)
        out.append(Mention(kind, s, e, span, dimension=kind))
        i = j + 1
    return out


def _titled(toks: list[Token], i: int) -> bool:
    return bool(_phrase_before(toks, i, names_table().get("person_before", frozenset())))


def _name_kind(toks: list[Token], i: int, j: int, titled: bool = False) -> str:
    """person, place (after a word of place: "tại", "huyện"), placename (a known place named in
    passing), org or name (unknown), from the words right before the name and its own words."""
    table = names_table()
    words = [t.folded for t in toks[i : j + 1]]
    run = " ".join(words)
    if len(words) == 1 and toks[i].text.isupper() and len(toks[i].text) > 1:
        return "org"  # an acronym: NATO, UNDP, CLB ("cựu lãnh đạo NATO Anders Fogh Rasmussen")
    if titled:
        return "person"
    if _phrase_before(toks, i, table.get("place_before", frozenset())):
        return "place"  # "tại Paris", "huyện Long Thành": a place where something is
    if run in _places():
        return "placename"  # a known place, named in passing ("Bộ trưởng Quốc phòng Mỹ")
    if _phrase_before(toks, i, table.get("person_before", frozenset())):
        return "person"
    if toks[i].low in table.get("surnames", ()) and 2 <= len(words) <= 4 and not _latin(toks[i].text):
        return "person"  # "Bộ Công an Nguyễn Duy Ngọc": a Vietnamese full name, whatever is before it
    if _phrase_before(toks, i, table.get("org_before", frozenset())):
        return "org"
    if toks[i].low in table.get("surnames", ()) and 2 <= len(words) <= 4 and not _latin(toks[i].text):
        return "person"
    if all(_latin(t.text) for t in toks[i : j + 1]) and len(words) >= 2:
        return "name"  # "Bruno Fernandes", "Snapdragon 732G": a person, a product or a company
    return "name"
