"""Pure-logic tests of the slot checks: a plan's slot, a human's name, and which runners-up are quoted."""

from __future__ import annotations

import pytest

from bot.answer.extractive import choose
from bot.evidence import Evidence, asks_plan, fills_plan_slot
from bot.expect import expectation
from bot.names import asks_for_human, persons

RIA = (
    "Trong khi đó, hãng tin RIA dẫn nguồn phái đoàn Nga tham dự cuộc hội đàm tại Geneva cho biết "
    "Moskva và Mỹ có thể tổ chức cuộc gặp tiếp theo vào tháng tới để thảo luận các vấn đề an ninh."
)


@pytest.mark.parametrize(
    ("question", "plan"),
    [
        ("In which city will the next meeting be held?", True),
        ("Cuộc gặp tiếp theo sẽ diễn ra ở đâu?", True),
        ("Where did Lavrov and Blinken meet?", False),
        # Reported speech, not a plan.
        ("Which Russian official would not rule out sending military assets?", False),
        ("Hai bên đã gặp nhau ở đâu?", False),
    ],
)
def test_a_question_about_a_plan_is_told_apart(question: str, plan: bool) -> None:
    assert asks_plan(question) is plan


def test_the_place_of_the_talks_is_not_the_place_of_the_next_meeting() -> None:
    wanted = expectation("In which city will the next meeting be held?")
    assert not fills_plan_slot(RIA, wanted)
    assert not fills_plan_slot("Ngày 21/1, hai ngoại trưởng đã có cuộc hội đàm tại Geneva (Thụy Sĩ).", wanted)
    assert fills_plan_slot("Hai bên sẽ gặp lại tại Vienna vào tuần tới, theo nguồn tin.", wanted)


@pytest.mark.parametrize(
    ("question", "human"),
    [
        ("Which Russian diplomat said the talks were at a dead end?", True),
        ("Nhà ngoại giao Nga nào nhận định các cuộc trao đổi đã bế tắc?", True),
        ("phat ngon vien cua tong thong putin ten la gi?", True),
        ("Ai là người phát ngôn Điện Kremlin?", True),
        # A title elsewhere in the question is not the asked-for slot; "who" may be an organisation.
        ("Who did President Putin call on 14 December?", False),
        ("Who does Putin blame for the tensions?", False),
    ],
)
def test_a_question_asking_for_a_human_by_a_noun_for_one(question: str, human: bool) -> None:
    assert asks_for_human(question) is human


def test_an_organisation_does_not_answer_which_diplomat() -> None:
    sentence = "Ông Ryabkov nói rằng NATO đã không đáp ứng các yêu cầu của Moskva trong cuộc họp."
    assert [n.text for n in persons(sentence, "Who answered?")] == ["Ryabkov", "NATO"]
    assert [n.text for n in persons(sentence, "Which Russian diplomat answered?")] == ["Ryabkov"]


def _e(text: str, source: str, start: int, score: float) -> Evidence:
    e = Evidence(text, source, start, start + len(text), f"{source}:{start}", 1)
    e.score = e.relevance = score
    return e


KELIN = "Tuy vậy, theo Đại sứ Nga tại Anh Andrei Kelin, rất khó có chuyện diễn ra đối thoại theo ý nguyện của ông Putin."


@pytest.mark.parametrize("question", ["Ai là đại sứ Nga tại Anh?", "Who is Russia's ambassador to Britain?"])
def test_a_source_titled_with_the_asked_role_answers_it(question: str) -> None:
    """"theo X" names a source, no actor, unless X holds the role asked for; and the place
    "tại Anh" ends where the ambassador's name begins."""
    assert [n.text for n in persons(KELIN, question)] == ["Andrei Kelin"]
    assert persons(KELIN, "Who did Putin meet?") == []  # the source of a report is no actor


