"""The generated-answer mechanisms for small models, against a real OpenAI-protocol server on loopback.

tests/fake_openai.py is scripted per test: a JSON reply where the schema is
taken, a 400 where it is not, a refusal, a reply in the wrong language, a
stream that drips past the time limit. (test_llm_local.py runs the same
request against llama.cpp itself.)
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SEEDS, stream_answer

from bot.answer import Status
from bot.pipeline import Bot
from bot.prompts import message

KEY = "CANARYNOPREFIX1234567890abcdef"
GENEVA = "who met in Geneva on 21/1?"
DRILL = "How many days will the Neptune Strike exercise last?"


def reply(answer: str, passages=(1,), answerable: bool = True) -> str:
    return json.dumps({"answerable": answerable, "answer": answer, "passages": list(passages)})


# The defaults of conftest's `make_bot` in this module.
LLM_SETTINGS = dict(llm_timeout_s=2.0, llm_max_retries=0)


def events(bot: Bot, question: str) -> list:
    return list(bot.stream(question))


def test_a_json_reply_streams_its_answer_and_is_cited_from_its_fields(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva on 21/1."))
    pieces, result = stream_answer(bot, GENEVA)
    answer = result.answer
    # People see the answer string as it is written, never the braces.
    assert "".join(pieces) == "Sergei Lavrov and Antony Blinken met in Geneva on 21/1."
    assert answer.mode == "llm" and answer.text.startswith("Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1].")
    assert answer.citations and "Lavrov" in answer.citations[0].quote
    (call,) = answer.trace["calls"]
    assert call["structured"] and call["prompt_tokens"] == 321 and call["first_token_s"] is not None
    sent = fake.chat_requests()[0]["body"]
    schema = sent["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == {"answerable", "answer", "passages"}


def test_markers_are_added_where_the_model_wrote_none(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva.", passages=[]))
    _, result = stream_answer(bot, GENEVA)
    answer = result.answer
    assert answer.mode == "llm" and "[1]" in answer.text and "citations-attributed:1" in answer.flags


def test_a_server_rejecting_the_schema_gets_plain_text_from_then_on(make_bot, fake, caplog):
    bot = make_bot()
    fake.script("no-schema", answer="Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1].")
    with caplog.at_level(logging.WARNING):
        _, first = stream_answer(bot, GENEVA)
        _, second = stream_answer(bot, GENEVA)
    assert first.answer.mode == "llm" and second.answer.mode == "llm"
    sent = [r["body"] for r in fake.chat_requests()]
    assert "response_format" in sent[0] and all("response_format" not in b for b in sent[1:])
    assert len(sent) == 3  # rejected, then plain; the next question plain at once
    assert sum("does not take a JSON schema" in r.message for r in caplog.records) == 1


def test_a_refusal_is_a_field(make_bot, fake):
    """A question asking for no kind of value the judge can check: the model's refusal stands."""
    bot = make_bot()
    fake.script("ok", answer=reply("", passages=[], answerable=False))
    _, result = stream_answer(bot, "What did Lavrov say about the Geneva talks with Blinken?")
    assert result.answer.refused and result.answer.text == message("refusal", "en")


def test_a_refusal_against_the_evidence_gets_a_second_look_at_the_value(make_bot, fake):
    """The judge found the asked-for duration ("12 ngày"); the model refused; shown that sentence alone, it answers."""
    bot = make_bot()
    fake.script("ok", answers=[reply("", [], answerable=False), reply("The exercise will last 12 days.")])
    _, result = stream_answer(bot, DRILL)
    answer = result.answer
    assert answer.mode == "llm" and "12" in answer.text and answer.trace["second_look"] == "answered"
    first, second = fake.chat_requests()
    assert first["body"]["messages"][-1]["content"].count("\n1. ") == 1
    assert "12 ngày" in second["body"]["messages"][-1]["content"]


def test_a_refusal_held_on_the_second_look_quotes_the_value_saying_it_may_not_answer(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=reply("", [], answerable=False))
    _, result = stream_answer(bot, DRILL)
    answer = result.answer
    assert not answer.refused and answer.mode == "extractive" and "12 ngày" in answer.text
    assert answer.notice == message("may_not_answer", "en") and "model-refused" in answer.flags


