"""Citations without markers, and the grounding decision, on hand-written model outputs (issue 15).

Pure logic over real article sentences; the e5 similarity signal is left out
here (embed=None) so each case shows which of the translation-proof signals
decides it. `test_llm_structured.py` runs the whole path against servers.
"""

from __future__ import annotations

import pytest

from bot.answer.structured import AnswerStream, parse_reply
from bot.attribute import attribute, split_answer
from bot.evidence import Evidence

GENEVA = Evidence(
    "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm tại "
    "Geneva (Thụy Sĩ) về các vấn đề liên quan đến an ninh.",
    "002.txt", 50, 204, "c1", 1,
)
TROOPS = Evidence(
    "Nga được cho là đã triển khai khoảng 100.000 binh sĩ gần biên giới Ukraine.", "003.txt", 10, 90, "c2", 2
)
DRILL = Evidence(
    "Theo người phát ngôn Lầu Năm Góc, cuộc tập trận dự kiến kéo dài 12 ngày, bắt đầu từ ngày 24/1.",
    "000.txt", 300, 400, "c3", 3,
)
PASSAGES = [GENEVA, TROOPS, DRILL]


def support(text: str, **kw):
    return attribute(text, PASSAGES, "who met in Geneva on 21/1?", **kw)


def test_an_english_answer_without_markers_is_cited_by_its_names_and_date():
    (s,) = support("Sergei Lavrov and Antony Blinken met in Geneva on 21 January.")
    assert s.supported and s.cited == [1] and not s.missing


def test_each_sentence_gets_its_own_passage():
    first, second = support("Russia has about 100,000 troops near Ukraine. The exercise will last 12 days.")
    assert first.cited == [2] and second.cited == [3]
    assert first.supported and second.supported


def test_a_wrong_number_is_not_supported():
    (s,) = support("Lavrov and Blinken met in Geneva on 25/1.")
    assert not s.supported and "25/1" in s.missing


def test_an_invented_name_is_not_supported():
    (s,) = support("Lavrov met Emmanuel Macron in Geneva.")
    assert not s.supported and any("macron" in m for m in s.missing)


@pytest.mark.parametrize("text", [
    "Nguyễn Anh đã có cuộc hội đàm với Antony Blinken tại Geneva.",  # a first word, but a name follows it
    "Ngoại trưởng Nguyễn Lavrov đã có cuộc hội đàm tại Geneva.",  # one real word in a name of several
])
def test_an_invented_vietnamese_surname_is_not_supported(text):
    (s,) = support(text)
    assert not s.supported and any("nguyen" in m for m in s.missing)


@pytest.mark.parametrize("text", [
    "Câu tập trận dự kiến kéo dài 12 ngày.",  # a misspelt first word ("Cuộc"), capitalised as the first
    "Sergey Lavrov and Antony Blinken met in Geneva.",  # another spelling, no Vietnamese letters
])
def test_a_first_word_or_a_foreign_names_spelling_is_no_invented_name(text):
    (s,) = support(text)
    assert s.supported and not s.missing


def test_the_models_valid_markers_are_kept_and_out_of_range_ones_dropped():
    (kept,) = support("Lavrov and Blinken met in Geneva [1].")
    assert kept.model_cited == [1] and kept.cited == [1]
    (moved,) = support("Lavrov and Blinken met in Geneva [7].")
    assert moved.model_cited == [7] and moved.cited == [1]


def test_a_marker_on_a_passage_that_does_not_support_the_sentence_is_replaced():
    (s,) = support("Russia deployed about 100.000 troops near Ukraine [1].")
    assert s.cited == [2]


def test_the_json_replys_passages_count_as_markers():
    (s,) = support("Lavrov and Blinken met in Geneva.", extra_cited=[1])
    assert s.model_cited == [1] and s.cited == [1]


# Two articles telling of one meeting, and a third of another fact.
GENEVA_AGAIN = Evidence(
    "Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken gặp nhau tại Geneva hôm 21/1.",
    "000.txt", 900, 990, "c4", 4,
)
RYABKOV = Evidence("Thứ trưởng Ngoại giao Nga Sergei Ryabkov dẫn đầu phái đoàn Nga.", "003.txt", 28, 90, "c5", 5)
GRUSHKO = Evidence("Thứ trưởng Ngoại giao Nga Alexander Grushko phát biểu tại Brussels.", "004.txt", 50, 120, "c6", 6)


