"""The conversation after an answer: one rule for the chat and the /chat endpoint."""

from bot.answer import Answer
from bot.ui.handlers import Conversation, _next_turn


def test_an_answer_is_kept_for_follow_ups_and_a_hint_is_not():
    conv = _next_turn(Conversation(), "who met in Geneva on 21/1", Answer("Sergei Lavrov and Antony Blinken [1].", mode="extractive"))
    assert conv.pairs == [("who met in Geneva on 21/1", "Sergei Lavrov and Antony Blinken [1].")]
    assert [m["role"] for m in conv.messages] == ["user", "assistant"]

    after = _next_turn(conv, "how long?", Answer("Sorry, this question could not be answered.", mode="hint"))
    assert after.pairs == conv.pairs  # nothing for a follow-up to lean on
    assert [m["role"] for m in after.messages] == ["user", "assistant", "user", "assistant"]  # but it was asked


def test_an_empty_question_adds_only_the_hint():
    conv = _next_turn(Conversation(), "", Answer("Type a question about the articles.", mode="hint"))
    assert conv.pairs == [] and [m["role"] for m in conv.messages] == ["assistant"]
