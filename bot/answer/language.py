"""Is a generated answer written in the asker's language?

Names keep their spelling in either language ("Sergei Lavrov", "Thụy Sĩ"), so
capitalised words (names, and a sentence's first word), numbers and quoted
words (the articles' own) are left out: the share of the other words carrying
Vietnamese letters decides, with the function words of each language as the
tie-breaker. An answer of names and numbers alone ("Sergei Lavrov, Antony
Blinken.") reads in either.
"""

from __future__ import annotations

import re

from bot.lang import VI_LETTERS, detect_language

# Above this share of words with Vietnamese letters, a text is Vietnamese
# (English answers quoting a name or two stay well below it).
VI_WORD_SHARE = 0.3


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def _prose(text: str) -> list[str]:
    """The words that are neither names nor numbers nor quoted (a quote keeps the articles' words)."""
    return [t for t in re.findall(r"\w+", _QUOTED.sub(" ", text)) if not (t[0].isupper() or t[0].isdigit())]


def answer_language(text: str) -> str:
    """'vi' or 'en' for an answer text."""
    return _language_of(_prose(text) or re.findall(r"\w+", text))


def _language_of(tokens: list[str]) -> str:
    if not tokens:
        return "en"
    share = sum(bool(VI_LETTERS.search(t)) for t in tokens) / len(tokens)
    if share >= VI_WORD_SHARE:
        return "vi"
    if share == 0:
        return detect_language(" ".join(tokens))
    return "en"


def language_ok(text: str, lang: str) -> bool:
    """Does the answer read in `lang`? Only English and Vietnamese are told apart."""
    prose = _prose(text)
    return lang not in ("en", "vi") or not prose or _language_of(prose) == lang
