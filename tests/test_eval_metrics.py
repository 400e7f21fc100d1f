"""Every eval metric on hand-made results: hits and misses, edge cases, and null when nothing is eligible."""

import unicodedata

import pytest

from eval import metrics as m
from eval.runner import below_floors

GOLD = ["a.txt"]
ARTICLE = "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và Antony Blinken gặp nhau tại Geneva. " * 3


def passage(source: str, start: int = 0, end: int | None = None, text: str | None = None, used: bool = True) -> dict:
    text = ARTICLE[start:end] if text is None else text
    return {
        "source": source,
        "start": start,
        "end": start + len(text) if end is None else end,
        "text": text,
        "used": used,
    }


def record(**fields) -> dict:
    """A results.json item with the fields a test cares about; answerable with gold a.txt by default."""
    base = {
        "id": "q",
        "question": "?",
        "lang": "en",
        "type": "fact",
        "answerable": True,
        "gold_sources": GOLD,
        "must_include": [],
        "evidence": "",
        "expected_answer": "",
        "retrieved": [],
        "answer": "",
        "refused": False,
        "citations": [],
        "latency_s": 1.0,
    }
    base.update(fields)
    base["scores"], base["failed_checks"] = m.score_item(base)
    return base


# -- retrieval ------------------------------------------------------------------


def test_source_hit_within_top5_only():
    ranked = [passage("b.txt")] * 4 + [passage("a.txt")]
    assert m.source_hit(ranked, GOLD) == 1.0
    assert m.source_hit([passage("b.txt")] * 5 + [passage("a.txt")], GOLD) == 0.0
    assert m.source_hit(ranked, []) is None


def test_mrr_is_reciprocal_rank_of_first_gold_within_10():
    assert m.reciprocal_rank(
        [passage("b.txt"), passage("b.txt"), passage("a.txt"), passage("a.txt")], GOLD
    ) == pytest.approx(1 / 3)
    assert m.reciprocal_rank([passage("a.txt")], GOLD) == 1.0
    assert m.reciprocal_rank([passage("b.txt")] * 10 + [passage("a.txt")], GOLD) == 0.0
    assert m.reciprocal_rank([passage("a.txt")], []) is None


def test_evidence_inside_a_chunk_is_recalled():
    quote = "Sergei Lavrov và Antony Blinken gặp nhau tại Geneva."
    assert m.evidence_hit([passage("b.txt", 0, 40), passage("a.txt", 0, 120)], quote) == 1.0


def test_evidence_cut_by_chunk_boundary_follows_the_80_percent_rule():
    quote = "0123456789" * 10  # 100 characters
    text = "lead " + quote + " tail"
    q0 = text.index(quote)
    mostly = [passage("a.txt", 0, text=text[: q0 + 85]), passage("a.txt", 0, text=text[q0 + 80 :])]
    halves = [passage("a.txt", 0, text=text[: q0 + 50]), passage("a.txt", 0, text=text[q0 + 50 :])]
    assert m.coverage(quote, text[: q0 + 85]) == pytest.approx(0.85)
    assert m.evidence_hit(mostly, quote) == 1.0
    assert m.evidence_hit(halves, quote) == 0.0
    # Only the top 5 chunks count.
    assert m.evidence_hit([passage("b.txt", text="nothing")] * 5 + [passage("a.txt", text=text)], quote) == 0.0


def test_evidence_compares_nfc_text_and_ignores_white_space():
    quote = unicodedata.normalize("NFD", "Ngoại trưởng  Nga\nSergei Lavrov")
    assert m.evidence_hit([passage("a.txt", 0, 120)], quote) == 1.0
    assert m.evidence_hit([passage("a.txt", 0, 120)], "") is None
    assert record(evidence="", retrieved=[passage("a.txt")])["scores"]["evidence_recall@5"] is None


# -- answers --------------------------------------------------------------------