def test_a_fact_two_articles_state_is_cited_to_one():
    """Even when the model lists both: a second file for the same words points the reader nowhere new."""
    (s,) = attribute("Lavrov and Blinken met in Geneva.", [GENEVA, GENEVA_AGAIN], "who met in Geneva?",
                     extra_cited=[1, 2])
    assert s.cited == [1]


def test_the_judges_own_quote_wins_among_equals():
    (s,) = attribute("Lavrov and Blinken met in Geneva.", [GENEVA, GENEVA_AGAIN], "who met in Geneva?", prefer=[2])
    assert s.cited == [2]


def test_a_sentence_naming_what_two_articles_hold_cites_both():
    (s,) = attribute("The two deputy ministers are Sergei Ryabkov and Alexander Grushko.", [RYABKOV, GRUSHKO, DRILL],
                     "Which two Russian deputy foreign ministers are named?")
    assert s.supported and s.cited == [1, 2]


def test_names_the_question_gives_do_not_pull_in_another_article():
    """"Geneva" and "21/1" are the question's: they prove nothing about which passage was read."""
    (s,) = attribute("Lavrov and Blinken met in Geneva on 21/1.", [GENEVA, GENEVA_AGAIN],
                     "who met in Geneva on 21/1?")
    assert s.cited == [1]


def test_a_sentence_sharing_nothing_with_any_passage_is_unsupported():
    (s,) = support("The weather was pleasant.")
    assert not s.supported and not s.cited


def test_a_vietnamese_answer_is_supported_by_shared_words():
    (s,) = attribute("Cuộc tập trận kéo dài 12 ngày.", PASSAGES, "Cuộc tập trận kéo dài bao lâu?")
    assert s.supported and s.cited == [3]


def test_a_trailing_marker_after_the_full_stop_belongs_to_the_sentence():
    assert split_answer("Lavrov met Blinken. [1] They talked. [2]") == [("Lavrov met Blinken.", [1]), ("They talked.", [2])]


# -- the reply format ------------------------------------------------------------


def test_a_json_reply_is_read_as_fields():
    reply = parse_reply('{"answerable": true, "answer": "Lavrov and Blinken.", "passages": [1, 1, 2]}')
    assert reply.structured and reply.answerable is True and reply.answer == "Lavrov and Blinken."
    assert reply.passages == [1, 2]


def test_a_json_refusal_is_a_field():
    reply = parse_reply('{"answerable": false, "answer": "", "passages": []}')
    assert reply.answerable is False and reply.answer == ""


def test_a_reply_cut_by_the_token_limit_keeps_what_arrived():
    reply = parse_reply('{"answerable": true, "answer": "Lavrov and Blin')
    assert reply.structured and reply.answerable is True and reply.answer == "Lavrov and Blin"


def test_plain_text_replies_pass_through():
    reply = parse_reply("Lavrov and Blinken met [1].")
    assert not reply.structured and reply.answerable is None and reply.answer == "Lavrov and Blinken met [1]."


@pytest.mark.parametrize("cut", [1, 3, 7])
def test_the_answer_string_streams_out_of_partial_json(cut):
    raw = '{"answerable": true, "answer": "Lavrov \\"and\\" Blinken \\u0111\\u00e3 g\\u1eb7p.", "passages": [1]}'
    stream = AnswerStream()
    shown = "".join(stream.feed(raw[i : i + cut]) for i in range(0, len(raw), cut))
    assert shown == 'Lavrov "and" Blinken đã gặp.'


def test_plain_text_streams_as_it_comes():
    stream = AnswerStream()
    assert stream.feed("Lavrov ") + stream.feed("met [1].") == "Lavrov met [1]."


def test_a_name_of_several_words_is_looked_up_whole_then_by_a_distinctive_word():
    passage = Evidence("Mỹ và Nga đã thảo luận về an ninh ở châu Âu hôm 10/1.", "x.txt", 0, 60, "c", 1)
    (s,) = attribute("The United States and Russia discussed security on 10/1.", [passage])
    assert s.supported and not s.missing  # "United States" -> "Mỹ" (exonyms.tsv), not "united" + "states"


def test_a_possessive_name_is_the_name():
    (s,) = attribute("Washington's reply will come next week.", [Evidence(
        "Washington sẽ phản hồi bằng văn bản vào tuần tới.", "002.txt", 0, 50, "c", 1)], "Who will reply in writing?")
    assert s.supported and not s.missing
