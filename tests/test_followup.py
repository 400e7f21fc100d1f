"""Follow-ups without a model: the previous turn's names and cited passages are carried."""

from bot.followup import carry

FIRST = "who met in Geneva on 21/1"
ANSWER = (
    "Sergei Lavrov and Antony Blinken [1].\nFrom the articles: “Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và "
    "người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm tại Geneva (Thụy Sĩ) về các vấn đề liên quan đến an ninh.” [1]"
)


def test_names_dates_and_quotes_are_carried():
    c = carry("how long did their talks last?", [(FIRST, ANSWER)])
    assert c is not None
    assert {"Geneva", "21/1", "Sergei Lavrov", "Antony Blinken"} <= set(c.terms)
    assert " and ".join(c.terms) in c.question  # kept apart: two names stay two names
    assert c.quotes and c.quotes[0].startswith("Ngày 21/1")


def test_a_question_standing_on_its_own_carries_nothing():
    assert carry("Who is Jens Stoltenberg?", [(FIRST, ANSWER)]) is None
    assert carry("how long did their talks last?", None) is None


def test_the_new_question_names_win():
    c = carry("And what did he say on 14/1?", [(FIRST, ANSWER)])
    assert c is not None
    assert "21/1" not in c.terms  # the new question gives its own date
    assert "Sergei Lavrov" in c.terms


def test_a_generated_sentence_carries_its_names_not_its_words():
    """A generated answer's first line is a sentence: carried whole, every word of it would have
    to be matched by the follow-up's evidence, and the duration sentence names none of them."""
    generated = (
        "Người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm tại Geneva (Thụy Sĩ) về các vấn đề an ninh [1].\n"
        "Theo các bài báo: “Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken.” [1]"
    )
    c = carry("Cuộc đối thoại của họ kéo dài bao lâu?", [("Ai gặp nhau ở Geneva ngày 21/1?", generated)])
    assert c is not None
    assert "Antony Blinken" in c.terms
    assert not any("hội đàm" in t or "Người" in t for t in c.terms)
    assert c.terms.count("Geneva") == 1 and not any("thuy si" in t for t in c.terms)  # "Geneva (Thụy Sĩ)" is Geneva
