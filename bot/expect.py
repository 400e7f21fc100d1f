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
from functools import cache, lru_cache

from bot.lexicon import STOPWORDS, TITLES
from bot.names import PLACE_BEFORE, asks_for_human, has_person
from bot.tables import read_table
from bot.text import fold, normalize, value_tokens, words

# Kinds whose value is unmistakable in text (a number, a date, a place after
# "tại/ở/tới", a person or organisation named in Latin script that the question
# does not name: bot.names.persons); missing from every good sentence, they
# justify a refusal.
STRICT_KINDS = frozenset(
    {"quantity", "money", "duration", "date", "place", "person", "percent", "measure", "age", "time", "minute", "score"}
)

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
    "percent": re.compile(r"\bwhat (percentage|percent|share|proportion)\b|\bhow many percent\b|\bby what percent|\bpercentage\b"),
    "age": re.compile(r"\bhow old\b|\b(what|which) age\b|\bat what age\b"),
    "time": re.compile(r"\bwhat time\b|\bat what hour\b|\bwhat hour\b"),
    "minute": re.compile(r"\b(which|what|in what|in which) minute\b|\bminute (did|was|of)\b"),
    "score": re.compile(r"\b(what|which) (was |is )?the (final )?score\b|\bby what score\b|\bwhat score\b|\bscoreline\b"),
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
    "place": re.compile(
        r"\b(o dau|tai dau|den dau|toi dau|noi nao|dia diem nao|thanh pho nao|nuoc nao|quoc gia nao|thu do nao"
        r"|tinh nao|huyen nao|duong nao|san nao|san bay nao|khu vuc nao|vung nao|dia phuong nao)\b"
    ),
    "percent": re.compile(r"\bbao nhieu (phan tram|%)|\b(ty le|ti le)\b.*\bbao nhieu\b|\bphan tram\b"),
    "age": re.compile(r"\b(bao nhieu|may) tuoi\b"),
    "time": re.compile(r"\b(luc|vao|vao luc|tu|den|toi|truoc|sau) (may|bao nhieu) gio\b|\bmay gio (sang|chieu|toi|dem)\b"),
    "minute": re.compile(r"\bphut (thu )?(may|bao nhieu|nao)\b"),
    "score": re.compile(r"\b(ty|ti) so\b"),  # "thắng" (won) folds like "tháng" (month): only "tỷ số"
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
    # What an amount measures (bot/data/dimensions.tsv): "how deep" -> length, "giá" -> money.
    dimensions: frozenset[str] = frozenset()
    # The counted thing of "how many X" / "bao nhiêu X", as typed (folded words), and an English
    # one's Vietnamese spellings (folded syllables, bot.glossary): a count must be of it.
    noun: tuple[str, ...] = ()
    noun_vi: tuple[tuple[str, ...], ...] = ()
    # The question's words that said what an amount measures, as Vietnamese phrases written with
    # their diacritics ("fined" -> phạt, tiền phạt…; "giá"), folded only when typed without them:
    # a fine is not a house's price. Generic ones ("tiền", "how much") are left out
    # (bot/data/dimensions.tsv marks them).
    cues: tuple[tuple[str, ...], ...] = ()

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
    # Names are never question words: "Việt Nam nào" folds to "… nam nao", as "năm nào" (which year).
    typed = re.findall(r"\w+", normalize(question))
    folded = " ".join("_" if i and w[:1].isupper() else fold(w) for i, w in enumerate(typed))
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
    dims, cues = _dimensions(text, folded) if not _asks_other_than_amount(kinds, text, folded) else (set(), [])
    noun_asked = _counted(text, folded) if _asks_plain_count(text, folded) else ()
    if noun_asked and not _names_dimension(noun_asked):
        # "How many infrastructure works has the district invested in?": a count of works; the
        # dimension words elsewhere ("invested") say what the works are about, not the answer's unit.
        dims, cues = set(), []
    if dims:
        # "How deep was the snow?", "giá bao nhiêu": an amount of what the question measures.
        kinds |= {d for d in dims if d in {"money", "percent", "age"}}
        if dims - {"money", "percent", "age"}:
            kinds.add("measure")
        if not _asks_plain_count(text, folded):
            kinds.discard("quantity")
    if "time" in kinds:
        kinds -= {"duration", "quantity"}  # "lúc mấy giờ": a time of day, not a duration or a count
    if "minute" in kinds:
        kinds -= {"duration", "quantity"}
    if "date" in kinds and _WHEN_CLAUSE.search(text):
        kinds.discard("date")  # "When father and son met in 1968, which regiment…?": "when" opens a clause
    if "score" in kinds:
        kinds.discard("quantity")  # "tỷ số bao nhiêu": a score, not a count
    if _LONG_COPULA.search(text):
        kinds.add("measure")  # "How long was the tunnel?": a length, or a duration
        dims.add("length")
    if "percent" in kinds and not _asks_plain_count(text, folded):
        kinds.discard("quantity")
    # A money or duration question is not also a bare count: "how much … pay" needs a currency.
    if kinds & {"money", "duration"} and not _asks_plain_count(text, folded):
        kinds.discard("quantity")
    units = _units(text, folded) if "quantity" in kinds else ()
    time_units = _time_units(text, folded) if "duration" in kinds else ()
    year_only = "date" in kinds and bool(_YEAR_ASKED.search(text) or _YEAR_ASKED.search(folded))
    noun = _counted(text, folded) if "quantity" in kinds else ()
    return Expectation(
        frozenset(kinds), units, time_units, year_only, frozenset(fold(t) for t in words(question)), question,
        frozenset(dims), noun, _in_vietnamese(noun) if noun and not _is_vietnamese(text) else (), tuple(cues),
    )


