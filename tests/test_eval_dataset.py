"""Static checks on the hand-written evaluation set eval/qa.jsonl (no model, no index needed)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
QA_PATH = REPO_ROOT / "eval" / "qa.jsonl"
SEEDS_DIR = REPO_ROOT / "seeds"

FIELDS = ["id", "question", "lang", "answer", "must_include", "sources", "evidence", "type", "difficulty"]
LANGS = {"en", "vi"}
TYPES = {"fact", "paraphrase", "multi", "unanswerable"}
DIFFICULTIES = {"easy", "medium", "hard"}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _load_lines() -> list[str]:
    return [line for line in QA_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def _load_items() -> list[dict]:
    return [json.loads(line) for line in _load_lines()]


def _seed_texts() -> dict[str, str]:
    return {p.name: nfc(p.read_text(encoding="utf-8")) for p in sorted(SEEDS_DIR.glob("*.txt"))}


ITEMS = _load_items() if QA_PATH.exists() else []
SEEDS = _seed_texts() if SEEDS_DIR.exists() else {}
ANSWERABLE = [item for item in ITEMS if item.get("type") != "unanswerable"]
UNANSWERABLE = [item for item in ITEMS if item.get("type") == "unanswerable"]
MULTI = [item for item in ITEMS if item.get("type") == "multi"]


def _ids(items: list[dict]) -> list[str]:
    return [str(item.get("id")) for item in items]


def test_dataset_and_seeds_exist():
    assert QA_PATH.is_file(), f"missing {QA_PATH}"
    assert len(SEEDS) == 5, f"expected 5 seed articles, found {sorted(SEEDS)}"


def test_every_line_is_a_json_object():
    for number, line in enumerate(_load_lines(), 1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {number} is not a JSON object"


def test_exact_fields_in_order():
    # Every item ends with its fixed dev/test `split`; a follow-up item has its `history` before it.
    allowed = (FIELDS + ["split"], FIELDS + ["history", "split"])
    for item in ITEMS:
        assert list(item) in allowed, f"{item.get('id')}: fields {list(item)}"


def test_field_types_and_allowed_values():
    for item in ITEMS:
        qid = item["id"]
        assert isinstance(item["question"], str) and item["question"].strip(), qid
        assert isinstance(item["answer"], str) and item["answer"].strip(), qid
        assert isinstance(item["evidence"], str), qid
        assert isinstance(item["must_include"], list), qid
        assert all(isinstance(m, str) and m.strip() for m in item["must_include"]), qid
        assert isinstance(item["sources"], list), qid
        assert item["lang"] in LANGS, f"{qid}: lang {item['lang']!r}"
        assert item["type"] in TYPES, f"{qid}: type {item['type']!r}"
        assert item["difficulty"] in DIFFICULTIES, f"{qid}: difficulty {item['difficulty']!r}"


def test_ids_unique_and_sequential():
    ids = _ids(ITEMS)
    assert len(ids) == len(set(ids)), [i for i, c in Counter(ids).items() if c > 1]
    assert ids == [f"q{n:03d}" for n in range(1, len(ids) + 1)]


def test_questions_are_not_duplicated():
    normalised = [re.sub(r"\W+", " ", nfc(item["question"]).lower()).strip() for item in ITEMS]
    dupes = [q for q, c in Counter(normalised).items() if c > 1]
    assert not dupes, dupes


@pytest.mark.parametrize("item", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_answerable_item_is_grounded(item):
    sources = item["sources"]
    assert sources, "answerable item needs sources"
    assert len(sources) == len(set(sources)), "duplicate source"
    for name in sources:
        assert name in SEEDS, f"unknown source file {name}"
    assert 1 <= len(item["must_include"]) <= 3
    evidence = nfc(item["evidence"])
    assert evidence.strip(), "empty evidence"
    assert evidence in SEEDS[sources[0]], "evidence is not a verbatim substring of the first source"
    union = "\n".join(SEEDS[name] for name in sources).lower()
    for needle in item["must_include"]:
        assert nfc(needle).lower() in union, f"must_include {needle!r} not found in the source files"


@pytest.mark.parametrize("item", MULTI, ids=_ids(MULTI))
def test_multi_items_cite_two_files_or_two_passages(item):
    if len(item["sources"]) >= 2:
        return
    # single-file multi: the required strings must not all sit inside the one evidence passage
    evidence = nfc(item["evidence"]).lower()
    assert not all(nfc(m).lower() in evidence for m in item["must_include"]), (
        "single-source multi item whose answer fits in one passage"
    )


@pytest.mark.parametrize("item", UNANSWERABLE, ids=_ids(UNANSWERABLE))
def test_unanswerable_items_are_empty(item):
    assert item["must_include"] == []
    assert item["sources"] == []
    assert item["evidence"] == ""


def test_size():
    assert len(ITEMS) >= 60, len(ITEMS)


def test_languages_roughly_balanced():
    counts = Counter(item["lang"] for item in ITEMS)
    for lang in LANGS:
        assert counts[lang] / len(ITEMS) >= 0.40, counts


def test_vietnamese_questions_without_diacritics_present():
    plain = [item for item in ITEMS if item["lang"] == "vi" and item["question"].isascii()]
    assert len(plain) >= 6, [item["id"] for item in plain]


def test_type_counts():
    counts = Counter(item["type"] for item in ITEMS)
    assert counts["unanswerable"] >= 8, counts
    assert counts["multi"] >= 8, counts
    assert counts["paraphrase"] >= 8, counts


def test_every_seed_file_is_covered():
    covered = Counter(name for item in ITEMS for name in item["sources"])
    missing = [name for name in SEEDS if covered[name] < 3]
    assert not missing, f"seed files with fewer than 3 questions: {missing}"
