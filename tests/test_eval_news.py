"""Static checks on eval/news.jsonl, the set on new articles (eval/news/): it loads as a dataset of
both languages with unanswerable items, each answerable item's evidence and must_include strings
are in the article it names, and `bot eval` finds the article folder beside the dataset."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

from eval.dataset import load_dataset
from eval.runner import dataset_articles

REPO_ROOT = Path(__file__).resolve().parents[1]
NEWS = REPO_ROOT / "eval" / "news.jsonl"
ARTICLES = REPO_ROOT / "eval" / "news"


def _article(name: str) -> str:
    return unicodedata.normalize("NFC", (ARTICLES / name).read_text(encoding="utf-8"))


def test_the_news_set_has_both_languages_unanswerable_items_and_both_halves():
    items = load_dataset(NEWS)
    assert len(items) >= 72 and len({i.id for i in items}) == len(items)
    langs = Counter(i.lang for i in items)
    assert abs(langs["en"] - langs["vi"]) <= 2
    assert sum(not i.answerable for i in items) >= 12
    assert {i.split for i in items} == {"dev", "test"}
    assert {i.type for i in items} >= {"fact", "paraphrase", "multi", "unanswerable"}


def test_its_evidence_and_must_include_strings_are_in_the_articles_it_names():
    names = {p.name for p in ARTICLES.glob("*.txt")}
    for item in load_dataset(NEWS):
        if not item.answerable:
            continue
        assert set(item.sources) <= names, item.id
        texts = [_article(s) for s in item.sources]
        assert any(unicodedata.normalize("NFC", item.evidence) in t for t in texts), item.id
        for must in item.must_include:
            assert any(unicodedata.normalize("NFC", must) in t for t in texts), (item.id, must)


def test_the_eval_answers_it_from_its_own_articles():
    assert dataset_articles(NEWS) == NEWS.with_suffix("")
    assert dataset_articles(REPO_ROOT / "eval" / "qa.jsonl") is None  # the seeds: the configured index
