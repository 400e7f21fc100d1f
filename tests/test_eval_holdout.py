"""Static checks on the held-out set eval/holdout.jsonl: it loads as a dataset, and every
must_include string and evidence sentence is in the article it names."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from eval.dataset import load_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = REPO_ROOT / "eval" / "holdout.jsonl"


def _article(name: str) -> str:
    return unicodedata.normalize("NFC", (REPO_ROOT / "seeds" / name).read_text(encoding="utf-8"))


def test_the_held_out_set_loads_with_answerable_and_unanswerable_items_in_both_languages():
    items = load_dataset(HOLDOUT)
    assert len(items) == 36 and len({i.id for i in items}) == 36
    assert {i.lang for i in items} == {"en", "vi"}
    assert sum(not i.answerable for i in items) == 6


def test_its_evidence_and_must_include_strings_are_in_the_articles_it_names():
    for item in load_dataset(HOLDOUT):
        if not item.answerable:
            continue
        texts = [_article(s) for s in item.sources]
        assert any(item.evidence in t for t in texts), item.id
        for must in item.must_include:
            assert any(must in t for t in texts), (item.id, must)
