"""An English question's words under their Vietnamese spellings (bot/glossary.py, bot/data/glossary.tsv).

Pure logic on the seed articles: BM25 and the judge's word overlap, without a model
(the fake embedder leaves the lexical signals to decide).
"""

from __future__ import annotations

import pytest
from conftest import SEEDS

from bot import evidence as ev
from bot.chunk import chunk_article, make_splitter
from bot.evidence import Evidence
from bot.glossary import vietnamese_phrases
from bot.lexical import BM25Index
from bot.load import load_articles
from bot.query import parse
from bot.retrieve import Hit
from bot.text import lexical_tokens

WARNED = "Who warned of serious consequences?"


@pytest.fixture(scope="module")
def lexical() -> BM25Index:
    docs = [d for a in load_articles([SEEDS]).articles for d in chunk_article(a, make_splitter(1000, 150))]
    return BM25Index.build(docs)


def test_an_english_phrase_is_looked_up_whole_before_its_words():
    words = vietnamese_phrases(tuple(lexical_tokens("security guarantees")))
    assert words == (tuple(tuple(p.split()) for p in ("dam bao an ninh", "bao dam an ninh")),)


def test_the_alternatives_for_one_word_stay_together_and_words_of_saying_are_left_out():
    (warned, consequences) = vietnamese_phrases(tuple(lexical_tokens("he said warned consequences")))
    assert ("canh", "bao") in warned and ("hau", "qua") in consequences


def test_only_an_english_question_is_glossed():
    english, vietnamese = parse(WARNED, "en"), parse("Ai cảnh báo hậu quả nghiêm trọng?", "vi")
    assert english.glossed and not vietnamese.glossed
    assert {"canh", "bao", "hau", "qua"} <= set(english.search_terms)
    assert vietnamese.search_terms == vietnamese.terms


def test_bm25_finds_a_warning_asked_for_in_english(lexical):
    query = parse(WARNED, "en")
    plain = lexical.search(query.text, 3, terms=query.terms)
    glossed = lexical.search(query.text, 3, terms=query.search_terms)
    # English words alone match nothing in Vietnamese articles; their Vietnamese ones do.
    assert all("hậu quả nghiêm trọng" not in doc.page_content for doc, _ in plain)
    assert "hậu quả nghiêm trọng" in glossed[0][0].page_content


def test_the_judge_counts_a_glossed_word_once_however_many_of_its_spellings_a_sentence_has(lexical, fake_embeddings):
    # "talks" is "đàm phán", "hội đàm", "thảo luận" or "đối thoại"; "warned" is "cảnh báo".
    many = Evidence("Hội đàm, đàm phán và đối thoại, rồi thảo luận.", "a.txt", 0, 50, "c1", 1)
    both = Evidence("Ông cảnh báo về cuộc hội đàm.", "b.txt", 0, 40, "c2", 1)
    ranked = ev.score_sentences(parse("Who warned before the talks?", "en"), [many, both], fake_embeddings, lexical)
    by_text = {e.text: e for e in ranked}
    # Counted per spelling, the four words for "talks" outweighed "warned" and "talks" together.
    assert by_text[both.text].lexical > by_text[many.text].lexical


def _hits(*texts: str) -> list[Hit]:
    from langchain_core.documents import Document

    return [Hit(Document(page_content=t, metadata={"source": "x.txt"}), 1.0) for t in texts]


PLAN = "Dự kiến vào ngày 25/1, Nga, Ukraine, Pháp và Đức sẽ nối lại đàm phán tại Paris."


def test_a_done_question_about_a_planned_event_is_refused_as_only_planned():
    ranked = [Evidence(PLAN, "x.txt", 0, len(PLAN), "c", 1, score=1.0)]
    judgement = ev.judge("What did France and Germany agree in Paris on 25 January?", ranked, _hits(PLAN), "en")
    assert not judgement.answerable and "planned" in judgement.reason


def test_a_will_sentence_naming_nothing_the_question_names_does_not_refuse_it():
    """It is a weak match about something else, not the plan of the event asked about."""
    ranked = [Evidence(PLAN, "x.txt", 0, len(PLAN), "c", 1, score=1.0)]
    judgement = ev.judge("What did Grushko argue in Brussels?", ranked, _hits(PLAN, "Grushko phát biểu tại Brussels."), "en")
    assert "planned" not in judgement.reason
