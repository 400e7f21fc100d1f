"""The word lists that several stages compare tokens against, read from bot/data/.

They are data, not code, so that a list can be reviewed (and tested for
well-formedness, tests/test_lexicon.py) without reading the scoring around it.
This module imports nothing of the bot's but the data folder's location, so
any module can import it at top level without creating an import cycle (the
evidence judge and the answer-kind reader used to import these lists from
each other inside functions).
"""

from __future__ import annotations

from bot.tables import DATA


def read_words(name: str) -> frozenset[str]:
    """`bot/data/<name>`: one entry per line; blank lines and `#` comments skipped."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# Function words, English and folded Vietnamese: never anchors, content terms or names.
STOPWORDS: frozenset[str] = read_words("stopwords.txt")
# Capitalised in English questions, yet not names: "President", "Foreign Minister", "Monday".
TITLES: frozenset[str] = read_words("title_words.txt")
