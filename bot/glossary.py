"""An English question's words under their Vietnamese spellings, for the lexical signals.

The articles are Vietnamese. An English question shares only names and
numbers with them, so BM25 and the evidence judge's word overlap could not
see that "drill" is "tập trận" or "warned" is "cảnh báo"; only the
embedding could, and multilingual-e5-small is weak across languages.
Two tables map English words to the Vietnamese words for them:
bot/data/en_vi.tsv, a general lexicon of news vocabulary (3,400 entries
written from general knowledge of both languages, for any corpus: prices,
units, roles, sport, health, traffic…), and bot/data/glossary.tsv, the
vocabulary of the seed articles (read from them, not from any eval
question), which wins where both have a word. An English question's phrases
(longest first) and words found there become extra terms: for each, its
folded Vietnamese phrases, each a tuple of syllables, because Vietnamese
words are written as separate syllables ("tap tran"). BOT_GLOSSARY=0 and
BOT_LEXICON=0 leave either out (to measure what each brings).
"""

from __future__ import annotations

from functools import cache

from bot.lexicon import STOPWORDS
from bot.tables import read_table
from bot.text import lexical_tokens, words

Table = dict[tuple[str, ...], tuple[tuple[str, ...], ...]]


def _glossary(folded: bool = True) -> Table:
    """English words (folded tokens) -> their Vietnamese phrases (folded syllables, or as written),
    from the tables the settings switch on."""
    from bot.settings import get_settings

    settings = get_settings()
    names = (("glossary.tsv",) if settings.glossary else ()) + (("en_vi.tsv",) if settings.lexicon else ())
    return _tables(names, folded)


@cache
def _tables(names: tuple[str, ...], folded: bool = True) -> Table:
    """The tables merged, the first named winning where two have a word; the Vietnamese folded
    (BM25's syllables), or as written, lower case with their diacritics ("phạt" a fine is not
    "phát" of "phát triển": what ties a value to an English question's word)."""
    out: Table = {}
    for english, spellings in (item for name in reversed(names) for item in read_table(name).items()):
        key = tuple(lexical_tokens(english))
        if all(t in STOPWORDS for t in key):
            continue  # "said", "told": in nearly every sentence, they would only add noise
        read = lexical_tokens if folded else words
        phrases = tuple(dict.fromkeys(tuple(read(s)) for s in spellings))
        if key and phrases:
            out[key] = tuple(p for p in phrases if p)
    return out


def vietnamese_phrases(tokens: tuple[str, ...], folded: bool = True) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """For each English word or phrase of the question found in the glossary, its Vietnamese
    phrases (the alternatives for one word stay together: "meeting" is "cuộc gặp" or "cuộc
    họp", and a sentence holding both holds one word of the question, not two).

    "security guarantees" is looked up whole before "security" and
    "guarantees" alone: a phrase's translation is not its words' one. `folded`: the Vietnamese
    folded (for BM25), or as written (to tell "phạt" from "phát").
    """
    table = _glossary(folded)
    longest = max(map(len, table), default=1)
    found: list[tuple[tuple[str, ...], ...]] = []
    i = 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            phrases = table.get(tokens[i : i + n])
            if phrases:
                found.append(phrases)
                i += n
                break
        else:
            i += 1
    return tuple(dict.fromkeys(found))


def known_english(word: str) -> bool:
    """Is this (folded) word an English word of the tables, as itself or its singular?"""
    table = _glossary()
    return (word,) in table or (word.endswith("s") and (word[:-1],) in table)
