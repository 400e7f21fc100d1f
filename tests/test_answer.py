"""Answers from the extractive default: short, quoted, cited, or a plain refusal."""

import pytest
from conftest import GENEVA_FILES, SEEDS


@pytest.mark.parametrize(
    "question",
    ["who met in Geneva on 21/1", "ai gặp nhau ở Geneva ngày 21/1?", "ai gap nhau o geneva"],
)
def test_geneva_question_names_both_ministers_with_citations(shared_bot, question):
    answer = shared_bot.ask(question)
    assert not answer.refused
    assert "Lavrov" in answer.text and "Blinken" in answer.text
    assert answer.citations and {c.source for c in answer.citations} & GENEVA_FILES
    for c in answer.citations:
        text = (SEEDS / c.source).read_text(encoding="utf-8")
        assert text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text


@pytest.mark.parametrize(
    ("question", "lang", "refusal"),
    [
        ("What is the capital of France?", "en", "The articles don't say."),
        ("what is the weather in Hanoi today", "en", "The articles don't say."),
        ("Giá vàng hôm nay ở Hà Nội là bao nhiêu?", "vi", "Các bài báo không đề cập đến điều này."),
        ("Who won the 2022 football World Cup?", "en", "The articles don't say."),
        # No names to check: the topic-overlap gate decides.
        ("How do I bake sourdough bread?", "en", "The articles don't say."),
        ("Công thức nấu phở bò như thế nào?", "vi", "Các bài báo không đề cập đến điều này."),
        ("What's the weather like tomorrow?", "en", "The articles don't say."),
        ("Tell me a joke", "en", "The articles don't say."),
    ],
)
def test_off_topic_questions_are_refused_in_their_language(shared_bot, question, lang, refusal):
    answer = shared_bot.ask(question)
    assert answer.refused and answer.text == refusal and answer.lang == lang
    assert not answer.citations


def test_answer_is_short(shared_bot):
    answer = shared_bot.ask("Which system did Russia send to Belarus?")
    assert "S-400" in answer.text
    assert len(answer.citations) <= 2 and len(answer.text) < 800


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Who is Stoltenberg?", "Stoltenberg"),
        ("Who is Wendy Sherman?", "Wendy Sherman"),
        ("Ryabkov Cuba", "Ryabkov"),
        ("Neptune Strike", "Neptune Strike"),
    ],
)
def test_short_on_topic_questions_are_answered(shared_bot, question, name):
    answer = shared_bot.ask(question)
    assert not answer.refused and name in answer.text
