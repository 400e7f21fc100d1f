"""Which language a generated answer is in: names and numbers belong to neither."""

import pytest

from bot.answer.language import answer_language, language_ok


@pytest.mark.parametrize("text, lang", [
    ("Sergei Lavrov và Antony Blinken đã gặp nhau tại Geneva.", "vi"),
    ("Sergei Lavrov và Antony Blinken.", "vi"),  # one Vietnamese word between two names
    ("Sergei Lavrov and Antony Blinken met in Geneva (Thụy Sĩ).", "en"),  # a Vietnamese place name
    ("The talks were held in Geneva, Thụy Sĩ, on 21/1.", "en"),
    ("Cuộc tập trận kéo dài 12 ngày.", "vi"),
    ("Moscow will take “các biện pháp cần thiết” if its demands are not met.", "en"),  # the articles' words, quoted
])
def test_the_words_between_the_names_decide(text, lang):
    assert answer_language(text) == lang
    assert language_ok(text, lang)


@pytest.mark.parametrize("text", ["Sergei Lavrov, Antony Blinken.", "100.000", "NATO [1]."])
def test_names_and_numbers_alone_read_in_either_language(text):
    assert language_ok(text, "en") and language_ok(text, "vi")


def test_an_english_sentence_is_not_a_vietnamese_answer():
    assert not language_ok("Sergei Lavrov and Antony Blinken met in Geneva.", "vi")
    assert not language_ok("Ngoại trưởng Nga Sergei Lavrov đã gặp người đồng cấp Mỹ.", "en")


@pytest.mark.parametrize("text", [
    # The shapes a 1.5B model wrote that an earlier check read as "not English" (issue 22).
    "Russian expert Sergei Ryabkov warned that Moscow could deploy military assets to Cuba.",
    "Sergei Lavrov and Antony Blinken led the Russian and American delegations in Geneva.",
    "Vladimir Putin told Sauli Niinistö that NATO was to blame for the tensions.",
    "Nguyễn Đức Thắng is the head coach of Bình Định.",  # Vietnamese names, English words
    "The vaccine was tested on 554 volunteers at the Học viện Quân y in Hà Nội.",
    "Lê Anh Tuấn chairs the council of Đại học Bách khoa Hà Nội.",
])
def test_an_english_sentence_naming_russian_or_vietnamese_people_and_places_is_english(text):
    assert answer_language(text) == "en" and language_ok(text, "en")
