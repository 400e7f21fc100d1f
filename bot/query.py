"""A question, read once: its text, language, terms, names and the kind of value it asks for.

Every stage after `Bot.prepare` takes a `Query` instead of a string (retrieve,
weigh, judge, answer), so the question is normalised, language-detected,
tokenised and embedded once, by one tokeniser (bot.text.lexical_tokens), and
every stage reads the same words. Functions that also accept a plain string
(tests, the eval's helpers) parse it with `as_query`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from bot.anchors import anchors, settings
from bot.expect import Expectation, expectation
from bot.glossary import vietnamese_phrases
from bot.lang import detect_language
from bot.lexicon import STOPWORDS
from bot.text import lexical_tokens, normalize


@dataclass(frozen=True)
class Query:
    text: str  # normalised (NFC, one space)
    lang: str  # "en" or "vi"
    terms: tuple[str, ...]  # folded BM25 terms (bot.text.lexical_tokens)
    content: tuple[str, ...]  # the terms that carry meaning (stopwords out), each once
    anchors: tuple[tuple[str, ...], ...]  # names, numbers and dates it is about (bot.anchors)
    settings: tuple[tuple[str, ...], ...]  # those of them naming where it is set ("ở Sa Pa"): the article may give them
    expects: Expectation  # the kinds of value it asks for (bot.expect)
    # An English question's words under their Vietnamese spellings (bot.glossary): per word,
    # its folded phrases of syllables, for BM25 and the judge's word overlap. () in Vietnamese.
    glossed: tuple[tuple[tuple[str, ...], ...], ...] = ()
    # The question's embedding per embedder, computed on first use: the dense search
    # and the sentence scoring share one (an OpenAI embedding is a paid round trip).
    _vectors: dict = field(default_factory=dict, compare=False, repr=False)

    def __str__(self) -> str:
        return self.text

    @property
    def search_terms(self) -> tuple[str, ...]:
        """BM25's terms: the question's own, and the syllables of its Vietnamese phrases."""
        syllables = (s for word in self.glossed for phrase in word for s in phrase)
        return self.terms + tuple(dict.fromkeys(s for s in syllables if s not in self.terms))

    def vector(self, embeddings: Embeddings) -> list[float]:
        """The question's embedding by this embedder (or the one it wraps), computed once."""
        base = getattr(embeddings, "base", embeddings)  # bot.sentence_vectors.StoredEmbeddings
        key = id(base)
        if key not in self._vectors:
            self._vectors[key] = base.embed_query(self.text)
        return self._vectors[key]


def parse(text: str, lang: str | None = None) -> Query:
    """Read a question once. `lang` when already known (`Bot.prepare` detects it)."""
    text = " ".join(normalize(text).split())
    terms = tuple(lexical_tokens(text))
    lang = lang or detect_language(text)
    return Query(
        text=text,
        lang=lang,
        terms=terms,
        content=tuple(dict.fromkeys(t for t in terms if t not in STOPWORDS)),
        anchors=tuple(anchors(text)),
        settings=tuple(settings(text)),
        expects=expectation(text),
        glossed=vietnamese_phrases(terms) if lang == "en" else (),
    )


def as_query(question: Query | str) -> Query:
    """A Query as it is; a string parsed (a caller that passes strings pays the parse each time)."""
    return question if isinstance(question, Query) else parse(question)