def test_an_answer_that_only_says_the_question_back_is_the_models_i_dont_know(make_bot, fake):
    """A small model finding nothing parrots the question with markers: it is asked once more
    with the best sentence alone, and when it parrots again the bot refuses."""
    bot = make_bot()
    question = "What did Lavrov say about the Geneva talks with Blinken?"
    fake.script("ok", answer=reply("Lavrov said about the Geneva talks with Blinken [1][2].", passages=[1, 2]))
    _, result = stream_answer(bot, question)
    assert result.answer.refused and result.answer.trace["refusal"] == "model-echoed"
    assert result.answer.trace["second_look"] == "refused" and len(fake.chat_requests()) == 2


def test_a_parroted_question_answered_on_the_second_look_is_shown(make_bot, fake):
    bot = make_bot()
    question = "What did Lavrov say about the Geneva talks with Blinken?"
    fake.script("ok", answers=[
        reply("Lavrov said about the Geneva talks with Blinken [1]."),
        reply("Lavrov held talks with Antony Blinken in Geneva on 21/1."),
    ])
    _, result = stream_answer(bot, question)
    assert result.answer.mode == "llm" and not result.answer.refused, result.answer.trace
    assert result.answer.trace["refusal"] == "model-echoed" and result.answer.trace["second_look"] == "answered"


def test_a_parroted_question_with_the_value_in_the_evidence_gets_the_second_look(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answers=[reply("The Neptune Strike exercise will last [1]."), reply("It will last 12 days.")])
    _, result = stream_answer(bot, DRILL)
    assert result.answer.mode == "llm" and "12" in result.answer.text
    assert result.answer.trace["second_look"] == "answered"


def test_an_answer_without_the_asked_for_number_gets_the_judges_sentence(make_bot, fake):
    """"How many days…?" answered with no number, while the judge holds "12 ngày": the model
    rested on the wrong passage; shown the judge's sentence alone, it answers."""
    bot = make_bot()
    fake.script("ok", answers=[reply("The exercise is a NATO drill in the Mediterranean."), reply("It will last 12 days.")])
    _, result = stream_answer(bot, DRILL)
    answer = result.answer
    assert answer.mode == "llm" and "12" in answer.text
    assert answer.trace["missed_value"] and answer.trace["second_look"] == "answered"
    assert "12 ngày" in fake.chat_requests()[1]["body"]["messages"][-1]["content"]


def test_quotes_under_a_generated_answer_come_from_the_files_it_rests_on(make_bot, fake):
    """The model's passage and the judge's best sentence are the proof; no third article for nothing.
    (Three articles tell of the Putin-Biden call; the extractive answer quotes all three.)"""
    question = "putin hoi dam truc tuyen voi tong thong my biden ngay nao?"
    bot = make_bot()
    fake.script("ok", answer=reply("Ông Putin hội đàm trực tuyến với Tổng thống Mỹ Joe Biden ngày 7-12.", passages=[1]))
    _, result = stream_answer(bot, question)
    answer = result.answer
    assert answer.mode == "llm"
    rests_on = {c.source for c in answer.citations if f"[{c.n}]" in answer.text.split("\n")[0]}
    assert {c.source for c in answer.citations} <= rests_on | {result.evidence[0].source}


BIDEN_CALL = "putin hoi dam truc tuyen voi tong thong my biden ngay nao?"


def other_passage(bot, fake, question: str, judged: str) -> tuple[int, str]:
    """A passage the prompt shows that does not hold the judge's answer (`judged`): its number and text."""
    fake.script("ok", answers=[reply("", answerable=False)])
    stream_answer(bot, question)
    prompt = fake.chat_requests()[0]["body"]["messages"][-1]["content"]
    for line in prompt.splitlines():
        number, dot, rest = line.partition(". ")
        if dot and number.strip().isdigit() and int(number) > 1 and judged not in rest and len(rest.split()) >= 8:
            return int(number), rest.strip().strip("“”\"")
    raise AssertionError("the prompt shows no passage besides the judge's")


def test_an_answer_resting_on_an_article_the_judge_does_not_quote_gets_the_judges_sentence(make_bot, fake):
    """A small model copies a weaker passage about as often as it answers: shown the judge's
    best sentence alone, it answers from it, and that answer is shown."""
    bot = make_bot()
    other, text = other_passage(bot, fake, BIDEN_CALL, "7-12")
    fake.script("ok", answers=[reply(text, passages=[other]),
                               reply("Ông Putin hội đàm trực tuyến với Tổng thống Mỹ Joe Biden ngày 7-12.")])
    _, result = stream_answer(bot, BIDEN_CALL)
    answer = result.answer
    assert answer.mode == "llm" and "7-12" in answer.text and text not in answer.text
    assert answer.trace["elsewhere"] and answer.trace["second_look"] == "answered"
    first, second = fake.chat_requests()
    assert f"{other}. " in first["body"]["messages"][-1]["content"]
    shown = second["body"]["messages"][-1]["content"]
    assert "7-12" in shown and text not in shown and "2. " not in shown
    assert {c.source for c in answer.citations} == {result.evidence[0].source}


