"""With a model configured, the model decides and the judge advises; the model reads as much as
its context allows. Against a real OpenAI-protocol server on loopback (tests/fake_openai.py)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import stream_answer

from bot.answer.llm import served_context
from bot.prompts import prompt_table
from bot.tuning import TUNING

LLM_SETTINGS = dict(llm_timeout_s=5.0, llm_max_retries=0)
GENEVA = "who met in Geneva on 21/1?"


def reply(answer: str, passages=(1,), answerable: bool = True) -> str:
    return json.dumps({"answerable": answerable, "answer": answer, "passages": list(passages)})


def prompt(fake, which: int = 0) -> str:
    """The user message of a chat request (the first by default: a second look may follow)."""
    return fake.chat_requests()[which]["body"]["messages"][-1]["content"]


def numbered(text: str) -> list[str]:
    return re.findall(r"^\d+\. (.*)$", text, flags=re.M)


@pytest.fixture(autouse=True)
def fresh(fake):
    fake.model_fields = {}
    fake.requests.clear()
    yield


# -- the judge advises --------------------------------------------------------------


def test_the_model_reads_which_passage_holds_the_value_the_judge_found(make_bot, fake):
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva on 21/1."))
    _, result = stream_answer(make_bot(), GENEVA)
    text = prompt(fake)
    line = next(x for x in text.splitlines() if x.startswith("The judge of the passages found the person"))
    n = int(re.search(r"in passage (\d+)", line).group(1))
    assert "Lavrov" in numbered(text)[n - 1] and "Sergei Lavrov … Antony Blinken" in line
    # The answer language is still named last, after the judge's line.
    assert "English" in text.splitlines()[-1]
    assert result.answer.mode == "llm" and result.answer.trace["advice"] == line


def test_the_model_is_told_when_no_passage_holds_the_value_and_may_refuse(make_bot, fake):
    fake.script("ok", answer=reply("", passages=(), answerable=False))
    _, result = stream_answer(make_bot(), "How many Russian soldiers will join the drills in Belarus?")
    assert "found no number of what is asked" in prompt(fake)
    assert result.judgement.value_missing and (result.answer.refused or "model-refused" in result.answer.flags)


def test_an_off_topic_question_never_reaches_the_model(make_bot, fake):
    _, result = stream_answer(make_bot(), "How do I bake sourdough bread at home?")
    assert result.answer.refused and result.judgement.off_topic
    assert fake.chat_requests() == []


def test_a_question_the_rules_would_refuse_reaches_the_model_and_its_grounded_answer_is_shown(make_bot, fake):
    """Scholz, Macron and Berlin are in no passage, so the rules alone refuse it; with a model,
    the model reads the passages (Lavrov's are there) and decides."""
    question = "Did Lavrov meet Olaf Scholz and Emmanuel Macron in Berlin?"
    fake.script("ok", answer=reply("Lavrov met Antony Blinken in Geneva on 21/1."))
    extractive = make_bot(answer_mode="extractive")
    assert extractive.run(question).answer.refused  # the rules alone: "the articles don't say"
    _, result = stream_answer(make_bot(), question)
    assert not result.judgement.answerable and not result.judgement.off_topic
    assert fake.chat_requests() and result.answer.mode == "llm" and not result.answer.refused
    assert "Blinken" in result.answer.text and result.answer.citations


# -- the context fits the model -------------------------------------------------------


def test_the_passages_budget_grows_with_the_context_window():
    small = TUNING.passages.for_context(None)
    assert small == TUNING.passages.for_context(4096) == (3, 600, 350)
    large = TUNING.passages.for_context(128_000)
    assert large == (8, 7500, 700)
    middle = TUNING.passages.for_context(8192)
    assert small[0] < middle[0] < large[0] and small[1] < middle[1] < large[1]


@pytest.mark.parametrize(
    "fields, tokens",
    [({"max_model_len": 32768}, 32768), ({"meta": {"n_ctx_train": 131072}}, 131072), ({"context_length": 8192}, 8192), ({}, None)],
)
def test_the_context_window_is_read_from_the_server(fake, fields, tokens):
    fake.model_fields = fields
    assert served_context(fake.base_url, "k") == tokens


def test_a_model_with_a_large_context_reads_more_passages(make_bot, fake):
    fake.model_fields = {"max_model_len": 32768}
    fake.script("ok", answer=reply("Sergei Lavrov and Antony Blinken met in Geneva on 21/1."))
    stream_answer(make_bot(), GENEVA)
    large = numbered(prompt(fake))
    fake.requests.clear()
    stream_answer(make_bot(llm_context_tokens=4096), GENEVA)  # the setting wins over the server
    small = numbered(prompt(fake))
    assert len(small) <= 3 < len(large) <= 8


def test_the_worked_example_shares_no_name_date_or_number_with_the_articles(seeded_index):
    """A small model that copies the example's words then copies words no passage holds, which the
    grounding check catches ("The Long Biên bridge met in Geneva" came from a real bridge)."""
    from conftest import SEEDS

    from bot.text import fold

    articles = fold(" ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")))
    for lang, example in prompt_table("example").items():
        passages = " ".join(example["passages"])
        names = re.findall(r"\b[A-Z][a-z]{2,}\b", passages)  # Varnholt, Orla, Quenby
        assert names and not any(f" {fold(n)} " in f" {articles} " for n in names), (lang, names)
        assert not any(d in articles for d in re.findall(r"\d+/\d+", passages)), lang