_WHEN_CLAUSE = re.compile(r"^when\b[^?]*,\s*(which|what|who|whom|where|how)\b")
_AMOUNT_ASKED = re.compile(r"\bhow (much|many|\w+)\b|\bbao nhieu\b|\bmay\b|\bwhat (is|was|are|were) the\b|\bla gi\b")


def _asks_other_than_amount(kinds: set[str], text: str, folded: str) -> bool:
    """"On what date had the price cut taken place?": a date is asked; "price" says what about."""
    return bool(kinds & {"date", "time", "person", "place", "minute"}) and not (
        _AMOUNT_ASKED.search(text) or _AMOUNT_ASKED.search(folded)
    )


_LONG_COPULA = re.compile(r"\bhow long (is|was|are|were)\b(?!.*\b(last|lasted|take|took)\b)")


def _names_dimension(noun: tuple[str, ...]) -> bool:
    """Is the counted noun itself a unit or a dimension ("how many GB", "bao nhiêu km")?"""
    from bot.values import units

    exact, folded = units()
    table = _dimension_words()
    return any((w,) in folded or (w,) in table["en"] or (w,) in table["vi_folded"] for w in noun)


# A question asks for an amount: only then does a word like "price" or "sâu" say what it measures.
_ASKS_AMOUNT = re.compile(r"\bhow\b|\bwhat\b|\bwhich\b|\bbao nhieu\b|\bmay\b|\bla gi\b|\bnhu the nao\b|\bbao xa\b")


@cache
def _dimension_words() -> dict[str, dict[tuple[str, ...], frozenset[str]]]:
    """{"en": English phrases, "vi": Vietnamese as written, "vi_folded": the same folded} -> dimensions."""
    out: dict[str, dict[tuple[str, ...], frozenset[str]]] = {"en": {}, "vi": {}, "vi_folded": {}}
    for key, dims in read_table("dimensions.tsv").items():
        lang, _, phrase = key.partition(":")
        out[lang][tuple(phrase.lower().split())] = frozenset(dims)
        if lang == "vi":
            out["vi_folded"][tuple(fold(phrase).split())] = frozenset(dims)
    return out


_AMOUNT_WORDS = ("bao nhiêu", "mấy", "bao nhieu", "may")


