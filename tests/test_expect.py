"""The kind of value a question asks for, and refusing when the articles touch the topic but never give it."""

import pytest

from bot.expect import expectation, satisfied
from bot.prompts import message


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("How many warships did the US send?", {"quantity"}),
        ("bao nhiêu binh sĩ Nga ở biên giới?", {"quantity"}),
        ("bao nhieu binh si nga o bien gioi", {"quantity"}),
        ("Nga có mấy tổ hợp S-400 ở Belarus?", {"quantity"}),
        ("Tập trận diễn ra vào tháng mấy?", {"date"}),  # "tháng mấy" asks for a month, not a count
        ("How much did the shipment cost?", {"money"}),
        ("Hợp đồng trị giá bao nhiêu?", {"money"}),
        ("How long did the talks last?", {"duration"}),
        ("cuoc hop keo dai bao lau", {"duration"}),
        ("When will the drills start, and how long will they last?", {"date", "duration"}),
        ("Đàm phán nối lại khi nào?", {"date"}),
        ("Who leads the Russian delegation?", {"person"}),
        ("Which spokesman denied the plan?", {"person"}),  # any noun for a person (question_words.tsv)
        ("Đại sứ nào bác bỏ kế hoạch?", {"person"}),
        ("Cuộc gặp diễn ra ở đâu?", {"place"}),
        ("Why does Moscow object to NATO expansion?", set()),
        ("máy bay nào được điều tới?", set()),  # "máy" is no "mấy"
    ],
)
def test_the_kind_of_value_asked_for(question, kinds):
    assert expectation(question).kinds == kinds


def test_a_count_needs_the_counted_thing_right_after_the_number():
    wanted = expectation("How many soldiers has Russia gathered at the border?")
    assert satisfied("Nga đã tập trung khoảng 100.000 binh sĩ gần biên giới.", wanted) == {"quantity"}
    # A number, but of something else, or a date, is no answer.
    assert not satisfied("Hai đơn vị S-400 đã tới Belarus hôm 21/1.", wanted)
    assert not satisfied("Binh sĩ Nga tập trận từ ngày 10/2 tới.", wanted)


def test_a_count_ends_at_a_time_unit():
    """"24 giờ sau cuộc đối thoại" counts hours, not talks, though "cuộc" follows within reach."""
    wanted = expectation("How many rounds of talks were held?")
    assert not satisfied("Chưa đầy 24 giờ sau cuộc đối thoại, Nga lên tiếng.", wanted)
    assert satisfied("Cả 3 cuộc đàm phán giữa Nga và phương Tây đều chưa có kết quả.", wanted) == {"quantity"}


def test_a_duration_in_the_unit_asked_for():
    assert satisfied("Cuộc gặp kéo dài 1 giờ rưỡi.", expectation("Cuộc gặp kéo dài bao nhiêu giờ?"))
    assert not satisfied("Cuộc tập trận kéo dài 12 ngày.", expectation("Cuộc gặp kéo dài bao nhiêu giờ?"))
    assert satisfied("Cuộc tập trận kéo dài 12 ngày.", expectation("How long is the exercise?"))
    assert not satisfied("Cuộc tập trận bắt đầu ngày 12.", expectation("How long is the exercise?"))


def test_money_needs_a_currency_and_a_date_must_be_new():
    assert satisfied("Gói viện trợ trị giá 200 triệu USD.", expectation("How much is the aid worth?"))
    assert not satisfied("Gói viện trợ gồm 90 tấn vũ khí.", expectation("How much is the aid worth?"))
    wanted = expectation("When did Putin call Macron after his call on 14/12?")
    assert not satisfied("Ông Putin điện đàm với ông Niinisto ngày 14/12.", wanted)
    assert satisfied("Ông Putin điện đàm với ông Macron ngày 15/12.", wanted)
    assert satisfied("Cuộc đàm phán sẽ diễn ra vào tuần tới.", expectation("khi nào đàm phán diễn ra?"))


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        # On topic (the drills, the aid shipment, the carrier), but the articles give no such figure.
        ("How many Russian soldiers will join the drills in Belarus?", "en"),
        ("Chuyến hàng vũ khí đầu tiên của Mỹ tới Ukraine trị giá bao nhiêu tiền?", "vi"),
        ("How many fighter jets does the USS Harry S. Truman carry?", "en"),
        ("cuoc hop hoi dong nato-nga keo dai may tieng?", "vi"),
    ],
)
def test_on_topic_questions_whose_figure_the_articles_lack_are_hedged(shared_bot, question, lang):
    """Never "the articles don't say" for a question about what they cover: the closest passage is
    quoted, saying plainly that it may not answer exactly, with no short answer."""
    result = shared_bot.run(question)
    answer = result.answer
    assert not answer.refused and answer.lang == lang and result.judgement.value_missing
    assert "may-not-answer" in answer.flags and answer.citations and not answer.short
    assert answer.text.startswith(message("unsure", lang))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How long did Lavrov and Blinken talk in Geneva?", "1 giờ rưỡi"),
        ("How many days will Neptune Strike last?", "12 ngày"),
        ("Nga triển khai bao nhiêu binh sĩ gần biên giới Ukraine?", "100.000"),
        ("putin dien dam voi thu tuong anh boris johnson ngay nao", "13-12"),
    ],
)
def test_the_sentence_holding_the_figure_is_quoted(shared_bot, question, expected):
    answer = shared_bot.ask(question)
    assert not answer.refused and expected in answer.text


def test_a_place_follows_a_preposition_of_place_not_about():
    where = expectation("Cuộc gặp diễn ra ở đâu?")
    assert satisfied("Hai bên gặp nhau tại Geneva.", where) == {"place"}
    assert satisfied("Hai bên đã thảo luận về NATO và an ninh.", where) == frozenset()  # "về": about
    assert satisfied("Nga điều quân về phía Belarus.", where) == {"place"}