def test_the_first_answer_stands_when_the_judges_sentence_gives_the_model_none(make_bot, fake):
    bot = make_bot()
    other, text = other_passage(bot, fake, BIDEN_CALL, "7-12")
    fake.script("ok", answers=[reply(text, passages=[other]), reply("", answerable=False)])
    _, result = stream_answer(bot, BIDEN_CALL)
    answer = result.answer
    assert answer.mode == "llm" and answer.text.startswith(text[:40])
    assert answer.trace["elsewhere"] and answer.trace["second_look"] == "no-answer"
    assert answer.trace["answer"] == text and not answer.trace.get("problems")


def test_an_answer_in_the_wrong_language_is_asked_for_again(make_bot, fake):
    bot = make_bot()
    vietnamese = reply("Ngoại trưởng Sergei Lavrov và người đồng cấp Antony Blinken đã gặp nhau tại Geneva.")
    fake.script("ok", answers=[vietnamese, reply("Sergei Lavrov and Antony Blinken met in Geneva.")])
    _, result = stream_answer(bot, GENEVA)
    assert result.answer.text.startswith("Sergei Lavrov and Antony Blinken met in Geneva")
    assert "answer-language-mismatch" not in result.answer.flags and result.answer.trace["language_retry"]
    assert "must be written in English" in fake.chat_requests()[1]["body"]["messages"][-1]["content"]
    # Twice in the wrong language: the articles' words in the extractive shape, said why.
    fake.script("ok", answer=vietnamese)
    _, again = stream_answer(bot, GENEVA)
    assert "answer-language-mismatch" in again.answer.flags and again.answer.mode == "extractive"
    assert "did not answer in English" in again.answer.notice and "Lavrov" in again.answer.short


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Sergei Lavrov and Antony Blinken met in Geneva on 25/1.", "not-in-passages:25/1"),
        ("Lavrov met Emmanuel Macron in Geneva.", "not-in-passages:"),
    ],
)
def test_a_wrong_number_or_an_invented_name_is_not_shown_as_the_answer(make_bot, fake, text, problem):
    bot = make_bot()
    fake.script("ok", answer=reply(text))
    _, result = stream_answer(bot, GENEVA)
    answer = result.answer
    assert answer.mode == "extractive" and "ungrounded" in answer.flags
    assert any(f.startswith(problem) for f in answer.flags)
    assert answer.trace["calls"][0]["raw"] == reply(text)  # the raw output is kept for the eval


def test_the_first_event_says_the_model_is_being_waited_for(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva."))
    first = events(bot, GENEVA)[0]
    assert isinstance(first, Status) and bot.answerer_label in first.text


def test_a_silent_server_costs_the_first_token_limit_once_not_three_minutes(make_bot, fake):
    bot = make_bot(llm_timeout_s=1.0, llm_max_retries=2)
    fake.script("slow", delay=30)
    started = time.monotonic()
    _, result = stream_answer(bot, GENEVA)
    assert time.monotonic() - started < 8
    assert len(fake.chat_requests()) == 1  # timeouts are not retried
    assert "no reply within 1s" in result.answer.notice and result.answer.mode == "extractive"


def test_a_reply_dripping_past_the_total_limit_is_cut(make_bot, fake):
    bot = make_bot(llm_timeout_s=2.0, llm_total_s=1.5)
    fake.script("drip", delay=0.4, answer=reply("Sergei Lavrov and Antony Blinken met in Geneva on 21/1 for talks."))
    started = time.monotonic()
    _, result = stream_answer(bot, GENEVA)
    assert time.monotonic() - started < 6
    assert "no complete answer within 1.5s" in result.answer.notice and result.answer.mode == "extractive"


def test_a_key_in_a_long_error_message_is_masked_before_it_is_cut(make_bot, fake):
    bot = make_bot(openai_api_key=KEY)
    fake.script(400)
    _, result = stream_answer(bot, GENEVA)
    notice = result.answer.notice
    assert "request refused (400" in notice
    for n in range(6, len(KEY) + 1):
        assert KEY[:n] not in notice


def test_a_password_in_the_base_url_never_reaches_the_verbose_log(seeded_index, fake):
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva on 21/1."))
    url = fake.base_url.replace("http://", "http://user:hunter2secret@")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(seeded_index), BOT_DATA_DIR=str(SEEDS), OPENAI_BASE_URL=url, BOT_AUTODETECT="0")
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "-v", "ask", GENEVA],
        capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).parent,
    )
    assert out.returncode == 0, out.stderr
    assert "HTTP Request" in out.stderr  # the client's own log line is there, masked
    assert "hunter2secret" not in out.stdout + out.stderr