def test_must_include_ignores_case_and_diacritics():
    assert m.must_include_ok("Họ gặp nhau ở HÀ NỘI và Geneva", ["ha noi", "geneva"]) == 1.0
    assert m.must_include_ok("They met in Ha Noi", ["Hà Nội"]) == 1.0
    assert m.must_include_ok("Đà Nẵng", ["da nang"]) == 1.0
    assert m.must_include_ok("Ngày 14-12, ông Putin", ["14/12"]) == 1.0  # the articles write dates both ways
    assert m.must_include_ok("They met in Ha Noi", ["Hà Nội", "Blinken"]) == 0.0
    assert m.must_include_ok("anything", []) is None


def test_token_f1_known_values():
    assert m.token_f1("the cat sat", "cat sat down") == pytest.approx(0.8)  # P=1, R=2/3
    assert m.token_f1("Lavrov", "Lavrov") == 1.0
    assert m.token_f1("Putin", "Lavrov") == 0.0
    # Lead-in and [n] markers are not part of the answer; composed and decomposed text are one.
    lead = "From the articles:"
    assert (
        m.token_f1(f"{lead} “Lavrov gặp Blinken” [1]", unicodedata.normalize("NFD", "Lavrov gặp Blinken"), [lead])
        == 1.0
    )
    # Repeated tokens count once per occurrence (SQuAD): pred a a b vs ref a b -> P=2/3, R=1.
    assert m.token_f1("x x y", "x y") == pytest.approx(0.8)


def test_refused_answer_scores_zero_f1_and_fails_must_include():
    r = record(answer="The articles don't say. Lavrov", refused=True, must_include=["Lavrov"], expected_answer="Lavrov")
    assert r["scores"]["token_f1"] == 0.0 and r["scores"]["must_include"] == 0.0
    assert r["scores"]["false_refusal_rate"] == 1.0
    assert "false_refusal_rate" in r["failed_checks"] and "must_include" in r["failed_checks"]


# -- citations ------------------------------------------------------------------


def cite(n: int, source: str, start: int, end: int, quote: str | None = None) -> dict:
    return {
        "n": n,
        "source": source,
        "start": start,
        "end": end,
        "quote": ARTICLE[start:end] if quote is None else quote,
    }


def test_citation_precision_recall_and_hit():
    gold = ["a.txt", "b.txt"]
    one_gold_one_not = [cite(1, "a.txt", 0, 5), cite(2, "c.txt", 0, 5), cite(3, "a.txt", 10, 15)]
    assert m.citation_precision(one_gold_one_not, gold) == 0.5  # files, not citations
    assert m.citation_recall(one_gold_one_not, gold) == 0.5
    assert m.citation_hit(one_gold_one_not, gold) == 1.0
    assert m.citation_precision([], gold) is None  # an item that cites nothing has no precision
    assert m.citation_recall([], gold) == 0.0 and m.citation_hit([], gold) == 0.0
    assert m.citation_recall([cite(1, "a.txt", 0, 5)], []) is None


def test_citation_valid_needs_a_given_passage_with_that_quote():
    chunk = passage("a.txt", 10, 90)
    good = cite(1, "a.txt", 20, 40)
    assert m.check_markers("x [1]", [good], [chunk]) == {"markers": 1, "valid": 1, "invalid": []}
    assert m.check_markers("x [1]", [cite(1, "a.txt", 20, 40, quote="forged")], [chunk])["invalid"] == [1]
    assert m.check_markers("x [1]", [cite(1, "a.txt", 0, 40)], [chunk])["invalid"] == [1]  # starts before the chunk
    assert m.check_markers("x [1]", [cite(1, "b.txt", 20, 40)], [chunk])["invalid"] == [1]  # other file
    assert m.check_markers("x [1] [2] [1]", [good], [chunk]) == {"markers": 2, "valid": 1, "invalid": [2]}
    # A passage ranked for scoring only was not given to the answerer.
    r = record(answer="x [1]", citations=[good], retrieved=[passage("a.txt", 10, 90, used=False)])
    assert r["scores"]["citation_valid"] == 0.0 and "citation_valid" in r["failed_checks"]


def test_citation_valid_is_pooled_over_markers_and_null_without_markers():
    chunk = passage("a.txt", 10, 90)
    items = [
        record(answer="a [1] [2]", citations=[cite(1, "a.txt", 20, 40), cite(2, "a.txt", 30, 50)], retrieved=[chunk]),
        record(answer="b [1]", citations=[cite(1, "a.txt", 0, 5)], retrieved=[chunk]),
    ]
    assert m.aggregate(items)["citation_valid"] == pytest.approx(2 / 3, abs=1e-4)
    assert m.aggregate([record(answer="no markers")])["citation_valid"] is None


