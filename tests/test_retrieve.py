"""Retrieval over the real seeds: English, Vietnamese and no-diacritics questions find the right file."""

import pytest
from conftest import GENEVA_FILES

from bot.retrieve import reciprocal_rank_fusion

# (question, files that answer it) — written for these tests; the full set is eval/qa.jsonl.
CASES = [
    ("who met in Geneva on 21/1", GENEVA_FILES),
    ("ai gặp nhau ở Geneva ngày 21/1?", GENEVA_FILES),
    ("ai gap nhau o geneva ngay 21/1", GENEVA_FILES),
    ("Which air defence system is Russia sending to Belarus for exercises?", {"000_06e006c2fbeffc65.txt"}),
    ("Putin điện đàm với tổng thống Phần Lan về chuyện gì?", {"001_5ac6cdcd54be8f5d.txt"}),
    ("Ryabkov noi gi ve Cuba va Venezuela", {"003_b2fc1e8a5747e8a2.txt"}),
    ("What did the NATO Secretary General say after the NATO-Russia Council meeting?", {"004_bb64801ae19f6d5c.txt"}),
]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(("question", "files"), CASES)
def test_right_file_in_top_5(shared_bot, question, files, mode):
    if mode == "bm25" and question.startswith(("Which air", "What did the NATO")):
        pytest.skip("English paraphrase of Vietnamese text: BM25 alone has nothing to match")
    hits = shared_bot.retrieve(question, k=5, retriever=mode)
    assert {h.source for h in hits} & files


def test_hybrid_reports_both_sides(shared_bot):
    hits = shared_bot.retrieve("ai gặp nhau ở Geneva ngày 21/1?", k=5)
    # The 21/1 meeting's passage near the top; the other seed's Geneva talks of 10/1 may lead
    # (the sentences are weighed after retrieval: tests/test_answer.py asks who met).
    assert any("21/1" in h.doc.page_content and "Geneva" in h.doc.page_content for h in hits[:3])
    assert hits[0].source in GENEVA_FILES | {"004_bb64801ae19f6d5c.txt"}
    assert all(h.dense_rank is not None and h.bm25_rank is not None for h in hits[:3])
    assert all(h.sparse_rank is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]])
    assert fused["a"] == fused["b"] > fused["c"] == fused["d"]


def test_langchain_retriever_interface(shared_bot):
    docs = shared_bot.retriever.invoke("Lavrov Blinken Geneva")
    assert docs and docs[0].metadata["source"] in GENEVA_FILES and "score" in docs[0].metadata


def test_candidates_are_ranked_by_topic_when_every_vector_is_stored(seeded_settings):
    """The third ranking of the fusion: the candidates by the share of the question's latent
    terms each holds, read from the vectors stored at ingest; none while one is missing."""
    import sqlite3

    from bot.passage_vectors import vectors_path
    from bot.query import as_query
    from bot.retrieve import Hit, open_retriever
    from bot.sentence_vectors import forget_stores
    from bot.topic import topic_overlap

    retriever = open_retriever(seeded_settings)
    query = as_query("Ngoại trưởng Nga và Mỹ gặp nhau ở đâu?")
    dense, lexical = retriever.candidates(query, 30, "hybrid")
    docs = {d.id: d for d, _ in dense + lexical}
    hits = [Hit(doc=d, score=0.0) for d in docs.values()]
    ranking = retriever.topic_ranking(query, hits)
    assert sorted(ranking) == sorted(docs)
    overlap = topic_overlap()
    share = {i: overlap.best(query.text, [d.page_content], stored=retriever.vectors) for i, d in docs.items()}
    assert [share[i] for i in ranking] == sorted(share.values(), reverse=True)

    key = retriever.vectors._key("sparse", hits[0].doc.page_content)
    forget_stores()
    with sqlite3.connect(vectors_path(seeded_settings.store_dir)) as db:
        db.execute("DELETE FROM sparse WHERE key = ?", (key,))
    retriever = open_retriever(seeded_settings)
    assert retriever.topic_ranking(query, hits) == []  # one candidate short: the two sides alone
    assert retriever.search(query, k=5)  # which still answer
