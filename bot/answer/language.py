"""Is a generated answer written in the asker's language?

Names keep their spelling in either language ("Sergei Lavrov", "Thụy Sĩ"), so
one Vietnamese place name does not make an English answer Vietnamese: the
share of words carrying Vietnamese letters decides, with the function words
of each language as the tie-breaker.
"""

from __future__ import annotations

import re

from bot.lang import VI_LETTERS, detect_language

# Above this share of words with Vietnamese letters, a text is Vietnamese
# (English answers quoting a name or two stay well below it).
VI_WORD_SHARE = 0.3


def answer_language(text: str) -> str:
    """'vi' or 'en' for an answer text."""
    tokens = re.findall(r"\w+", text)
    if not tokens:
        return "en"
    share = sum(bool(VI_LETTERS.search(t)) for t in tokens) / len(tokens)
    if share >= VI_WORD_SHARE:
        return "vi"
    if share == 0:
        return detect_language(text)
    return "en"


def language_ok(text: str, lang: str) -> bool:
    """Does the answer read in `lang`? Only English and Vietnamese are told apart."""
    if lang not in ("en", "vi") or not re.search(r"\w", text):
        return True
    return answer_language(text) == lang
