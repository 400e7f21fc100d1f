"""Names in Latin script in a Vietnamese sentence, and which of them answer "who".

The articles write foreign people and organisations in Latin script ("Sergei
Lavrov", "OSCE"), so a run of capitalised words without Vietnamese diacritics
is a name. Both the answer-kind check (bot.expect: does a sentence hold a
person?) and the short answer (bot.short: which one?) read them here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.anchors import anchors
from bot.lexicon import STOPWORDS
from bot.tables import read_table
from bot.text import fold, normalize, words

_NAME_TOKEN = re.compile(r"[A-ZĐ][\w'’]*(?:[.\-][\w'’]+)*")
# A place in Vietnamese prose follows a preposition of place: "tại Geneva", "tới vùng Khabarovsk Krai"
# (a noun for a place may stand between). "về" alone is "about" far more often than "to": only
# "về phía" (towards). bot.expect reads a place the same way.
PLACE_PREPOSITIONS = ("tại", "ở", "tới", "đến", "sang", "từ", "về phía", "xuống")
PLACE_BEFORE = (
    rf"\b(?:{'|'.join(PLACE_PREPOSITIONS)})\s+(?:(?:thủ đô|thành phố|vùng|tỉnh|nước|khu vực|thủ phủ|bang|miền)\s+)?"
)
PLACE_PREP = re.compile(
    PLACE_BEFORE
    + r"((?:[A-ZĐ][\w\-]*)(?:\s+[A-ZĐ][\w\-.]*)*)(\s*\([^)]{1,40}\))?((?:\s*(?:,|và)\s*(?:[A-ZĐ][\w\-]*)(?:\s+[A-ZĐ][\w\-]*)*)*)"
)
_PLACE_WORDS = frozenset(fold(p) for p in PLACE_PREPOSITIONS if " " not in p)
# "Who is Wendy Sherman?" / "… là ai?": asks for the role of a person the question names.
_WHO_IS = re.compile(r"^\s*who (is|was)\b|\bla ai\b")


@cache
def titles() -> dict[str, str]:
    """Folded Vietnamese title -> English (bot/data/titles.tsv)."""
    return {fold(k): v[0] for k, v in read_table("titles.tsv").items() if v}


@cache
def _not_names() -> frozenset[str]:
    return frozenset(read_table("not_names.tsv")) | STOPWORDS | _places()


@cache
def _places() -> frozenset[str]:
    return frozenset(w for spellings in read_table("exonyms.tsv").values() for s in spellings for w in s.split())


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


@lru_cache(maxsize=256)
def _given(question: str) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """The question's tokens and its names of several words: read once per question, not per sentence."""
    return frozenset(fold(t) for t in words(question)), tuple(a for a in anchors(question) if len(a) > 1)


