"""The spine's logic on the seed articles without a model: a fake embedder, BM25, no Chroma.

The same stages as Bot.stream (collect → score → judge → answer), in milliseconds,
so a change to the scoring or the refusal rules is checked before the slow suite runs.
"""

from __future__ import annotations

import pytest
from conftest import SEEDS

from bot import evidence as ev
from bot.answer.extractive import extractive_answer
from bot.chunk import chunk_article, make_splitter
from bot.lexical import BM25Index
from bot.load import load_articles
from bot.retrieve import Hit


@pytest.fixture(scope="module")
def lexical() -> BM25Index:
    splitter = make_splitter(1000, 150)
    docs = [d for a in load_articles([SEEDS]).articles for d in chunk_article(a, splitter)]
    return BM25Index.build(docs)


def _weigh(question: str, lexical: BM25Index, embeddings, lang: str):
    hits = [Hit(doc, score) for doc, score in lexical.search(question, k=5)]
    ranked = ev.score_sentences(question, ev.collect(hits), embeddings, lexical)
    return ranked, ev.judge(question, ranked, hits, lang, overlap=None)


def test_the_geneva_question_is_answered_from_the_geneva_articles(lexical, fake_embeddings) -> None:
    ranked, judgement = _weigh("Ai đã gặp nhau ở Geneva ngày 21/1?", lexical, fake_embeddings, "vi")
    assert judgement.answerable
    answer = extractive_answer(ranked, "vi", question="Ai đã gặp nhau ở Geneva ngày 21/1?")
    assert "Lavrov" in answer.text and "Blinken" in answer.text
    assert answer.citations[0].source.startswith(("002_", "000_"))
    assert "Lavrov" in answer.short


def test_a_name_the_articles_never_mention_is_refused(lexical, fake_embeddings) -> None:
    _, judgement = _weigh("What did Angela Merkel say in Tokyo about the talks?", lexical, fake_embeddings, "en")
    assert not judgement.answerable
    assert "angela merkel" in judgement.reason