def _dimensions(text: str, folded: str) -> tuple[set[str], list[tuple[str, ...]]]:
    """The dimensions the question's words measure ("how deep" -> length, "giá bao nhiêu" -> money,
    "tại km bao nhiêu", "in mAh" -> the unit's), when it asks for an amount (bot/data/dimensions.tsv,
    units.tsv)."""
    if not (_ASKS_AMOUNT.search(text) or _ASKS_AMOUNT.search(folded)):
        return set(), []
    typed_plain = fold(text) == text  # typed without diacritics: read folded
    found: set[str] = _asked_units(text)
    cues: list[tuple[str, ...]] = []
    asked_by_how: set[str] = set()
    for lang, tokens in (("en", re.findall(r"[\w\-]+", text)), ("vi_folded" if typed_plain else "vi", text.split())):
        tokens = [t.strip("?.,!:;\"'“”()") for t in tokens]
        table = _dimension_words()[lang]
        previous: frozenset[str] = frozenset()
        last = -2
        i = 0
        while i < len(tokens):
            for n in (3, 2, 1):
                phrase = tuple(tokens[i : i + n])
                dims = table.get(phrase)
                if not dims:
                    continue
                if lang != "en" and n == 1 and i > 0:
                    # "giá" of "đánh giá", "cao" of "cao tốc": a one-syllable word measures only
                    # as the question's first word or right before "bao nhiêu" / "mấy".
                    after = " ".join(tokens[i + 1 : i + 4])
                    if not any(after.startswith(w) or after.startswith("là " + w) or after.startswith("la " + w)
                               for w in _AMOUNT_WORDS):
                        continue
                dims = dims - {"generic"} or dims
                if lang == "en" and phrase[0] == "how":
                    asked_by_how |= dims  # "how close", "how deep": what is asked, whatever else is named
                if last == i - 1 and found & dims and previous:
                    # "battery capacity": two words of one noun measure what both measure
                    found = (found - previous) | (previous & dims)
                else:
                    found |= dims
                previous, last = dims, i + n - 1
                if "generic" not in table.get(phrase, ()):
                    cues.extend(_cue_spellings(lang, phrase))
                i += n - 1
                break
            i += 1
    found.discard("generic")
    return (asked_by_how or found), list(dict.fromkeys(cues))


