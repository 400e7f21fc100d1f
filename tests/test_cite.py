"""Citation markers in hand-written model outputs: resolved, flagged, never renumbered."""

import re

import pytest

from bot.cite import is_refusal, marker_numbers, resolve, restates
from bot.evidence import Evidence

PASSAGES = [
    Evidence(
        "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm tại Geneva.",
        "002_5e381044bb73209e.txt",
        120,
        228,
        "chunk-a",
        1,
    ),
    Evidence(
        "Bộ Quốc phòng Nga hôm 21/1 xác nhận 2 đơn vị S-400 Triumph sẽ được vận chuyển đến Belarus.",
        "000_06e006c2fbeffc65.txt",
        0,
        92,
        "chunk-b",
        2,
    ),
    Evidence(
        "Tổng thư ký NATO Jens Stoltenberg kêu gọi Nga giảm căng thẳng.",
        "004_bb64801ae19f6d5c.txt",
        300,
        362,
        "chunk-c",
        1,
    ),
]


def consistent(answer) -> bool:
    """Every [n] in the text has its citation and every citation its [n]."""
    in_text = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    return in_text == {c.n for c in answer.citations}


def test_valid_marker_maps_to_its_passage():
    answer = resolve("Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1].", PASSAGES, "en", answerer="m")
    assert answer.mode == "llm" and not answer.refused and answer.answerer == "m" and answer.flags == []
    (c,) = answer.citations
    p = PASSAGES[0]
    assert (c.n, c.source, c.quote, c.start, c.end, c.chunk_id) == (1, p.source, p.text, p.start, p.end, p.chunk_id)
    assert answer.text == "Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1]."


@pytest.mark.parametrize(
    ("raw", "text", "cited"),
    [
        ("Lavrov met Blinken [1, 2].", "Lavrov met Blinken [1][2].", [1, 2]),
        ("Lavrov met Blinken [1][2].", "Lavrov met Blinken [1][2].", [1, 2]),
        ("Lavrov met Blinken [2; 1].", "Lavrov met Blinken [2][1].", [2, 1]),
        ("Lavrov met Blinken [1-3].", "Lavrov met Blinken [1][2][3].", [1, 2, 3]),
        ("Lavrov met Blinken [Passage 2].", "Lavrov met Blinken [2].", [2]),
        ("Lavrov met Blinken [ 3 ].", "Lavrov met Blinken [3].", [3]),
    ],
)
def test_marker_forms_are_normalised_without_renumbering(raw, text, cited):
    answer = resolve(raw, PASSAGES, "en")
    assert answer.text == text
    assert [c.n for c in answer.citations] == cited
    assert all(c.quote == PASSAGES[c.n - 1].text for c in answer.citations)
    assert consistent(answer)


def test_out_of_range_markers_are_removed_and_flagged():
    answer = resolve("Lavrov met Blinken [7]. S-400 went to Belarus [2, 9]. NATO [0].", PASSAGES, "en")
    assert "[7]" not in answer.text and "[9]" not in answer.text and "[0]" not in answer.text
    assert answer.text == "Lavrov met Blinken. S-400 went to Belarus [2]. NATO."
    assert [c.n for c in answer.citations] == [2]
    assert answer.flags == ["invalid-citation:[7]", "invalid-citation:[9]", "invalid-citation:[0]"]
    assert consistent(answer)


def test_only_invalid_markers_means_uncited():
    answer = resolve("HACKED [7]", PASSAGES, "en")
    assert answer.citations == []
    assert "invalid-citation:[7]" in answer.flags and "uncited-claims" in answer.flags
    assert answer.text == "HACKED"


def test_missing_markers_flag_uncited_claims():
    answer = resolve("Lavrov met Blinken in Geneva.", PASSAGES, "en")
    assert answer.citations == [] and answer.flags == ["uncited-claims"]
    assert answer.mode == "llm" and not answer.refused


def test_duplicated_markers_cite_once_and_collapse():
    answer = resolve("Lavrov met Blinken [1][1]. They met in Geneva [1]. S-400 [2] [2].", PASSAGES, "en")
    assert [c.n for c in answer.citations] == [1, 2]
    assert answer.text == "Lavrov met Blinken [1]. They met in Geneva [1]. S-400 [2]."
    assert consistent(answer)


def test_years_and_dates_in_brackets_are_not_markers():
    assert marker_numbers("In [2022] on [21/1] they met [1].") == [[1]]
    answer = resolve("In [2022] they met [1].", PASSAGES, "en")
    assert "[2022]" in answer.text and [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize(
    ("raw", "lang", "fixed"),
    [
        ("The articles don't say.", "en", "The articles don't say."),
        ("The articles don’t say", "en", "The articles don't say."),
        ("  The articles do not say!  ", "en", "The articles don't say."),
        ("The articles don't say. [1]", "en", "The articles don't say."),
        ("The articles don't say anything about this.", "en", "The articles don't say."),
        ("The article doesn't say.", "en", "The articles don't say."),
        ("Các bài báo không đề cập đến điều này.", "vi", "Các bài báo không đề cập đến điều này."),
        ("Các bài báo không đề cập điều này", "vi", "Các bài báo không đề cập đến điều này."),
        # Refusing in the other language is still a refusal, given in the question's language.
        ("Các bài báo không đề cập đến điều này.", "en", "The articles don't say."),
    ],
)
def test_refusals_are_detected_and_given_as_the_fixed_sentence(raw, lang, fixed):
    answer = resolve(raw, PASSAGES, lang)
    assert answer.refused and answer.mode == "refusal"
    assert answer.text == fixed and answer.citations == [] and answer.flags == []


@pytest.mark.parametrize(
    "raw",
    [
        "The articles say that Lavrov met Blinken in Geneva [1].",
        "Lavrov and Blinken met in Geneva on 21/1, and the talks were about security guarantees for Europe [1].",
        "The articles don't say why, but Lavrov met Blinken in Geneva on 21/1 to discuss security [1].",
    ],
)
def test_answers_that_mention_articles_are_not_refusals(raw):
    assert not is_refusal(raw)
    answer = resolve(raw, PASSAGES, "en")
    assert not answer.refused and [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize(
    ("answer", "question", "parrot"),
    [
        ("The senior Russian diplomat said Moscow would take [1][2].", "What 'necessary measures' did the senior Russian diplomat say Moscow would take?", True),
        ("Tổng thống Phần Lan đã trả lời thế nào [1].", "Tổng thống Phần Lan đã trả lời thế nào trước yêu cầu của ông Putin?", True),
        ("Sergei Lavrov and Antony Blinken [1].", "Who met in Geneva on 21/1?", False),
        ("The exercise lasts 12 days [1].", "How long does the Neptune Strike exercise last?", False),
        ("", "Who met in Geneva?", False),
    ],
)
def test_an_answer_that_only_restates_the_question_is_told_apart(answer, question, parrot):
    assert restates(answer, question) is parrot
