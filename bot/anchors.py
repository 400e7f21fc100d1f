"""The names, numbers and dates a question is about, and whether a text holds them.

An answer must be about what the question names: a question about "Macron" is
not answered by a passage about Putin, however similar their embeddings. Used
by the evidence judge, the citation check, follow-ups and the short answer.
"""

from __future__ import annotations

import re
from functools import cache

from bot.lexicon import STOPWORDS, TITLES
from bot.tables import read_table
from bot.text import fold, normalize, vietnamese_syllable, words

_NUMERIC = re.compile(r"\d")


def anchors(question: str) -> list[tuple[str, ...]]:
    """Names, numbers and dates in a question, folded: what an answer must be about.

    Consecutive capitalised words form one name ("Hà Nội" is one place, not the
    common syllables "hà" and "nội"). A capitalised first word is not taken for
    a name (every question starts with one) unless it is an acronym, a word no
    Vietnamese syllable spells and no English function word is ("Pogba ghi bàn…",
    "Huawei…"), or the first of several capitalised words ("Rupert Grint…").
    """
    phrases: list[tuple[str, ...]] = []
    current: list[str] = []
    raw: list[str] = []
    for token in re.findall(r"\w+(?:[/.\-]\w+)*", normalize(question)):
        # "NATO-Russia" names two things, "S-400" and "21/1" one.
        raw.extend([token] if _NUMERIC.search(token) else [p for p in token.split("-") if p])
    raw = _dates_as_written(raw)
    for i, token in enumerate(raw):
        folded = fold(token)
        is_number = bool(_NUMERIC.search(token))
        is_name = (i > 0 and token[0].isupper()) or (len(token) > 1 and token.isupper()) or (i == 0 and _opens_with_name(raw))
        if (is_name or is_number) and folded not in STOPWORDS | TITLES:
            if is_number:
                phrases.append((_canonical_date(folded),))
            else:
                current.append(folded)
                continue
        if current:
            phrases.append(tuple(current))
            current = []
    if current:
        phrases.append(tuple(current))
    return list(dict.fromkeys(phrases))


def _opens_with_name(raw: list[str]) -> bool:
    """Is a question's capitalised first word a name? In a Vietnamese question, one no Vietnamese
    syllable spells ("Pogba ghi bàn…": English words are not that); in either language, one that
    opens a run of capitalised words ("Rupert Grint…", "Long An…")."""
    from bot.lang import detect_language

    first = raw[0]
    if not first[:1].isupper() or fold(first) in STOPWORDS | TITLES:
        return False
    if len(raw) > 1 and raw[1][:1].isupper() and fold(raw[1]) not in STOPWORDS | TITLES:
        return True
    vietnamese = detect_language(" ".join(raw)) == "vi"
    return vietnamese and fold(first) == first.lower() and first.isalpha() and not vietnamese_syllable(first)


# A name right after one of these words is where or when the asked thing happened ("ở Sa Pa",
# "in Spain", "tại Geneva"): the article a sentence comes from may name it instead of the sentence.
_SETTING_BEFORE = re.compile(r"\b(?:ở|tại|trong|o|tai|in|at|from|inside)\s+(?:the\s+)?$", re.I)  # "o", "tai": typed plain


def settings(question: str) -> list[tuple[str, ...]]:
    """The question's names of a place it is set in ("ở Sa Pa", "in Spain"): a subset of `anchors`."""
    text = normalize(question)
    out = []
    for a in anchors(question):
        if any(c.isdigit() for c in " ".join(a)):
            continue
        m = re.search(r"\b" + r"\W+".join(map(re.escape, a)) + r"\b", fold(text))
        if m and _SETTING_BEFORE.search(text[: m.start()]):
            out.append(a)
    return out


def _months() -> dict[str, int]:
    """English month names and their short forms -> month number, from the `month:` rows of
    bot/data/short_words.tsv (which also render "21/1" as "21 January")."""
    out: dict[str, int] = {}
    for key, (name, *_) in read_table("short_words.tsv").items():
        if key.startswith("month:"):
            n, name = int(key.partition(":")[2]), name.lower()
            out |= {name: n, name[:3]: n}
    return out | {"sept": 9}