def test_another_articles_retelling_of_the_same_fact_is_not_quoted() -> None:
    question = "Lavrov và Blinken gặp nhau ở Geneva ngày nào?"
    best = _e("Ngày 21/1, Ngoại trưởng Lavrov và Ngoại trưởng Blinken đã hội đàm tại Geneva.", "a.txt", 0, 1.0)
    retold = _e("Hôm 21/1, Lavrov và Blinken đã hội đàm tại Geneva về an ninh châu Âu và Ukraine.", "b.txt", 0, 0.95)
    assert choose([best, retold], question=question, lang="vi") == [best]
    # Without the question (the old call), the runner-up is still quoted.
    assert choose([best, retold]) == [best, retold]


def test_a_runner_up_that_adds_a_named_part_of_the_question_is_quoted() -> None:
    question = "Lavrov gặp Blinken ở đâu và Putin điện đàm với Niinisto ngày nào?"
    best = _e("Ngoại trưởng Lavrov đã gặp người đồng cấp Blinken tại Geneva trong 90 phút.", "a.txt", 0, 1.0)
    other = _e("Ngày 14/12, Tổng thống Putin đã điện đàm với Tổng thống Phần Lan Niinisto.", "b.txt", 0, 0.9)
    assert choose([best, other], question=question, lang="vi") == [best, other]


def test_a_runner_up_from_the_same_article_joins_as_before() -> None:
    question = "Lavrov nói gì tại Geneva?"
    best = _e("Ngoại trưởng Lavrov cho biết đối thoại với Mỹ sẽ tiếp tục sau cuộc gặp ở Geneva.", "a.txt", 100, 1.0)
    same = _e("Ông Lavrov cũng nói Moskva không có kế hoạch tấn công Ukraine vào lúc này.", "a.txt", 900, 0.9)
    assert choose([best, same], question=question, lang="vi") == [best, same]


def test_each_part_of_a_question_is_answered_about_its_own_subject() -> None:
    from bot.answer.extractive import extractive_answer

    geneva = _e("Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và Ngoại trưởng Mỹ Antony Blinken đã hội đàm tại Geneva.", "a.txt", 0, 1.0)
    call = _e("Ngày 14-12, Tổng thống Putin đã điện đàm với Tổng thống Phần Lan Sauli Niinisto về Ukraine.", "b.txt", 0, 1.1)
    answer = extractive_answer(
        [call, geneva], "en", question="Who met in Geneva on 21/1, and when did Putin call the Finnish president?"
    )
    # Not the people of the call for the first part, nor the date of the Geneva talks for the second.
    assert answer.short.startswith("Sergei Lavrov and Antony Blinken")
    assert answer.short.endswith("14-12") or "14 December" in answer.short
    assert {c.source for c in answer.citations} == {"a.txt", "b.txt"}


@pytest.mark.parametrize(
    ("question", "date"),
    [
        ("Who met in Geneva on 21 January?", "21/1"),
        ("What happened on January 10?", "10/1"),
        ("Who spoke on 14 Dec?", "14/12"),
        ("who met in Geneva on 21/1", "21/1"),
    ],
)
def test_an_english_date_is_an_anchor_as_the_articles_write_it(question: str, date: str) -> None:
    from bot.anchors import anchors

    assert (date,) in anchors(question)
    assert ("2022",) in anchors("What happened in January 2022?")  # a year stays a year


def test_a_part_is_answered_by_the_sentence_naming_more_of_what_it_names() -> None:
    """Two sentences about as good for "who": the one naming the 10/1 talks with the US answers it."""
    from bot.answer.extractive import extractive_answer

    presidents = Evidence(
        "Các cuộc họp đã được tổ chức sau cuộc điện đàm giữa Tổng thống Mỹ Joe Biden và nhà lãnh đạo Nga Vladimir Putin.",
        "004.txt", 0, 110, "c1", 1, score=1.80, relevance=1.30,
    )
    ryabkov = Evidence(
        "Sergei Ryabkov, người dẫn đầu phái đoàn Nga trong cuộc họp với Mỹ hôm 10/1, đã phát biểu tại Geneva.",
        "003.txt", 28, 130, "c2", 2, score=1.70, relevance=1.20,
    )
    question = "Who headed Russia's delegation in the 10 January talks with the US, and in which city were they held?"
    answer = extractive_answer([presidents, ryabkov], "en", question=question)
    assert answer.citations[0].source == "003.txt" and "Ryabkov" in answer.short
