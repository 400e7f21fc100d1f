"""The case of names in a question typed all in lower case ("ai gap nhau o geneva ngay 21/1?").

Names are read from capitals (bot.anchors): typed in lower case, "geneva" is no
name, so the evidence judge neither asks the evidence to hold it nor lets it
choose among sentences, and the question is answered unlike the same question
typed "Geneva". The articles say which words are names: those they write with
a capital inside a sentence (not as its first word) nearly every time. A
question with a capital anywhere past its first letter was cased by the asker
and is left as typed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from bot.lexicon import STOPWORDS, TITLES
from bot.text import fold, sentences

# A word is a name when the articles capitalise at least this share of its times inside a
# sentence, and do so at least MIN_SEEN times (one capitalised use proves little).
MIN_SHARE = 0.9
MIN_SEEN = 2
_WORD = re.compile(r"\w+")


def name_forms(texts: Iterable[str]) -> dict[str, str]:
    """{folded word: how the articles write it ("Geneva", "NATO")} for the words they write as names."""
    capitalised: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    forms: dict[str, str] = {}
    for text in texts:
        for span in sentences(text):
            for i, m in enumerate(_WORD.finditer(span.text)):
                word = m.group(0)
                if i == 0 or word[0].isdigit():
                    continue
                key = fold(word)
                seen[key] += 1
                if word[0].isupper():
                    capitalised[key] += 1
                    forms.setdefault(key, word)
    return {
        key: forms[key]
        for key, n in capitalised.items()
        # Titles ("Tổng thống") are capitalised too, but name no one; one letter names nothing.
        if n >= MIN_SEEN and n >= MIN_SHARE * seen[key] and key not in STOPWORDS | TITLES and len(key) > 1
    }


def typed_uncased(question: str) -> bool:
    """Was the question typed without a capital past its first letter?"""
    return not any(ch.isupper() for ch in question[1:])


def truecase(question: str, forms: dict[str, str]) -> str:
    """The question with the articles' names capitalised, when it was typed without capitals."""
    if not forms or not typed_uncased(question):
        return question

    def cased(m: re.Match) -> str:
        word = m.group(0)
        form = forms.get(fold(word))
        if form is None:
            return word
        return word.upper() if form.isupper() and len(form) > 1 else word[:1].upper() + word[1:]

    return _WORD.sub(cased, question)
