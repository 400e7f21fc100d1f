"""A question typed all in lower case is answered as if its names had their capitals."""

import pytest

from bot.anchors import anchors
from bot.casing import name_forms, truecase

ARTICLES = [
    "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken đã hội đàm tại Geneva.\n"
    "Hai bên gặp nhau tại Geneva và nói về NATO. Ông Lavrov nói NATO phải dừng lại.",
    "Tại Geneva, ông Blinken nói chuyện với báo giới. Cuộc gặp ở Geneva kéo dài 1 giờ rưỡi.",
]


def test_the_articles_say_which_words_are_names():
    forms = name_forms(ARTICLES)
    assert forms["geneva"] == "Geneva" and forms["nato"] == "NATO" and forms["lavrov"] == "Lavrov"
    assert "ngay" not in forms and "hai" not in forms and "tai" not in forms  # capitalised only to open a sentence
    assert "ngoai" not in forms  # a title word (Ngoại trưởng), no name


def test_a_question_in_lower_case_gets_the_names_capitals():
    forms = name_forms(ARTICLES)
    cased = truecase("ai gap nhau o geneva ngay 21/1?", forms)
    assert cased == "ai gap nhau o Geneva ngay 21/1?"
    assert ("geneva",) in anchors(cased)
    assert truecase("what did lavrov say about nato", forms) == "what did Lavrov say about NATO"


def test_a_question_the_asker_cased_is_left_as_typed():
    forms = name_forms(ARTICLES)
    assert truecase("who met Lavrov in geneva?", forms) == "who met Lavrov in geneva?"
    assert truecase("Who met in geneva?", forms) == "Who met in Geneva?"  # a question's first capital is no casing


@pytest.mark.parametrize("typed", ["ai gap nhau o geneva ngay 21/1?", "who met in geneva on 21/1"])
def test_lower_case_questions_are_answered_like_cased_ones(shared_bot, typed):
    cased = typed.replace("geneva", "Geneva")
    lower, proper = shared_bot.ask(typed), shared_bot.ask(cased)
    assert [(c.source, c.start) for c in lower.citations] == [(c.source, c.start) for c in proper.citations]
    assert "Lavrov" in lower.text and "Blinken" in lower.text


def test_a_hyphenated_name_is_found_as_the_text_writes_it():
    """"NATO-Nga" is two words of the name and one token of the article."""
    from bot.anchors import anchor_found

    text = " hoi dong nato-nga ngay 12/1 "
    assert anchor_found(("nato", "nga"), text, set(text.split()), "vi")
    assert ("nato", "nga") in anchors(truecase("cuoc hop hoi dong nato-nga keo dai may tieng?", {"nato": "NATO", "nga": "Nga"}))


def test_name_counts_follow_the_chunks_that_come_and_go():
    from bot.casing import NameCounts, name_forms

    texts = ["Ông Lavrov gặp ông Blinken ở Geneva.", "Hôm nay ông Lavrov nói với NATO.", "Cuộc họp ở Geneva kết thúc.",
             "Ở geneva trời mưa và Ông đi bộ."]
    counts = NameCounts.of(texts[:2])
    changed = counts.changed(NameCounts.of(texts[:1]), NameCounts.of(texts[2:]))
    assert changed == NameCounts.of(texts[1:])  # taking one chunk out and two in = counting the rest anew
    assert changed.forms() == name_forms(texts[1:])