def _cue_spellings(lang: str, phrase: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A dimension word as the articles would write it, folded: itself in Vietnamese, its
    Vietnamese spellings in English (bot.glossary), the "how" left out ("how deep" -> sâu)."""
    from bot.glossary import vietnamese_phrases
    from bot.text import lexical_tokens

    if lang != "en":
        return [tuple(w.lower() for w in phrase)]  # as typed: with diacritics where it has them
    words = tuple(lexical_tokens(" ".join(w for w in phrase if w != "how")))
    return [p for word in vietnamese_phrases(words, folded=False) for p in word]


# A unit the question names: right before or after the amount asked ("km bao nhiêu", "bao nhiêu
# km", "how many GB"), or after "in" ("in mAh"). Days, years and money are read elsewhere.
_UNIT_BEFORE = re.compile(r"(\S+)\s+(?:là\s+|la\s+)?(?:bao nhiêu|bao nhieu|mấy)")
_UNIT_AFTER = re.compile(r"(?:bao nhiêu|bao nhieu|mấy|how many|how much|\bin)\s+(\S+)")


def _asked_units(text: str) -> set[str]:
    from bot.values import units

    exact, folded = units()
    found = set()
    for m in [*_UNIT_BEFORE.finditer(text), *_UNIT_AFTER.finditer(text)]:
        word = m.group(1).strip("?.,!:;")
        unit = exact.get((word,)) or (folded.get((fold(word),)) if len(word) > 1 else None)
        if unit is not None and unit.dimension not in {"duration", "money", "age"} and word.lower() not in {"in", "m", "l", "g", "w", "ha"}:
            found.add(unit.dimension)
    return found


def _is_vietnamese(text: str) -> bool:
    from bot.lang import detect_language

    return detect_language(text) == "vi"


# Words that end the counted noun of "how many X …" / "bao nhiêu X …".
_NOUN_STOP_EN = re.compile(
    r"^(did|does|do|is|are|was|were|has|have|had|will|would|can|could|in|of|on|at|for|to|by|with|from|there|that|"
    r"which|who|the|a|an|per|each|during|after|before|than|as)$"
)


# Words that end a counted noun typed without diacritics: function words no noun folds to (the
# stop list has "ho", which is also "hồ" of "hồ sơ").
_PLAIN_STOPS = frozenset(
    ["la", "thi", "va", "cua", "duoc", "da", "se", "dang", "o", "tai", "trong", "khi", "voi", "cho", "tu", "den", "nhu", "nay", "do", "nao", "khong", "chua", "bi", "ra", "vao", "len", "xuong", "theo", "ma", "nen", "neu", "vi", "nguoi", "tien", "lan", "moi"]
)
_NOUN_STOP_EN_VERB = re.compile(r"^\w+ed$")  # "how many people died": a past tense ends the noun


@cache
def _english_verbs() -> frozenset[str]:
    return frozenset(read_table("question_words.tsv").get("en_verbs", []))


def _counted(text: str, folded: str) -> tuple[str, ...]:
    """The counted noun of "how many new Covid-19 cases did…" (new, covid-19, cases) or of
    "bao nhiêu phòng", "mấy lựa chọn màu" (folded syllables); () when none is said.

    A Vietnamese question is read with its diacritics when it has them: "cổ phiếu" folds to the
    "co" of "có" (has), which would end the noun before it starts."""
    m = re.search(r"\bhow many\s+(.+)", text)
    if m:
        out = []
        for word in re.findall(r"[\w\-']+", m.group(1))[:7]:
            if word in {"and", "or"} and out:
                out.append(word)  # "economic and social infrastructure works": one noun, its head last
                continue
            if _NOUN_STOP_EN.match(word) or (out and (_NOUN_STOP_EN_VERB.match(word) or word in _english_verbs())):
                break
            out.append(word)
        while out and out[-1] in {"and", "or"}:
            out.pop()
        return tuple(out)
    from bot.values import names_table

    plain = fold(text) == text
    source = folded if plain else " ".join(re.findall(r"\w+", text))
    m = re.search(r"\b(?:bao nhieu|may|so luong|bao nhiêu|mấy|số lượng)\s+(.+)", source)
    if not m:
        return ()
    stops = _PLAIN_STOPS if plain else (
        names_table().get("not_counted", frozenset()) | {"là", "thì", "người", "tiền", "lần"}
    )
    out = []
    for word in m.group(1).split()[:4]:
        if word in stops:
            break
        out.append(fold(word))
    return tuple(out)


def _in_vietnamese(noun: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """An English counted noun's Vietnamese spellings (bot.glossary), its last word (the head) first."""
    from bot.glossary import vietnamese_phrases
    from bot.text import lexical_tokens

    head = tuple(lexical_tokens(noun[-1]))
    found = vietnamese_phrases(head) or vietnamese_phrases(tuple(t.rstrip("s") for t in head))
    return tuple(p for word in found for p in word)


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


# -- which stated values answer (bot.values) --------------------------------------------------

def _noun_fit(m, exp: Expectation, noun: str | None = None) -> int:
    """2: the counted noun is the one asked about; 1: the question names none; 0: it cannot be
    told (an English noun no table translates); -1: another noun.

    An English noun counts through its Vietnamese spellings (bot.glossary, counted_nouns.tsv); a
    Vietnamese one by a syllable the two share ("lựa chọn màu" is counted in "phiên bản màu sắc").
    """
    from bot.text import lexical_tokens

    if not exp.noun and not exp.units:
        return 1
    counted = f" {' '.join(lexical_tokens(m.unit if noun is None else noun))} "
    if _is_vietnamese(exp.question):
        wanted = [[w] for w in exp.noun if w not in STOPWORDS]
    else:
        wanted = [u.split() for u in exp.units] + [list(p) for p in exp.noun_vi]
    if not wanted:
        return 0
    return 2 if any(f" {' '.join(w)} " in counted for w in wanted) else -1


def _given_by_question(m, exp: Expectation) -> bool:
    """Does the question itself state this value ("Doanh thu 400 tỷ đồng … tương ứng với bao nhiêu
    vé?") or name this place ("… before Barcelona?" is not answered by "Barcelona Open")?"""
    if m.number:
        numbers = re.findall(r"\d+(?:[.,]\d+)*", m.number) or [m.number.lower()]
        return all(fold(n) in exp.question_tokens for n in numbers)
    if m.kind in {"place", "placename"}:
        return any(fold(t) in exp.question_tokens for t in re.findall(r"\w+", m.text) if len(t) > 2)
    return False


def fit(m, kind: str, exp: Expectation) -> int:
    """How well mention `m` answers the asked `kind`: 2 of the very unit / noun / dimension
    asked, 1 of the kind (nothing more asked), 0 of the kind but not verifiable, -1 not at all."""
    if _given_by_question(m, exp):
        return -1
    if kind == "quantity":
        if m.kind == "count":
            return _noun_fit(m, exp)
        if m.kind == "measure" and m.of and exp.noun:
            return _noun_fit(m, exp, m.of)  # "bao nhiêu vàng": "4 - 5 chỉ vàng"
        if m.kind in {"measure", "money", "percent"} and not exp.noun:
            return 1
        return -1
    if kind == "money":
        return 2 if m.kind == "money" else -1
    if kind == "percent":
        return 2 if m.kind == "percent" else -1
    if kind == "age":
        return 2 if m.kind == "age" else -1
    if kind == "measure":
        if m.kind != "measure":
            return -1
        return 2 if m.dimension in exp.dimensions else (1 if not exp.dimensions else -1)
    if kind == "duration":
        if m.kind != "duration":
            return -1
        if exp.time_units:
            return 2 if fold(m.unit) in {fold(u) for u in exp.time_units} else -1
        return 1
    if kind in {"time", "minute", "score"}:
        return 2 if m.kind == kind or (kind == "time" and m.kind == "date" and re.search(r"\d+h|\bgiờ\b", m.text)) else -1
    if kind == "date":
        if m.kind not in {"date", "time"}:
            return -1
        numbers = re.findall(r"\d+(?:/\d+)*", m.text)
        if numbers and all(n in exp.question_tokens for n in numbers):
            return -1  # the question's own date
        if exp.year_only and not re.search(r"(19|20)\d\d", m.text):
            return -1
        return 1
    if kind == "place":
        # "tại Paris" answers where; a country named in passing ("Bộ trưởng Quốc phòng Mỹ") may not.
        return 1 if m.kind == "place" else 0 if m.kind == "placename" else -1
    return -1



def _mentioned(kind: str):
    """A check that the sentence states a value of `kind` that may answer (bot.values)."""

    def check(sentence: str, exp: Expectation) -> bool:
        from bot.values import mentions

        # A count of a thing no table translates may answer; a country named in passing is no place.
        least = 0 if kind == "quantity" else 1
        return any(fit(m, kind, exp) >= least for m in mentions(sentence))

    return check


def _either(old, kind: str):
    new = _mentioned(kind)
    return lambda sentence, exp: old(sentence, exp) or new(sentence, exp)


def _counts(sentence: str, exp: Expectation) -> bool:
    """A count of the thing asked about. When the counted noun can be told (its Vietnamese words are
    known), a count of it is needed, not any number ("100.000 năm" is no count of footprints)."""
    if exp.noun and (exp.noun_vi or _is_vietnamese(exp.question)):
        from bot.values import mentions

        return any(fit(m, "quantity", exp) >= 1 for m in mentions(sentence))
    return has_quantity(sentence, exp) or _mentioned("quantity")(sentence, exp)


_CHECKS = {
    "quantity": _counts,
    "money": _either(has_money, "money"),
    "duration": _either(has_duration, "duration"),
    "date": _either(has_date, "date"),
    "person": lambda sentence, exp: has_person(sentence, exp.question),
    "place": _either(has_place, "place"),
    **{kind: _mentioned(kind) for kind in ("percent", "measure", "age", "time", "minute", "score")},
}


def exactly(sentence: str, exp: Expectation) -> frozenset[str]:
    """The asked-for kinds this sentence states a value of in the very unit, dimension or noun asked
    ("90 Hz" for a refresh rate, "554 tình nguyện viên" for how many volunteers)."""
    from bot.values import mentions

    found = mentions(sentence)
    return frozenset(k for k in exp.kinds if k in NUMERIC_KINDS and any(fit(m, k, exp) == 2 for m in found))


# The kinds whose value has a unit or a noun to match (a person's or a place's has none).
NUMERIC_KINDS = frozenset({"quantity", "money", "percent", "measure", "age", "duration", "time", "minute", "score"})


def satisfied(sentence: str, exp: Expectation) -> frozenset[str]:
    """The asked-for kinds this sentence holds a value of."""
    return frozenset(kind for kind in exp.kinds if _CHECKS[kind](sentence, exp))