_MONTHS = _months()


def _dates_as_written(tokens: list[str]) -> list[str]:
    """"10 January" and "January 10" become "10/1", as the articles write a date: the day
    alone would be any 10 (and "10/1" would not be found by its day)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        month = _MONTHS.get(tokens[i + 1].lower()) if i + 1 < len(tokens) else None
        if token.isdigit() and 1 <= int(token) <= 31 and month:
            out.append(f"{int(token)}/{month}")
            i += 2
            continue
        day = tokens[i + 1] if i + 1 < len(tokens) else ""
        if _MONTHS.get(token.lower()) and token[0].isupper() and day.isdigit() and 1 <= int(day) <= 31:
            out.append(f"{int(day)}/{_MONTHS[token.lower()]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _canonical_date(token: str) -> str:
    return words(token)[0] if words(token) else token


@cache
def exonyms() -> dict[str, list[str]]:
    """English place names -> their Vietnamese spellings (folded): bot/data/exonyms.tsv (the
    seeds' places), then bot/data/places.tsv (countries, nationalities, cities, provinces)."""
    return {**read_table("places.tsv"), **read_table("exonyms.tsv")}


def soft(phrase: tuple[str, ...], lang: str) -> bool:
    """Is this capitalised phrase of an English question made mostly of common English words
    ("Department of Home Affairs", "Public Security", "Festival")? Then it is the English for a Vietnamese name,
    found by its Vietnamese words (bot.glossary) or not at all: a question is never refused for
    the articles not writing it in English."""
    if lang != "en" or " ".join(phrase) in exonyms() or any(c.isdigit() for w in phrase for c in w):
        return False
    from bot.glossary import known_english

    return 2 * sum(known_english(w) for w in phrase) >= len(phrase)


def found_softly(phrase: tuple[str, ...], text_tokens: str) -> bool:
    """Does the text hold the Vietnamese words of a soft phrase (`soft`)?"""
    from bot.glossary import vietnamese_phrases

    return any(f" {' '.join(p)} " in text_tokens for word in vietnamese_phrases(phrase) for p in word)


def required(phrases: list[tuple[str, ...]], text_tokens: str, lang: str) -> list[tuple[str, ...]]:
    """The names an answer must be about. A soft phrase (`soft`) the text does not hold in
    Vietnamese says nothing either way, and is left out, but for its words no English table knows:
    "Louvre Museum" must still name the Louvre."""
    from bot.glossary import known_english

    out = []
    for a in phrases:
        if not soft(a, lang) or found_softly(a, text_tokens):
            out.append(a)
        elif rest := tuple(w for w in a if not known_english(w)):
            out.append(rest)
    return out


def anchor_found(phrase: tuple[str, ...], text_tokens: str, vocabulary: set[str], lang: str) -> bool:
    """Is this name or number in the retrieved text?

    Vietnamese questions spell names as the articles do, so the whole name must
    occur. English questions name places in English ("Finland" for "Phần Lan")
    and add titles the articles word differently ("President Putin" for "Tổng
    thống Nga Vladimir Putin"), so there an exonym or one distinctive word of
    the name is enough, and titles alone are no name.
    """
    # "NATO-Nga" is one token of the text and two words of the name.
    if f" {' '.join(phrase)} " in text_tokens or (len(phrase) > 1 and f" {'-'.join(phrase)} " in text_tokens):
        return True
    if lang != "en":
        return False
    if soft(phrase, lang):
        return found_softly(phrase, text_tokens)
    spellings = exonyms().get(" ".join(phrase), []) + [s for t in phrase for s in exonyms().get(t, [])]
    if any(f" {s} " in text_tokens for s in spellings):
        return True
    return len(phrase) > 1 and any(t in vocabulary and len(t) > 2 and t not in STOPWORDS | TITLES for t in phrase)