def _named_by(name: Name, question_tokens: frozenset[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
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
    spans = []
    for m in PLACE_PREP.finditer(text):
        end = m.end(3) if m.group(3) else m.end(2) if m.group(2) else m.end(1)
        spans.append((m.start(1), _known_place_end(m.group(1), m.start(1)) or end))
    return spans


def _known_place_end(run: str, offset: int) -> int | None:
    """Where a known place that opens a run of capitalised words ends, when other names follow it:
    in "tại Anh Andrei Kelin" the place is "Anh", and Andrei Kelin is a person."""
    tokens = list(re.finditer(r"\S+", run))
    known = 0
    while known < len(tokens) and fold(tokens[known].group(0)) in _places():
        known += 1
    if 0 < known < len(tokens):
        return offset + tokens[known - 1].end()
    return None


def _modifier(text: str, name: Name, roles: frozenset[str] = frozenset()) -> bool:
    """Is the name only a modifier, not an actor? After "của" (of: "phát ngôn viên của Tổng thống
    Putin", Putin's spokesman) or the whole of a parenthesis (a gloss: "Hiệp ước Bắc Đại Tây Dương (NATO)").

    `roles`: the nouns for a person the question asks by (`asked_roles`). A name titled with one
    answers it even as a source: "theo Đại sứ Nga tại Anh Andrei Kelin" names the ambassador."""
    before = fold(text[max(0, name.start - 60) : name.start]).split()
    changed = True
    while before and changed:
        changed = False
        while before and before[-1] in _places():
            before.pop()
            changed = True
            if before and before[-1] in _PLACE_WORDS:  # "Đại sứ Nga tại Anh": a title's place
                before.pop()
        for t, english in titles().items():
            n = len(t.split())
            if " ".join(before[-n:]) == t:
                if t in roles or english.lower() in roles:
                    return False
                del before[-n:]
                changed = True
                break
    if before and before[-1] in {"cua", "theo"}:  # "của X": X's; "theo X": according to X (a source)
        return True
    return text[max(0, name.start - 1) : name.start] == "(" and text[name.end : name.end + 1] == ")"


@cache
def _asks_human() -> re.Pattern:
    """The question's own slot is a noun for a human being ("which diplomat", "nhà ngoại giao nào",
    "phát ngôn viên … tên là gì"); a title elsewhere in it ("Who did President Putin call?") is not."""
    table = read_table("question_words.tsv")
    nouns = sorted(set(table["person_nouns"]) | set(table.get("job_roles", [])), key=len, reverse=True)
    n = "(?:" + "|".join(re.escape(x) for x in nouns) + ")"
    return re.compile(
        rf"\bwhich (?:\w+ ){{0,2}}{n}\b|\bwho (?:is|was|are|were) (?:the )?(?:\w+ ){{0,2}}{n}\b"
        rf"|\bai (?:la|lam) {n}\b|\bname of (?:the )?(?:\w+ ){{0,3}}{n}\b|\b{n}(?: \w+){{0,2}} nao\b|\b{n}(?: \w+){{0,4}} ten (?:la )?gi\b"
    )


@lru_cache(maxsize=256)
def asked_roles(question: str) -> frozenset[str]:
    """The nouns for a person the question asks by ("đại sứ", "spokesperson"), folded; none
    when it does not ask for a person by one (`asks_for_human`)."""
    if not asks_for_human(question):
        return frozenset()
    folded = f" {' '.join(fold(t) for t in words(question))} "
    table = read_table("question_words.tsv")
    return frozenset(n for n in {*table["person_nouns"], *table.get("job_roles", [])} if f" {n} " in folded)


@lru_cache(maxsize=256)
def asked_jobs(question: str) -> frozenset[str]:
    """The jobs the question asks a person by ("referee", "thủ môn"), folded: the answer must be
    named with one (question_words.tsv job_roles)."""
    return asked_roles(question) & frozenset(read_table("question_words.tsv").get("job_roles", []))


@lru_cache(maxsize=256)
def asks_for_human(question: str) -> bool:
    """Does the question ask for a person by a noun for one ("which diplomat", "người phát ngôn nào")?"""
    return bool(_asks_human().search(" ".join(fold(t) for t in words(question))))


def persons(sentence: str, question: str) -> list[Name]:
    """People and organisations the sentence names as actors, that the question does not name.

    Organisations (acronyms) only when the question does not ask for a human being.
    """
    q_tokens, phrases = _given(question)
    text = normalize(sentence)
    places = _place_spans(sentence)
    human = asks_for_human(question)
    roles = asked_roles(question)
    out = []
    for n in names(sentence):
        if human and n.acronym:
            continue
        if any(s <= n.start < e for s, e in places) and not n.titled:
            continue
        if _modifier(text, n, roles):
            continue
        if not n.person_like or _named_by(n, q_tokens, phrases):
            continue
        out.append(n)
    return out


def has_person(sentence: str, question: str) -> bool:
    """For "who…": a person or organisation the question does not already name, or, for
    "Who is Wendy Sherman?", the name it gives with its title ("Thứ trưởng Ngoại giao Mỹ Wendy Sherman")."""
    if persons(sentence, question):
        return True
    if not _WHO_IS.search(fold(question)):
        return False
    q_tokens, phrases = _given(question)
    text = normalize(sentence)
    return any(
        n.titled and not _modifier(text, n) and _named_by(n, q_tokens, phrases) for n in names(sentence)
    )
