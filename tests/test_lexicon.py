"""Every entry of the word lists and tables in bot/data/ is well-formed.

A stray space, an empty entry, a capital letter in a list compared with folded
tokens or a line without its tab does not fail anywhere: the entry just never
matches (or silently replaces another). These checks are where it shows.
"""

from __future__ import annotations

import re

import pytest

from bot.lexicon import STOPWORDS, TITLES, read_words
from bot.tables import DATA, read_table
from bot.text import fold

WORD_LISTS = sorted(p.name for p in DATA.glob("*.txt"))
TABLES = sorted(p.name for p in DATA.glob("*.tsv"))

# The parts of each table that are compared with folded text (lowercase, no diacritics):
# "keys" for the first column, "values" for the comma-separated second one; a key of
# short_words.tsv is `kind:word`, of which the word is folded.
FOLDED = {
    "counted_nouns.tsv": {"keys", "values"},
    "exonyms.tsv": {"keys", "values"},
    "places.tsv": {"keys", "values"},
    "glossary.tsv": {"keys"},
    "not_names.tsv": {"keys"},
    "question_words.tsv": {"values"},
    "short_words.tsv": {"keys"},
}
REGEX_VALUES = {"tense.tsv"}


def _entries(name: str) -> list[tuple[int, str]]:
    """(line number, line) of every line that is not a comment, blank lines included."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [(n, line) for n, line in enumerate(lines, start=1) if not line.startswith("#")]


def test_the_data_folder_has_the_lists():
    assert {"stopwords.txt", "title_words.txt"} <= set(WORD_LISTS)
    assert {"exonyms.tsv", "counted_nouns.tsv", "titles.tsv"} <= set(TABLES)


@pytest.mark.parametrize("name", WORD_LISTS)
def test_word_list_entries_are_single_folded_words_once_each(name):
    entries = _entries(name)
    assert (DATA / name).read_text(encoding="utf-8").startswith("#"), f"{name}: no comment header saying what it is"
    seen: dict[str, int] = {}
    for n, word in entries:
        where = f"{name}:{n}: {word!r}"
        assert word, f"{where}: empty line"
        assert word == word.strip() and len(word.split()) == 1, f"{where}: one word per line, no spaces around it"
        # Compared with folded tokens: an entry with a capital or a diacritic never matches.
        assert word == fold(word), f"{where}: not folded (write {fold(word)!r})"
        assert word not in seen, f"{where}: already on line {seen[word]}"
        seen[word] = n


@pytest.mark.parametrize("name", TABLES)
def test_table_lines_have_a_key_a_tab_and_values(name):
    entries = _entries(name)
    assert (DATA / name).read_text(encoding="utf-8").startswith("#"), f"{name}: no comment header saying what it is"
    keys: dict[str, int] = {}
    folded = FOLDED.get(name, set())
    for n, line in entries:
        where = f"{name}:{n}: {line!r}"
        assert line.strip(), f"{where}: empty line"
        columns = line.split("\t")
        assert len(columns) == 2, f"{where}: {len(columns)} tab-separated columns, want 2 (key, values)"
        key, values = columns
        assert key and key == key.strip() and "  " not in key, f"{where}: key empty or with stray spaces"
        word = key.partition(":")[2] if name == "short_words.tsv" else key
        if "keys" in folded:
            assert word == fold(word), f"{where}: key not folded (write {fold(word)!r})"
        # titles.tsv is folded when read (bot.names.titles): two keys must not fold to one.
        seen_as = fold(key)
        assert seen_as not in keys, f"{where}: key already on line {keys[seen_as]}"
        keys[seen_as] = n
        # Split as read_table splits: on every comma (a regex writes a comma as \x2c).
        raw = values.split(",")
        items = [v.strip() for v in raw]
        assert all(items), f"{where}: an empty value (a doubled or trailing comma?)"
        assert all(v in (item, f" {item}") for v, item in zip(raw, items)), f"{where}: stray spaces around a value"
        assert len(set(items)) == len(items), f"{where}: a value listed twice"
        for item in items:
            assert "  " not in item, f"{where}: {item!r} has a doubled space"
            if "values" in folded:
                assert item == fold(item), f"{where}: value {item!r} not folded (write {fold(item)!r})"
            if name in REGEX_VALUES:
                re.compile(item)


@pytest.mark.parametrize("name", TABLES)
def test_tables_read_as_written(name):
    """read_table sees every line: none lost to a missing tab or merged by a repeated key."""
    assert len(read_table(name)) == len(_entries(name))


def test_lexicon_sets_are_the_files():
    assert read_words("stopwords.txt") == STOPWORDS and len(STOPWORDS) == len(_entries("stopwords.txt"))
    assert read_words("title_words.txt") == TITLES and len(TITLES) == len(_entries("title_words.txt"))
    # The sets the evidence judge and the answer-kind reader compare against are these very ones.
    from bot import anchors, evidence, expect

    assert evidence.STOPWORDS is STOPWORDS and expect.TITLES is TITLES and anchors.TITLES is TITLES
