"""Every way a model server fails gives one clear line and the extractive answer, never the key.

The server is tests/fake_openai.py: a real HTTP server on 127.0.0.1 speaking
the OpenAI protocol, scripted per test to answer, fail, stall or cut off.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GENEVA_FILES, SEEDS, free_port, make_settings, stream_answer

from bot.answer.llm import LLMAnswerer, LLMError
from bot.pipeline import Bot, Result
from bot.prompts import message

KEY = "sk-test-SECRET-123456"
QUESTION = "who met in Geneva on 21/1?"
GOOD = "Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1]."


# The defaults of conftest's `make_bot` in this module.
LLM_SETTINGS = dict(openai_api_key=KEY, llm_timeout_s=1.0, llm_max_retries=1, max_tokens=64)


def ask(bot: Bot, question: str = QUESTION, history=None) -> tuple[list[str], Result]:
    return stream_answer(bot, question, history)


def assert_quotes_are_real(answer) -> None:
    assert answer.citations
    for c in answer.citations:
        assert (SEEDS / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text


def test_scripted_answer_streams_and_resolves_citations(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer=GOOD)
    pieces, result = ask(bot)
    answer = result.answer
    assert len(pieces) > 3 and "".join(pieces) == GOOD
    # The generated sentence, then the sentence it rests on, quoted.
    said, quoted = answer.text.split("\n")
    assert answer.mode == "llm" and said == GOOD and not answer.flags
    assert quoted.startswith(message("lead_in", "en")) and answer.citations[0].quote in quoted
    assert answer.answerer == f"OpenAI-compatible server {fake.base_url} (model gpt-4o-mini)"
    assert_quotes_are_real(answer)
    assert answer.citations[0].source in GENEVA_FILES

    (request,) = fake.chat_requests()
    body = request["body"]
    # llama.cpp-style servers may ignore max_completion_tokens: both are sent.
    assert body["stream"] is True and body["max_tokens"] == 64 and body["max_completion_tokens"] == 64
    # Rules, one worked example as an earlier turn, then the question around the passages.
    system, example, example_reply, user = body["messages"]
    assert system["role"] == "system" and example["role"] == "user" and example_reply["role"] == "assistant"
    assert user["content"].startswith(f"Question: {QUESTION}") and user["content"].count(QUESTION) == 2
    assert "English" in user["content"].splitlines()[-1]
    numbered = [line for line in user["content"].splitlines() if re.match(r"\d\. ", line)]
    # Numbered without file names or brackets: nothing a small model could copy as a format.
    assert 1 <= len(numbered) <= 3 and "source" not in user["content"] and "[" not in user["content"]
    # The reply format asked for where the server can enforce it; this fake ignores it.
    assert body["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    ("behaviour", "requests", "says"),
    [
        (500, 2, "server error (500) (after 1 retry)"),
        (429, 2, "rate limited (429) (after 1 retry)"),
        (401, 1, "the API key was rejected (401)"),
        ("slow", 1, "no reply within 1s; raise BOT_LLM_TIMEOUT"),  # a timeout is never retried
        ("malformed", 1, "malformed reply"),
        ("truncated", 1, "the connection dropped mid-answer"),
        ("unfinished", 1, "the reply stopped mid-answer"),
    ],
)
def test_failures_give_one_line_and_the_extractive_answer(make_bot, fake, caplog, capsys, behaviour, requests, says):
    bot = make_bot()
    fake.script(behaviour, answer=GOOD, delay=3, retry_after="0")
    with caplog.at_level(logging.DEBUG):
        _, result = ask(bot)
    answer = result.answer
    assert answer.mode == "extractive" and "Lavrov" in answer.text
    assert answer.answerer.startswith("extractive (fallback from OpenAI-compatible server")
    assert says in answer.notice and fake.base_url in answer.notice
    before, after = message("fallback", "en", error="|").split("|")
    assert answer.notice.startswith(before) and answer.notice.endswith(after)
    assert "\n" not in answer.notice and "Traceback" not in answer.notice
    assert_quotes_are_real(answer)
    assert len(fake.chat_requests()) == requests
    out = capsys.readouterr()
    for text in (answer.notice, json.dumps(answer.to_dict()), caplog.text, out.out, out.err):
        assert KEY not in text


def test_closed_port_says_cannot_connect(make_bot):
    url = f"http://127.0.0.1:{free_port()}/v1"
    bot = make_bot(openai_base_url=url, llm_max_retries=0)
    _, result = ask(bot)
    assert result.answer.mode == "extractive"
    assert f"the OpenAI-compatible server at {url}: cannot connect; is the server running?" in result.answer.notice
    assert "OPENAI_BASE_URL" in result.answer.notice


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_are_bounded_by_the_setting(make_bot, fake, retries):
    bot = make_bot(llm_max_retries=retries)
    fake.script(503, retry_after="0")
    _, result = ask(bot)
    assert result.answer.mode == "extractive"
    assert len(fake.chat_requests()) == retries + 1


def test_rate_limit_honours_retry_after_then_answers(make_bot, fake):
    bot = make_bot(llm_max_retries=1)
    fake.script(429, "ok", answer=GOOD, retry_after="1")
    _, result = ask(bot)
    assert result.answer.mode == "llm" and result.answer.text.startswith(GOOD)
    first, second = fake.chat_requests()
    # The client waited as told by Retry-After (a lower bound: never flaky).
    assert second["at"] - first["at"] >= 0.9


def test_fallback_none_refuses_with_the_error(make_bot, fake):
    bot = make_bot(fallback="none", llm_max_retries=0)
    fake.script(500)
    _, result = ask(bot)
    answer = result.answer
    assert answer.refused and answer.mode == "refusal" and not answer.citations
    assert "server error (500)" in answer.notice and "\n" not in answer.notice


def test_the_key_never_leaks_from_llm_errors(seeded_index, fake, caplog):
    """The fake server echoes the rejected key, as real ones do; nothing passes it on."""
    settings = make_settings(seeded_index, openai_base_url=fake.base_url, openai_api_key=KEY, llm_max_retries=0)
    llm = LLMAnswerer(settings)
    fake.script(401)
    from bot.evidence import Evidence

    evidence = [
        Evidence("Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken tại Geneva ngày 21/1.", "x.txt", 0, 70, "c", 1)
    ]
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(LLMError) as caught:
            list(llm.stream_answer(QUESTION, evidence, "en"))
    finally:
        llm.close()
    error = caught.value
    assert KEY in fake.chat_requests()[0]["headers"]["authorization"]  # the server did get (and echo) it
    assert "401" in str(error) and "\n" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__  # no chained traceback carrying the reply
    for text in (str(error), repr(error), caplog.text, llm.label):
        assert KEY not in text


def test_the_cli_never_prints_the_key_or_a_traceback(seeded_index, fake):
    fake.script(401)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(
        BOT_INDEX_DIR=str(seeded_index),
        BOT_DATA_DIR=str(SEEDS),
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=fake.base_url,
        BOT_LLM_MAX_RETRIES="0",
    )
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "-v", "ask", "--stream", QUESTION],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(__file__).parent,
    )
    assert out.returncode == 0, out.stderr
    assert "the API key was rejected (401)" in out.stdout and "Lavrov" in out.stdout
    assert KEY not in out.stdout + out.stderr and "Traceback" not in out.stdout + out.stderr


# -- follow-up questions ---------------------------------------------------------

HISTORY = [(QUESTION, "Sergei Lavrov and Antony Blinken met in Geneva [1].")]
# A turn whose question names nothing: there is nothing to carry, so the model rewrites the follow-up.
VAGUE = [("tell me more please", "Sergei Lavrov and Antony Blinken met in Geneva [1].")]


def test_a_standalone_question_is_not_rewritten(make_bot, fake):
    bot = make_bot()
    fake.script("ok", answer="Russia sent two S-400 Triumph units to Belarus [1].")
    _, result = ask(bot, "Which system did Russia send to Belarus?", HISTORY)
    assert result.answer.question == "Which system did Russia send to Belarus?"
    assert len(fake.chat_requests()) == 1  # the answer only: no rewrite call


def test_a_follow_up_is_rewritten_with_the_history(make_bot, fake):
    bot = make_bot()
    rewritten = "What did Lavrov say after meeting Blinken in Geneva on 21/1?"
    fake.script("ok", answers=[rewritten, "Lavrov warned of serious consequences [1]."])
    _, result = ask(bot, "and what did he say after that?", VAGUE)
    assert result.answer.question == rewritten
    condense, answer = fake.chat_requests()
    assert not condense["body"].get("stream") and "Sergei Lavrov and Antony Blinken met in Geneva" in json.dumps(
        condense["body"], ensure_ascii=False
    )
    assert rewritten in answer["body"]["messages"][-1]["content"]


def test_a_follow_up_with_names_to_carry_needs_no_model_rewrite(make_bot, fake):
    """The earlier turn named Geneva and 21/1: they are carried into the search (bot.followup),
    which beat a small model's rewrite on the eval's conversation items."""
    bot = make_bot()
    fake.script("ok", answer="Lavrov warned of serious consequences [1].")
    _, result = ask(bot, "and what did he say after that?", HISTORY)
    assert "Geneva" in result.answer.question and "21/1" in result.answer.question
    requests = fake.chat_requests()
    # Answer calls only (a second look may follow the first); no rewrite call.
    assert all("Follow-up question" not in json.dumps(r["body"]) for r in requests)
    assert "Geneva" in requests[0]["body"]["messages"][-1]["content"]


@pytest.mark.parametrize("garbage", ["", "Lavrov is a diplomat.", "What " * 400, "The articles don't say."])
def test_an_unusable_rewrite_keeps_the_question(make_bot, fake, garbage):
    bot = make_bot()
    fake.script("ok", answers=[garbage, "Lavrov warned of serious consequences [1]."])
    _, result = ask(bot, "and what did he say after that?", VAGUE)
    assert result.answer.question == "and what did he say after that?"


def test_a_failed_rewrite_keeps_the_question_and_still_answers(make_bot, fake):
    bot = make_bot(llm_max_retries=0)
    fake.script(500, "ok", answer=GOOD, retry_after="0")
    _, result = ask(bot, "and who did he meet in Geneva on 21/1?", HISTORY)
    assert result.answer.question == "and who did he meet in Geneva on 21/1?"
    assert result.answer.mode == "llm" and len(fake.chat_requests()) == 2


# -- which server the settings choose ----------------------------------------------


def test_settings_choose_openai_or_a_compatible_server(seeded_index, fake):
    """Built without any network call; OpenAI proper gets no llama.cpp-only parameters."""
    openai_llm = LLMAnswerer(make_settings(seeded_index, openai_api_key=KEY))
    assert openai_llm.label == "OpenAI gpt-4o-mini" and openai_llm.base_url == "https://api.openai.com/v1"
    assert not openai_llm._chat.extra_body
    url = fake.base_url.replace("http://", "http://user:hunter2@")
    with_password = LLMAnswerer(make_settings(seeded_index, openai_base_url=url, openai_model="qwen"))
    assert with_password.label == f"OpenAI-compatible server {fake.base_url} (model qwen)"  # no password shown
    compatible = LLMAnswerer(make_settings(seeded_index, openai_base_url=fake.base_url, openai_model="qwen"))
    fake.script("ok", answer="Lavrov [1].")
    from bot.evidence import Evidence

    evidence = [
        Evidence("Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken tại Geneva ngày 21/1.", "x.txt", 0, 70, "c", 1)
    ]
    answer = None
    stream = compatible.stream_answer(QUESTION, evidence, "en")
    while answer is None:
        try:
            next(stream)
        except StopIteration as done:
            answer = done.value
    assert answer.mode == "llm" and answer.citations[0].quote == evidence[0].text
    # No key configured: a placeholder, as servers without auth expect.
    assert fake.chat_requests()[0]["headers"]["authorization"] == "Bearer not-needed"
