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
from dataclasses import dataclass, field

from bot.lexicon import STOPWORDS, TITLES
from bot.text import fold, sentences

# A word is a name when the articles capitalise at least this share of its times inside a
# sentence, and do so at least MIN_SEEN times (one capitalised use proves little).
MIN_SHARE = 0.9
MIN_SEEN = 2
_WORD = re.compile(r"\w+")


@dataclass
class NameCounts:
    """How often the articles write each folded word inside a sentence, how often with a
    capital, and how: kept beside BM25 (bot.lexical) and updated as articles come and go,
    so that one new article does not read every chunk again."""

    seen: Counter[str] = field(default_factory=Counter)
    capitalised: Counter[str] = field(default_factory=Counter)
    written: dict[str, Counter[str]] = field(default_factory=dict)  # folded word -> its capitalised spellings

    @classmethod
    def of(cls, texts: Iterable[str]) -> NameCounts:
        counts = cls()
        folded: dict[str, str] = {}  # a corpus repeats its words: each folded once
        for text in texts:
            for span in sentences(text):
                for i, m in enumerate(_WORD.finditer(span.text)):
                    word = m.group(0)
                    if i == 0 or word[0].isdigit():
                        continue
                    key = folded.get(word)
                    if key is None:
                        key = folded[word] = fold(word)
                    counts.seen[key] += 1
                    if word[0].isupper():
                        counts.capitalised[key] += 1
                        counts.written.setdefault(key, Counter())[word] += 1
        return counts

    def changed(self, removed: NameCounts, added: NameCounts) -> NameCounts:
        """These counts less `removed`'s, plus `added`'s."""
        written = {k: Counter(v) for k, v in self.written.items()}
        for key, forms in removed.written.items():
            written[key] = written.get(key, Counter()) - forms
        for key, forms in added.written.items():
            written[key] = written.get(key, Counter()) + forms
        return NameCounts(
            seen=self.seen - removed.seen + added.seen,
            capitalised=self.capitalised - removed.capitalised + added.capitalised,
            written={k: v for k, v in written.items() if v},
        )

    def forms(self) -> dict[str, str]:
        """{folded word: how the articles write it ("Geneva", "NATO")} for the words they write as names."""
        return {
            # The spelling they use most (the first seen of equals).
            key: self.written[key].most_common(1)[0][0]
            for key, n in self.capitalised.items()
            # Titles ("Tổng thống") are capitalised too, but name no one; one letter names nothing.
            if n >= MIN_SEEN and n >= MIN_SHARE * self.seen[key] and key not in STOPWORDS | TITLES and len(key) > 1
        }


def name_forms(texts: Iterable[str]) -> dict[str, str]:
    """{folded word: how the articles write it ("Geneva", "NATO")} for the words they write as names."""
    return NameCounts.of(texts).forms()


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
