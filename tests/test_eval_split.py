"""The dataset's fixed dev/test split, history items, and the summary rows they get."""

import json

from eval.dataset import load_dataset, split_of
from eval.metrics import score_item, summarize


def test_split_is_fixed_by_id_and_written_in_the_dataset(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(
        json.dumps({"id": "a1", "question": "Q?", "sources": ["x.txt"]}) + "\n"
        + json.dumps({"id": "a2", "question": "Q2?", "sources": ["x.txt"], "split": "test", "history": ["Q?"]}) + "\n",
        encoding="utf-8",
    )
    a1, a2 = load_dataset(path)
    assert a1.split == split_of("a1") and a2.split == "test" and a2.history == ["Q?"]


def test_repo_dataset_has_both_halves_and_conversations():
    from pathlib import Path

    items = load_dataset(Path(__file__).resolve().parents[1] / "eval" / "qa.jsonl")
    assert all(i.split == split_of(i.id) for i in items)
    talk = [i for i in items if i.history]
    assert len(talk) >= 10 and {i.lang for i in talk} == {"en", "vi"}


def test_summary_by_split_conversation_and_short_answers():
    base = {"answerable": True, "gold_sources": ["x.txt"], "refused": False, "citations": [], "retrieved": []}
    items = [
        {**base, "lang": "en", "split": "dev", "answer": "Geneva [1]. …", "short": "Geneva", "short_quote": "Geneva",
         "must_include": ["Geneva"]},
        {**base, "lang": "vi", "split": "test", "answer": "…", "short": "", "must_include": ["x"], "history": ["q"]},
    ]
    for i in items:
        i["scores"], i["failed_checks"] = score_item(i)
    s = summarize(items)
    assert s["short_rate"] == 0.5 and s["short_right"] == 1.0
    assert s["by_split"]["dev"]["n"] == 1 and s["by_split"]["test"]["by_lang"]["vi"]["n"] == 1
    assert s["conversation"]["n"] == 1