# -- refusals and the run summary -------------------------------------------------


def test_refusal_accuracy_and_false_refusal_rate():
    items = [
        record(answerable=False, gold_sources=[], refused=True),
        record(answerable=False, gold_sources=[], refused=False, answer="Lavrov [1]"),
        record(refused=True),
        record(refused=False),
        record(refused=False),
        record(refused=False),
    ]
    s = m.aggregate(items)
    assert s["refusal_accuracy"] == 0.5
    assert s["false_refusal_rate"] == 0.25
    assert s["n"] == 6 and s["n_answerable"] == 4 and s["n_unanswerable"] == 2
    assert set(items[1]["failed_checks"]) == {"refusal_accuracy", "citation_valid"}


def test_metrics_without_eligible_items_are_null_not_zero():
    only_unanswerable = [record(answerable=False, gold_sources=[], refused=True)]
    s = m.aggregate(only_unanswerable)
    for key in (
        "source_hit@5",
        "mrr@10",
        "evidence_recall@5",
        "must_include",
        "token_f1",
        "citation_precision",
        "citation_recall",
        "false_refusal_rate",
    ):
        assert s[key] is None, key
    assert s["refusal_accuracy"] == 1.0
    assert m.aggregate([record(retrieved=[passage("a.txt")])])["refusal_accuracy"] is None
    empty = m.aggregate([])
    assert empty["n"] == 0 and empty["latency_p50_s"] is None and empty["source_hit@5"] is None


def test_retrieval_only_records_have_no_answer_metrics():
    r = record(answer=None, refused=None, retrieved=[passage("a.txt")], must_include=["x"], expected_answer="x")
    assert r["scores"]["source_hit@5"] == 1.0
    assert all(r["scores"][k] is None for k in ("must_include", "token_f1", "citation_hit", "false_refusal_rate"))


def test_percentiles_interpolate_linearly():
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) is None
    s = m.aggregate([record(latency_s=t) for t in (1.0, 2.0, 3.0, 10.0)])
    assert s["latency_p50_s"] == 2.5 and s["latency_p95_s"] == pytest.approx(8.95)


def test_summary_has_every_language_and_type():
    items = [
        record(lang="en", type="fact", retrieved=[passage("a.txt")]),
        record(lang="en", type="multi", retrieved=[passage("b.txt")]),
        record(lang="vi", type="unanswerable", answerable=False, gold_sources=[], refused=True),
    ]
    s = m.summarize(items)
    assert s["source_hit@5"] == 0.5
    assert s["by_lang"]["en"]["source_hit@5"] == 0.5 and s["by_lang"]["vi"]["source_hit@5"] is None
    assert s["by_lang"]["vi"]["refusal_accuracy"] == 1.0
    assert set(s["by_type"]) == {"fact", "multi", "unanswerable"}
    assert s["by_type"]["multi"]["by_lang"]["en"]["source_hit@5"] == 0.0
    assert s["by_type"]["fact"]["by_lang"]["vi"]["n"] == 0


def test_floors_list_each_metric_out_of_bounds():
    summary = {
        "source_hit@5": 0.8,
        "false_refusal_rate": 0.3,
        "mrr@10": None,
        "by_lang": {"en": {"source_hit@5": 0.95}, "vi": {"source_hit@5": 0.7}},
    }
    floors = {
        "min": {
            "overall": {"source_hit@5": 0.85, "mrr@10": 0.5},
            "en": {"source_hit@5": 0.9},
            "vi": {"source_hit@5": 0.75},
        },
        "max": {"overall": {"false_refusal_rate": 0.2}},
    }
    problems = below_floors(summary, floors)
    assert len(problems) == 3  # mrr@10 has no value here, en is above its floor
    assert any(p.startswith("overall source_hit@5") for p in problems)
    assert any(p.startswith("vi source_hit@5") for p in problems)
    assert any("false_refusal_rate" in p and "ceiling" in p for p in problems)