def test_the_fallback_is_said_once(seeded_index):
    """A failing model: one notice with the extractive answer, not a WARNING line as well (issue 11.9)."""
    from conftest import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(
        BOT_INDEX_DIR=str(seeded_index), BOT_DATA_DIR=str(SEEDS), BOT_AUTODETECT="0", BOT_LLM_MAX_RETRIES="0",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
    )
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", GENEVA],
        capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).parent,
    )
    assert out.returncode == 0, out.stderr
    both = out.stdout + out.stderr
    assert both.count("cannot connect") == 1 and "WARNING" not in both and "Lavrov" in out.stdout


def test_a_passages_straight_quotes_reach_the_model_as_typographic_ones(make_bot, fake):
    """A small model copying 'Sherman than phiền "không có cam kết…' into its JSON answer ends the
    string at the quote: the passages it reads hold “…” instead, which a JSON string keeps."""
    bot = make_bot()
    fake.script("ok", answer=reply("Wendy Sherman than phiền “không có cam kết xuống thang” nào được đưa ra."))
    _, result = stream_answer(bot, "Wendy Sherman than phiền điều gì sau cuộc họp Hội đồng NATO-Nga?")
    user = fake.chat_requests()[0]["body"]["messages"][-1]["content"]
    assert "“không có cam kết xuống thang”" in user
    numbered = [line for line in user.splitlines() if line[:1].isdigit() and line[1:3] == ". "]
    assert numbered and not any('"' in line for line in numbered)
    assert result.answer.mode == "llm" and "cam kết xuống thang" in result.answer.text


LAVROV_TALKS = "Ông Lavrov nói gì về đối thoại giữa hai nước sau cuộc hội đàm?"


def test_an_answer_sharing_nothing_with_the_question_gets_the_judges_sentence(make_bot, fake):
    """A small model that loses the thread copies a piece of another passage: grounded, from the
    judge's article even, but about something else. Shown the judge's best sentence alone, it answers."""
    bot = make_bot()
    fake.script("ok", answers=[reply("Moskva không có kế hoạch tấn công Ukraine.", passages=[2]),
                               reply("Ông Lavrov cho biết đối thoại giữa hai nước sẽ vẫn tiếp tục.")])
    _, result = stream_answer(bot, LAVROV_TALKS)
    answer = result.answer
    assert answer.mode == "llm" and answer.text.startswith("Ông Lavrov cho biết đối thoại giữa hai nước sẽ vẫn tiếp tục")
    assert answer.trace["off_question"] and answer.trace["second_look"] == "answered"
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize("question, text", [
    ("Nga điều bao nhiêu binh sĩ tới biên giới Ukraine?", "Khoảng 100.000 quân."),  # a number, asked for
    ("Ai gặp nhau ở Geneva ngày 21/1?", "Sergei Lavrov và Antony Blinken."),  # the persons asked for
])
def test_an_answer_holding_the_asked_for_value_is_on_the_question_in_no_shared_word(make_bot, fake, question, text):
    bot = make_bot()
    fake.script("ok", answer=reply(text))
    _, result = stream_answer(bot, question)
    assert result.answer.mode == "llm", (result.answer.flags, result.answer.trace)
    assert not result.answer.trace.get("off_question")
    assert len(fake.chat_requests()) == 1


def test_a_lower_case_question_is_weighed_with_capitals_and_shown_to_the_model_as_typed(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva."))
    _, result = stream_answer(bot, "who met in geneva on 21/1?")
    assert "geneva" in result.judgement.anchors
    user = fake.chat_requests()[0]["body"]["messages"][-1]["content"]
    assert "who met in geneva on 21/1?" in user and "Geneva on 21/1?" not in user
