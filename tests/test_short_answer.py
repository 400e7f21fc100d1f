"""The short answer: a span of the cited sentence, of the asked kind, in the reader's words."""

from pathlib import Path

import pytest

from bot.answer.extractive import parts
from bot.evidence import asks_done, plan_only
from bot.names import has_person, names
from bot.short import short_answer
from bot.tables import read_table
from bot.text import fold

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
GENEVA = (
    "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm "
    "tại Geneva (Thụy Sĩ) về các vấn đề liên quan đến an ninh."
)


@pytest.mark.parametrize(
    "question, lang, short",
    [
        ("who met in Geneva on 21/1", "en", "Sergei Lavrov and Antony Blinken"),
        ("ai gap nhau o geneva ngay 21/1?", "vi", "Sergei Lavrov và Antony Blinken"),
        ("Where did Lavrov and Blinken meet?", "en", "Geneva (Switzerland)"),
        ("When did Lavrov meet Blinken?", "en", "21 January"),  # a date the English way
    ],
)
def test_geneva(question, lang, short):
    assert short_answer(question, [GENEVA], lang).text == short


@pytest.mark.parametrize(
    "question, sentence, short",
    [
        ("How long did the talks last?", "Ông đánh giá cuộc đối thoại kéo dài 1 giờ rưỡi như kế hoạch với người đồng cấp.", "1.5 hours"),
        ("How many troops has Russia massed?", "Nga đã huy động 100.000 quân dọc theo biên giới với Ukraine.", "100,000 troops"),  # thousands the English way
        ("Since what year has it been stalled?", "Tiến trình này đã bị đình trệ kể từ năm 2019.", "2019"),
        ("When will the exercise take place?", "Cuộc tập trận dự kiến diễn ra vào tháng 2 tới và là một phần của đợt kiểm tra.", "February"),
        ("How soon after the talks did the aid arrive?", "Chưa đầy 24 giờ sau cuộc đối thoại, chuyến hàng đầu tiên đã hạ cánh.", "less than 24 hours"),
    ],
)
def test_values_rendered_in_english(question, sentence, short):
    assert short_answer(question, [sentence], "en").text == short


def test_nothing_of_the_asked_kind_gives_no_short_answer():
    assert not short_answer("How many troops took part?", [GENEVA], "en")
    assert not short_answer("What did they discuss?", [GENEVA], "en")  # asks for no value


def test_names_skip_vietnamese_words_modifiers_and_names_the_question_gives():
    assert [n.text for n in names(GENEVA)] == ["Sergei Lavrov", "Antony Blinken", "Geneva"]
    spokesman = "Phát ngôn viên của Tổng thống Nga Vladimir Putin đã giải thích cách tổ chức Hiệp ước Bắc Đại Tây Dương (NATO) tạo ra tình huống."
    # Putin is named by the question; NATO is only a gloss in parentheses: no one answers "what is his name?".
    assert not has_person(spokesman, "phat ngon vien cua tong thong putin ten la gi?")
    named_after = "Nhóm Rasmussen Global (được đặt tên theo người sáng lập, cựu lãnh đạo NATO Anders Fogh Rasmussen) lên tiếng."
    assert "Anders Fogh Rasmussen" in short_answer("Who is the Rasmussen Global policy group named after?", [named_after], "en").text


def test_parts_split_on_conjunctions_only_when_each_asks():
    assert parts("When does the exercise begin and how long is it planned to last?") == [
        "When does the exercise begin",
        "how long is it planned to last",
    ]
    assert len(parts("Cuộc tập trận chung giữa Nga và Belarus dự kiến diễn ra vào tháng mấy?")) == 1
    assert len(parts("How many rounds took place, and did they narrow the gap?")) == 1


def test_tense():
    assert asks_done("What did they agree at the talks in Paris?")
    assert not asks_done("What did he say Moscow would do?")
    assert plan_only("Dự kiến vào ngày 25/1, các nước sẽ nối lại đàm phán tại Paris.")
    assert not plan_only("Washington đã nhất trí phản hồi bằng văn bản vào tuần tới và sẽ chia sẻ ý tưởng.")


@pytest.mark.parametrize("table", ["titles.tsv"])
def test_every_glossary_entry_occurs_in_article_text(table):
    text = fold(" ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")))
    missing = [k for k in read_table(table) if fold(k) not in text]
    assert not missing, f"{table}: not in any article: {missing}"
