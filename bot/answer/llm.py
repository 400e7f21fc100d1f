"""Generated answers, through the OpenAI protocol whoever serves the model.

One code path for every LLM: langchain-openai's ChatOpenAI pointed at
- OpenAI itself (OPENAI_API_KEY),
- any OpenAI-compatible server (OPENAI_BASE_URL, with a key if it needs one),
- or a local GGUF file (BOT_LOCAL_MODEL), served on 127.0.0.1 by bot.local_server.

Made to work on the small models people run on a laptop (measured on a 0.5B
model, see prompts/README.md):
- the model reads only the few best evidence sentences, numbered, with the
  question before and after them, and one short example of the reply;
- it replies in a JSON object (`bot.answer.structured`) where the server
  takes a schema, so a refusal is a field; plain text elsewhere;
- citations come from `bot.attribute`, which finds the passage supporting
  each answer sentence whether or not the model wrote a marker; a sentence
  no passage supports keeps the answer from being shown as grounded;
- a refusal is a joint decision: when the evidence judge found the asked-for
  value and the model still refuses, it gets one more look at that sentence
  alone, and else the sentence is quoted, labelled as possibly not answering;
- an answer in the wrong language is asked for once more.

Every failure becomes an `LLMError` with one line for people (which server,
what failed, what to set); the pipeline then falls back to the extractive
answer.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from bot import cite, guard, redact
from bot.answer import Answer, Citation, Status
from bot.answer.extractive import extractive_answer
from bot.answer.language import language_ok
from bot.answer.structured import AnswerStream, Reply, parse_reply, response_format
from bot.attribute import SentenceSupport, attribute
from bot.evidence import Evidence
from bot.expect import expectation, satisfied
from bot.prompts import load_prompt, message, prompt_table
from bot.settings import Settings
from bot.tuning import TUNING

log = logging.getLogger(__name__)

History = Sequence[tuple[str, str]]

# A small local model reads ~70-150 prompt tokens a second on 2 cores, and
# What the model is shown: bot/tuning.py (Passages), with the measurements.
MAX_PASSAGES = TUNING.passages.max_passages
PASSAGES_BUDGET_CHARS = TUNING.passages.budget_chars
MAX_PASSAGE_CHARS = TUNING.passages.max_passage_chars
CONDENSE_MAX_TOKENS = 64
CONDENSE_TURNS = 3
# The answer is one or two sentences; a JSON reply of that is ~60-120 tokens.
ANSWER_MAX_TOKENS = 160
LANGUAGE_NAMES = {"en": "English", "vi": "Vietnamese"}
NO_KEY = "not-needed"  # OpenAI-compatible servers without auth still want a key header
OPENAI_URL = "https://api.openai.com/v1"
# The bot's own llama.cpp server reads the whole prompt before its first
# token: a 1.5B model on 2 cores needs ~10 s for 450 tokens.
LOCAL_FIRST_TOKEN_S = 30.0
DEFAULT_FIRST_TOKEN_S = 10.0
QUOTED = TUNING.passages.quoted
# The worked example as an earlier turn (prompts/example.toml); see prompts/README.md for the measurement.
USE_EXAMPLE = True
RETRY_AFTER_CAP_S = 30.0
_DELIMITER = re.compile(r"<\s*/?\s*passages\s*>", re.IGNORECASE)
_STRAIGHT_QUOTE_PAIR = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class Advice:
    """The evidence judge's finding, for the model to weigh (prompts/advice.toml): the sentence
    holding the asked-for value (`holder`, with the value's words), or the kinds of value it found
    none of (`missing`), or only that it is unsure the passages answer."""

    holder: tuple[str, int] | None = None  # (source, start) of the sentence
    value: str = ""
    kinds: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unsure: bool = False

    def line(self, passages: Sequence[Evidence]) -> str:
        table = prompt_table("advice")
        names = table.get("kinds", {})

        def called(kinds: Sequence[str]) -> str:
            return " or ".join(dict.fromkeys(names.get(k, k) for k in kinds)) or "answer"

        if self.holder is not None:
            n = next((i for i, p in enumerate(passages, start=1) if (p.source, p.start) == self.holder), None)
            if n is None:
                return ""
            return table["holder"].format(kinds=called(self.kinds), n=n, value=self.value)
        if self.missing:
            return table["missing"].format(kinds=called(self.missing))
        return table["unsure"] if self.unsure else ""


class LLMError(RuntimeError):
    """A model call failed; str() is one line for people, without secrets."""


# -- follow-up questions ---------------------------------------------------------

# Words that point back into the conversation. Strong ones always do; weak
# ones ("that", "it", "there") only in a question naming nothing itself.
_STRONG_EN = re.compile(r"\b(he|she|they|him|her|his|hers|them|their|theirs|those|these|former|latter)\b", re.I)
_WEAK_EN = re.compile(r"\b(it|its|that|this|there|then|same)\b", re.I)
_LEAD_EN = re.compile(r"^\s*(and|but|so|also|then|what about|how about|why|what else)\b", re.I)
_STRONG_VI = re.compile(r"(ông ấy|bà ấy|anh ấy|chị ấy|cô ấy|ông ta|bà ta|hắn|\bhọ\b|người đó|nước đó|nơi đó)", re.I)
_WEAK_VI = re.compile(r"(\bđó\b|\bnày\b|\bvậy\b|\bấy\b|\bkia\b|\bthế\b)", re.I)
_LEAD_VI = re.compile(r"^\s*(còn|vậy|thế còn|và|nhưng|rồi|sau đó)\b", re.I)
# What a rewritten question looks like: English starts with a question word
# or ends with "?"; Vietnamese puts its question word anywhere ("Ông ấy nói gì").
_QUESTION_EN = re.compile(
    r"^(who|what|when|where|which|why|how|whom|whose|did|does|do|is|are|was|were|can|could|will|would|has|have|had)\b",
    re.I,
)
_QUESTION_VI = re.compile(r"\b(ai|gì|nào|sao|bao nhiêu|đâu|không|chưa|mấy)\b", re.I)


def needs_context(question: str) -> bool:
    """Does this question lean on the conversation ("what did he say after that?")?"""
    from bot.anchors import anchors

    q = question.strip()
    if _STRONG_EN.search(q) or _STRONG_VI.search(q) or _LEAD_EN.search(q) or _LEAD_VI.search(q):
        return True
    if anchors(q):  # it names its own subject: "Who is Stoltenberg?"
        return False
    return len(q.split()) <= 3 or bool(_WEAK_EN.search(q) or _WEAK_VI.search(q))


def clean_rewrite(reply: str, question: str) -> str | None:
    """The model's standalone question, or None when it is unusable (empty, rambling, not a question)."""
    lines = [ln.strip() for ln in (reply or "").strip().splitlines() if ln.strip()]
    if not lines:
        return None
    text = re.sub(r"^(standalone question|rewritten question|question|câu hỏi)\s*:\s*", "", lines[0], flags=re.I)
    text = text.strip().strip("\"'“”‘’`*").strip()
    if not text or len(text) > max(300, 3 * len(question)):
        return None
    if not (text.endswith("?") or _QUESTION_EN.search(text) or _QUESTION_VI.search(text)) or cite.is_refusal(text):
        return None
    return text


# -- the answerer ----------------------------------------------------------------


def _clean_turn(answer: str) -> str:
    """A past answer as context for a rewrite: no markers, and no quoted text that addresses a model."""
    from bot.text import sentences

    return " ".join(s.text for s in sentences(cite.strip_markers(answer)) if not guard.instruction_like(s.text))


def _display_url(url: str) -> str:
    """A base URL fit to show: no user:password part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _kind_of(exc: BaseException, name: str) -> bool:
    """Is exc an httpx-family error of this kind? (openai uses httpx2, others httpx: same class names)."""
    return any(cls.__name__ == name and cls.__module__.startswith("httpx") for cls in type(exc).__mro__)


def select_passages(
    ranked: Sequence[Evidence],
    first: tuple[str, int] | None = None,
    budget: tuple[int, int, int] = (MAX_PASSAGES, PASSAGES_BUDGET_CHARS, MAX_PASSAGE_CHARS),
) -> tuple[list[Evidence], list[Evidence]]:
    """(passages, withheld): the best few distinct sentences, best first, within a length budget;
    `first` (the judge's value-holding sentence) among them whatever its rank.

    Sentences that address a model (planted instructions, fake role labels or
    source lists) are withheld: what the model does not read, it cannot obey.
    """
    most, total, each = budget
    chosen: list[Evidence] = []
    withheld: list[Evidence] = []
    used = 0
    if first is not None:
        ranked = sorted(ranked, key=lambda e: (e.source, e.start) != first)
    for e in ranked:
        if any(e.text == c.text for c in chosen):
            continue
        if guard.instruction_like(e.text):
            withheld.append(e)
            continue
        size = min(len(e.text), each)
        if chosen and used + size > total:
            continue  # a shorter sentence further down may still fit
        chosen.append(e)
        used += size
        if len(chosen) == most:
            break
    return chosen, withheld


def value_holder(ranked: Sequence[Evidence], question: str) -> Evidence | None:
    """The best sentence holding the kind of value the question asks for (a count, a date, a place…), if any.

    This is what the evidence judge is good at; a small model reading
    Vietnamese for an English question is not, so its refusal is checked
    against it.
    """
    strict = expectation(question).strict
    if not strict:
        return None
    return next((e for e in ranked[:MAX_PASSAGES] if e.answers & strict and not e.caption), None)


def judge_quotes(ranked: Sequence[Evidence], lang: str, question: str) -> list[Evidence]:
    """The sentences the extractive answerer would quote for this question, the best-ranked first.

    They are the evidence judge's answer: the generated one is checked
    against them (`LLMAnswerer.stream_answer`) and they are quoted under it.
    Text that addresses a model stays out, quotes included.
    """
    candidates = [e for e in ranked if not guard.instruction_like(e.text)]
    if not candidates:
        return []
    by_span = {(e.source, e.start): e for e in candidates}
    cited = extractive_answer(candidates, lang, question=question).citations
    picked = [by_span[(c.source, c.start)] for c in cited if (c.source, c.start) in by_span]
    order = {id(e): i for i, e in enumerate(candidates)}
    best = min(picked, key=lambda e: order[id(e)], default=None)
    return [best, *(e for e in picked if e is not best)] if best is not None else []


def strays(text: str, question: str, answer: Answer, best: Evidence) -> bool:
    """Is a grounded answer about something the question does not ask? It shares no word
    with the question, holds no value of the kind asked for, and rests on a passage other
    than the evidence judge's best (`cite.off_question`)."""
    if any((c.source, c.start) == (best.source, best.start) for c in answer.citations):
        return False
    if not cite.off_question(text, question):
        return False
    wanted = expectation(question)
    holds_number = _asks_number(question) and re.search(r"\d", cite.strip_markers(text))
    return not (satisfied(text, wanted) & wanted.strict or holds_number)


def _asks_number(question: str) -> bool:
    """Does the question ask for a count, duration, amount or year? A bare "when" is left
    out: "once Moscow has a reply" answers it without a date."""
    wanted = expectation(question)
    return bool(wanted.strict & {"quantity", "duration", "money"} or (wanted.year_only and "date" in wanted.strict))


def misses_number(answer: str, question: str) -> bool:
    """Does the question ask for a number (`_asks_number`) and the answer hold none at all?
    Digits survive translation, so this holds for an English answer too."""
    return _asks_number(question) and not re.search(r"\d", cite.strip_markers(answer))


@dataclass
class Generation:
    """One model call: what came back and what it cost."""

    raw: str = ""
    finish: str | None = None
    structured: bool = False  # the JSON schema was sent (and accepted)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    seconds: float = 0.0
    reply: Reply = field(default_factory=lambda: Reply(""))

    def record(self) -> dict:
        return {
            "raw": self.raw,
            "finish": self.finish,
            "structured": self.structured,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "first_token_s": None if self.first_token_s is None else round(self.first_token_s, 3),
            "seconds": round(self.seconds, 3),
        }


Events = Generator["str | Status", None, Answer]


class LLMAnswerer:
    """Answers from evidence sentences with a chat model; see the module docstring."""

    def __init__(self, settings: Settings, embeddings=None) -> None:
        self.settings = settings
        self._server = None
        self._embeddings = embeddings
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        redact.register(key)
        first_token = settings.llm_timeout_s
        if settings.local_model:
            from bot.local_server import LocalServer, LocalServerError

            try:
                self._server = LocalServer(
                    settings.local_model, n_ctx=settings.local_ctx, max_tokens=settings.max_tokens
                )
            except LocalServerError as exc:
                raise LLMError(str(exc)) from None
            base_url, key, model = self._server.base_url, self._server.api_key, self._server.model_path.name
            redact.register(key)
            self.label = f"local model {model}"
            self._where = f"the local model server ({base_url})"
            self._hint = "check BOT_LOCAL_MODEL"
            first_token = first_token or LOCAL_FIRST_TOKEN_S
        elif settings.openai_base_url:
            base_url, model = settings.openai_base_url, settings.openai_model
            redact.register(urlsplit(base_url).password)
            self.label = f"OpenAI-compatible server {_display_url(base_url)} (model {model})"
            self._where = f"the OpenAI-compatible server at {_display_url(base_url)}"
            self._hint = "check OPENAI_BASE_URL, OPENAI_MODEL and OPENAI_API_KEY"
        else:
            base_url, model = OPENAI_URL, settings.openai_model
            self.label = f"OpenAI {model}"
            self._where = f"OpenAI ({model})"
            self._hint = "check OPENAI_API_KEY and OPENAI_MODEL"
        self.base_url = base_url
        self.model = model
        self._key = key
        self.first_token_s = first_token or DEFAULT_FIRST_TOKEN_S
        self.total_s = settings.llm_total_s
        # Asked for until the server rejects it; then plain text (said once in the log).
        self.structured = settings.llm_structured
        # OpenAI wants max_completion_tokens (its reasoning models reject
        # max_tokens); llama.cpp servers may ignore it, so they get both.
        self._send_max_tokens = base_url != OPENAI_URL
        self._max_tokens = min(settings.max_tokens, ANSWER_MAX_TOKENS)
        self.context_tokens = settings.llm_context_tokens or (
            settings.local_ctx if settings.local_model else 128_000 if base_url == OPENAI_URL else None
        )
        self._budget: tuple[int, int, int] | None = None
        self._chat = self._make_chat(key or NO_KEY, self._max_tokens)
        self._condenser = self._make_chat(key or NO_KEY, min(CONDENSE_MAX_TOKENS, settings.max_tokens))

    def _make_chat(self, key: str, max_tokens: int):
        import httpx
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            model=self.model,
            base_url=self.base_url,
            api_key=SecretStr(key),
            # The read timeout bounds the wait for the first token (and any
            # later stall); the whole answer is bounded in `_call`.
            timeout=httpx.Timeout(self.first_token_s, connect=min(10.0, self.first_token_s)),
            # Retries are ours (`_call`): a timeout is never retried.
            max_retries=0,
            max_tokens=max_tokens,
            temperature=0,
            # Token counts come from the server (stream_options.include_usage), never tiktoken.
            stream_usage=True,
            extra_body=self._extra_body(max_tokens),
        )

    @property
    def budget(self) -> tuple[int, int, int]:
        """(passages, characters in all, characters each) for this model's context window, read
        from the server once when no setting gives it (bot/tuning.py Passages)."""
        if self._budget is None:
            if self.context_tokens is None:
                self.context_tokens = served_context(self.base_url, self._key)
            self._budget = TUNING.passages.for_context(self.context_tokens)
        return self._budget

    def _extra_body(self, max_tokens: int) -> dict | None:
        return {"max_tokens": max_tokens} if self._send_max_tokens else None

    def close(self) -> None:
        # The HTTP clients are not closed: langchain-openai shares them between
        # instances with the same base URL.
        if self._server is not None:
            self._server.close()

    # -- the prompt ----------------------------------------------------------

    @staticmethod
    def _quote(text: str, limit: int) -> str:
        # Passages are data: they must not be able to close a delimiter or fake a heading.
        text = " ".join(_DELIMITER.sub(" ", text).split())
        # A straight quote the model copies into its JSON answer ends the answer's string there
        # ('Sherman than phiền "không có cam kết…' came back as 'Sherman than phiền '): the
        # model reads typographic quotes, which a JSON string holds as they are.
        text = _STRAIGHT_QUOTE_PAIR.sub(r"“\1”", text).replace('"', "”")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def messages(
        self,
        question: str,
        passages: Sequence[Evidence],
        lang: str,
        *,
        structured: bool,
        insist: bool = False,
        advice: Advice | None = None,
    ):
        """System rules; one worked example as an earlier turn; then the question, the numbered passages,
        the question again and the answer language, last.

        Passages are numbered "1. …" without file names or brackets: small
        models copy any format they are shown into their answer. The example
        has its own question and passages, so it reads as a past exchange,
        not as the answer (a 0.5B model copied an example given inline).
        """
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        values = self._prompt_values(lang)
        template = load_prompt("answer" if structured else "answer_plain")

        def turn(q: str, texts: Sequence[str], advice: str = "") -> str:
            numbered = "\n".join(f"{i}. {self._quote(t, self.budget[2])}" for i, t in enumerate(texts, start=1))
            # The judge's finding under the passages; the answer language stays named last.
            note = f"\n\n{advice}" if advice else ""
            return template.format(passages=numbered, advice=note, question=self._quote(q, 500), **values)

        user = turn(question, [p.text for p in passages], advice.line(passages) if advice is not None else "")
        if insist:
            user += "\n" + message("insist_language", "en", language=values["language"])
        out = [SystemMessage(load_prompt("system").format(**values))]
        if USE_EXAMPLE:
            example = prompt_table("example").get(lang) or prompt_table("example")["en"]
            out += [
                HumanMessage(turn(example["question"], example["passages"])),
                AIMessage(example["reply"] if structured else example["plain"]),
            ]
        return [*out, HumanMessage(user)]

    @staticmethod
    def _prompt_values(lang: str) -> dict[str, str]:
        return {"language": LANGUAGE_NAMES.get(lang, "English"), "refusal": message("refusal", lang)}

    def _instructions(self, lang: str) -> list[str]:
        """Text of ours the model must not recite: the rules, the templates and the worked example."""
        values = self._prompt_values(lang)
        example = prompt_table("example").get(lang) or prompt_table("example")["en"]
        return [
            load_prompt("system").format(**values),
            *(load_prompt(name).format(passages="", advice="", question="", **values) for name in ("answer", "answer_plain")),
            example["plain"],
        ]

    # -- calls ---------------------------------------------------------------

    def condense(self, question: str, history: History) -> str:
        """A standalone version of a follow-up question; the question itself when it needs none."""
        if not history or not needs_context(question):
            return question
        from langchain_core.messages import HumanMessage

        turns = "\n".join(
            f"User: {self._quote(q, 300)}\nAssistant: {self._quote(_clean_turn(a), 300)}"
            for q, a in list(history)[-CONDENSE_TURNS:]
        )
        prompt = load_prompt("condense").format(history=turns, question=self._quote(question, 500))
        try:
            reply = self._condenser.invoke([HumanMessage(prompt)]).content
        except Exception as exc:
            log.warning("follow-up rewrite skipped: %s", self._error(exc))
            return question
        rewritten = clean_rewrite(reply if isinstance(reply, str) else "", question)
        if rewritten is None:
            log.info("follow-up rewrite unusable; searching the question as asked")
            return question
        log.info("follow-up rewritten: %r -> %r", question, rewritten)
        return rewritten

    def _call(self, messages: list, plain: list, n_passages: int, *, show: bool) -> Generator[str, None, Generation]:
        """One model call, streamed; yields the answer's text as it arrives (when `show`).

        Connection failures, rate limits and server errors are retried (up to
        BOT_LLM_MAX_RETRIES, honouring Retry-After) as long as nothing has
        been received; a timeout is not retried: the user has waited enough.
        """
        attempt = 0
        while True:
            gen = Generation(structured=self.structured)
            stream = AnswerStream()
            started = time.monotonic()
            extra = dict(self._extra_body(self._max_tokens) or {})
            if gen.structured:
                extra["response_format"] = response_format(n_passages)
            try:
                for chunk in self._chat.stream(messages, extra_body=extra or None):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        if gen.first_token_s is None:
                            gen.first_token_s = time.monotonic() - started
                        new = stream.feed(text)
                        if new and show:
                            yield new
                    gen.finish = (chunk.response_metadata or {}).get("finish_reason") or gen.finish
                    usage = getattr(chunk, "usage_metadata", None)
                    if usage:
                        gen.prompt_tokens = usage.get("input_tokens")
                        gen.completion_tokens = usage.get("output_tokens")
                    if time.monotonic() - started > self.total_s:
                        raise self._logged(
                            LLMError(
                                f"{self._where}: no complete answer within {self.total_s:g}s; "
                                "raise BOT_LLM_TOTAL_TIMEOUT or use a smaller model"
                            )
                        )
            except LLMError:
                raise
            except Exception as exc:
                if gen.structured and not stream.raw and self._schema_rejected(exc):
                    self.structured = False
                    log.warning("%s does not take a JSON schema (%s); asking for plain text from now on",
                                self._where, redact.one_line(getattr(exc, "message", exc), 120))
                    messages = plain
                    continue
                wait = None if stream.raw else self._retry_wait(exc, attempt)
                if wait is not None:
                    attempt += 1
                    log.info("%s: %s; retry %d in %.1fs", self._where, type(exc).__name__, attempt, wait)
                    time.sleep(wait)
                    continue
                raise self._logged(self._error(exc, started=bool(stream.raw), tried=attempt)) from None
            gen.raw = stream.raw
            gen.seconds = time.monotonic() - started
            return gen

    @staticmethod
    def _schema_rejected(exc: BaseException) -> bool:
        import openai

        return isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError)

    def _retry_wait(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait before retrying `exc`, or None when it is not retried."""
        import openai

        if attempt >= self.settings.llm_max_retries:
            return None
        if isinstance(exc, openai.APITimeoutError) or _kind_of(exc, "TimeoutException"):
            return None
        if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
            header = exc.response.headers.get("retry-after") if exc.response is not None else None
            try:
                return min(RETRY_AFTER_CAP_S, max(0.0, float(header))) if header else 0.5 * 2**attempt
            except ValueError:
                return 0.5 * 2**attempt
        if isinstance(exc, openai.APIConnectionError) or _kind_of(exc, "ConnectError"):
            return 0.5 * 2**attempt
        return None

    # -- answering -----------------------------------------------------------

    def stream_answer(
        self,
        question: str,
        ranked: Sequence[Evidence],
        lang: str,
        history: History | None = None,
        *,
        typed: str | None = None,
        advice: Advice | None = None,
    ) -> Events:
        """Yield status and the answer's text as it arrives; return the final Answer (citations resolved).

        `typed`: the question as the user typed it, when `question` is a follow-up made
        standalone; a reply only saying back what the user typed is no answer, while
        names the conversation carried in may rightly be the answer's subject.

        `history` is not sent: the question is already standalone (see
        `condense`), and past answers would only cost prompt time.
        """
        passages, withheld = select_passages(ranked, advice.holder if advice else None, self.budget)
        if withheld:
            log.warning(
                "kept from the model, reads like instructions: %s", ", ".join(f"{e.source}:{e.start}" for e in withheld)
            )
        if not passages:
            raise LLMError(f"{self._where}: no evidence fit to show the model")
        trace: dict = {
            "passages": [f"{p.source}:{p.start}-{p.end}" for p in passages],
            "shown": [p.text for p in passages],  # for the eval's evidence_shown: was the answer in view?
            "calls": [],
        }
        yield Status(message("waiting_model", lang, model=self.label))
        gen = yield from self._generate(question, passages, lang, trace, show=True, advice=advice)
        trace["advice"] = advice.line(passages) if advice is not None else ""
        reply = gen.reply

        typed = typed or question
        judged = judge_quotes(ranked, lang, question)
        if why := self._no_answer(reply, typed):
            answer = self._second_look(question, ranked, passages, lang, trace, judged, why=why, typed=typed)
        elif misses_number(reply.answer, question) and value_holder(ranked, question) is not None:
            # "Since what year…?" answered with a sentence holding no year, while the judge
            # holds one: the model rested on the wrong passage. Shown that one, asked again.
            answer = self._second_look(question, ranked, passages, lang, trace, judged, why="missed-value", typed=typed)
        else:
            answer, shown = self._grounded(reply, question, passages, lang, trace, judged), passages
            elsewhere = answer is not None and not {c.source for c in answer.citations} & {e.source for e in judged}
            astray = answer is not None and not elsewhere and bool(judged) and strays(
                reply.answer, question, answer, judged[0])
            if judged and (answer is None or elsewhere or astray):
                # The words are not grounded (an invented name or number), rest on an article the
                # evidence judge quotes nothing from, or copy another passage's sentence sharing
                # nothing with the question: a small model copies or mixes in a weaker passage
                # about as often as it answers from the right one. Shown the judge's best
                # sentence alone, it is asked again; an answer there wins, else the first stands.
                trace["elsewhere" if elsewhere else "off_question" if astray else "ungrounded_first"] = True
                again = self._look_at(question, judged[0], lang, trace, typed, judged)
                if again is not None:
                    (answer, reply), shown = again, judged[:1]
            if answer is not None and not language_ok(reply.answer, lang):
                # One more try, told plainly; then shown, flagged.
                trace["language_retry"] = True
                again = yield from self._generate(question, shown, lang, trace, show=False, insist=True)
                retried = None if self._no_answer(again.reply, typed) else self._grounded(
                    again.reply, question, shown, lang, trace, judged)
                if retried is not None and language_ok(again.reply.answer, lang):
                    answer = retried
                else:
                    # Twice in the other language (a small model copies a Vietnamese passage for an
                    # English question): the reader gets the articles' words in the extractive
                    # answer's shape, with its short answer in their language, and is told why.
                    notice = message("wrong_language", lang, language=LANGUAGE_NAMES.get(lang, "English"))
                    answer = self._extractive_instead(
                        ranked, lang, question, f"{self.label} answered in another language", notice,
                        ["answer-language-mismatch"])
        if answer is not None and answer.mode == "llm" and self.settings.llm_quote:
            self._quote_evidence(answer, judged or passages, lang)
        if answer is None:
            answer = self._ungrounded(ranked, lang, trace.get("problems") or ["ungrounded"], question)
        if gen.finish == "length":
            answer.flags.append("max-tokens-reached")
        if withheld:
            answer.flags.append("instruction-like-text-withheld")
        answer.trace = trace
        return answer

    def _generate(
        self,
        question: str,
        passages: Sequence[Evidence],
        lang: str,
        trace: dict,
        *,
        show: bool,
        insist: bool = False,
        advice: Advice | None = None,
    ) -> Generator[str, None, Generation]:
        # The plain-text prompt too: the server may turn out not to take the schema.
        plain = self.messages(question, passages, lang, structured=False, insist=insist, advice=advice)
        messages = (
            self.messages(question, passages, lang, structured=True, insist=insist, advice=advice) if self.structured else plain
        )
        gen = yield from self._call(messages, plain, len(passages), show=show)
        if not gen.raw.strip():
            raise self._logged(LLMError(f"{self._where}: the model returned an empty answer; {self._hint}"))
        if gen.finish is None:
            raise self._logged(LLMError(f"{self._where}: the reply stopped mid-answer (no end of stream); check the server"))
        gen.reply = parse_reply(gen.raw)
        trace["calls"].append({**gen.record(), "passages": len(passages), "insist_language": insist})
        return gen

    @staticmethod
    def _no_answer(reply: Reply, typed: str) -> str | None:
        """"refused" (a refusal, in the field or in words), "echoed" (only the question said back), or None."""
        if reply.answerable is False or not re.search(r"\w", reply.answer) or cite.is_refusal(reply.answer):
            return "refused"
        return "echoed" if cite.restates(reply.answer, typed) else None

    def _second_look(
        self,
        question: str,
        ranked: Sequence[Evidence],
        passages: Sequence[Evidence],
        lang: str,
        trace: dict,
        judged: Sequence[Evidence] = (),
        *,
        why: str = "refused",
        typed: str | None = None,
    ) -> Answer:
        """The model refused, or only said the question back. Agree, unless the evidence judge
        found the asked-for value (see module docstring) or the model only echoed: then it is
        shown that one sentence (the value's, else the best) and asked once more. `why`:
        "refused", "echoed" (`_no_answer`), or "missed-value" (no number where one was asked)."""
        holder = value_holder(ranked, question)
        refusal = Answer(message("refusal", lang), mode="refusal", lang=lang, refused=True, answerer=self.label)
        if holder is None and why == "refused":
            trace["refusal"] = "model"
            return refusal
        if why == "missed-value":
            trace["missed_value"] = True
        else:
            trace["refusal"] = "model-overruled" if holder is not None else "model-echoed"
        again = self._look_at(question, holder or passages[0], lang, trace, typed or question, judged)
        if again is not None:
            return again[0]
        trace["second_look"] = "refused"
        if holder is None:
            # Twice no answer, and no asked-for value in the evidence to show instead.
            return refusal
        # The judge holds the value, the model sees no answer: quote it, saying it may not answer.
        return self._extractive_instead(
            [holder], lang, "", f"{self.label} found no answer", message("may_not_answer", lang), ["model-refused"])

    def _look_at(
        self, question: str, passage: Evidence, lang: str, trace: dict, typed: str, judged: Sequence[Evidence]
    ) -> tuple[Answer, Reply] | None:
        """The model's answer from `passage` alone, if it finds one there and it is grounded.
        When it does not and there was a first answer, the trace keeps that one's sentences."""
        first = ("sentences", "answer", "problems")
        kept = {key: trace[key] for key in first if key in trace}
        gen = yield_none(self._generate(question, [passage], lang, trace, show=False))
        answer = None if self._no_answer(gen.reply, typed) else self._grounded(
            gen.reply, question, [passage], lang, trace, judged)
        trace["second_look"] = "answered" if answer is not None else "no-answer"
        if answer is None:
            if kept:
                for key in first:
                    trace.pop(key, None)
                trace.update(kept)
            return None
        return answer, gen.reply

    def _grounded(
        self,
        reply: Reply,
        question: str,
        passages: Sequence[Evidence],
        lang: str,
        trace: dict,
        judged: Sequence[Evidence] = (),
    ) -> Answer | None:
        """The reply as a cited Answer, or None (problems in `trace`) when it is not grounded in the passages.
        `judged`: the sentences the evidence judge quotes; attribution prefers them among equals."""
        spans = {(e.source, e.start) for e in judged}
        prefer = [i for i, p in enumerate(passages, start=1) if (p.source, p.start) in spans]
        supports = attribute(
            reply.answer, passages, question, embed=self._embed, extra_cited=reply.passages, prefer=prefer)
        trace["sentences"] = [
            {"text": s.text, "cited": s.cited, "model_cited": s.model_cited, "missing": s.missing,
             "cited_spans": [f"{passages[n - 1].source}:{passages[n - 1].start}" for n in s.cited],
             "similarity": round(s.similarity, 4), "supported": s.supported}
            for s in supports
        ]
        problems = self._problems(supports)
        answer = cite.resolve(render(supports), passages, lang, answerer=self.label)
        problems += [p for p in cite.grounding_problems(
            answer, passages, question, self._instructions(lang), attributed=True) if p not in problems]
        if problems:
            trace["problems"] = problems
            log.info("generated answer not grounded (%s): %r", ", ".join(problems), redact.one_line(reply.answer, 200))
            return None
        added = sum(bool(s.cited) and not (set(s.cited) & set(s.model_cited)) for s in supports)
        if added:
            answer.flags.append(f"citations-attributed:{added}")
        trace["answer"] = reply.answer  # the model's own words, before the quote added under them
        return answer

    @staticmethod
    def _quote_evidence(answer: Answer, judged: Sequence[Evidence], lang: str) -> None:
        """Quote, under the generated words, the sentences the extractive answerer would quote
        (`judged`), in the articles the answer rests on and the judge's best one's.

        A reader can check a translated answer against the articles' own
        words at a glance (the shape of the extractive answer). The evidence
        judge's choice is always among them: a small model's summary may rest
        on a weaker passage, and the reader should see the best one. A
        judge's runner-up from yet another article hedges for the extractive
        answer, not for a generated one.
        """
        by_span = {(c.source, c.start): c for c in answer.citations}
        files = {c.source for c in answer.citations} | ({judged[0].source} if judged else set())
        quoted: list[Citation] = []
        for e in (e for e in judged if e.source in files):
            c = by_span.get((e.source, e.start))
            if c is None:
                n = max((c.n for c in answer.citations), default=0) + 1
                c = Citation(n=n, source=e.source, quote=e.text, start=e.start, end=e.end, chunk_id=e.chunk_id)
                answer.citations.append(c)
                by_span[(e.source, e.start)] = c
            quoted.append(c)
        quoted += [c for c in answer.citations if c not in quoted]
        shown = " ".join(f"“{c.quote}” [{c.n}]" for c in quoted[:QUOTED])
        answer.text = f"{answer.text}\n{message('lead_in', lang)} {shown}"

    @staticmethod
    def _problems(supports: Sequence[SentenceSupport]) -> list[str]:
        problems: list[str] = []
        if not supports:
            return ["empty-answer"]
        for s in supports:
            if s.missing:
                problems.append("not-in-passages:" + ",".join(s.missing[:5]))
            elif not s.cited:
                problems.append("unsupported-sentence:" + redact.one_line(s.text, 60))
        return problems

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for attribution: the passages' were stored at ingest; only the answer's are encoded."""
        if self._embeddings is None:
            return np.zeros((len(texts), 1))
        from bot.sentence_vectors import StoredEmbeddings, for_index

        embeddings, _ = for_index(self.settings, self._embeddings)
        if isinstance(embeddings, StoredEmbeddings):
            vectors = embeddings.embed_documents(texts, keep=False)
        else:
            vectors = embeddings.embed_documents(texts)
        matrix = np.asarray(vectors, dtype=float)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    def _ungrounded(self, ranked: Sequence[Evidence], lang: str, flags: list[str], question: str = "") -> Answer:
        """Never show an ungrounded generation as the answer: quote the evidence instead."""
        reason = "its answer was not grounded in the articles: " + flags[0]
        notice = message("fallback", lang, error=reason)
        if self.settings.fallback != "extractive":
            return Answer(
                message("refusal", lang),
                mode="refusal",
                lang=lang,
                refused=True,
                answerer=self.label,
                notice=notice,
                flags=["ungrounded", *flags],
            )
        return self._extractive_instead(ranked, lang, question, f"fallback from {self.label}", notice, ["ungrounded", *flags])

    @staticmethod
    def _extractive_instead(
        ranked: Sequence[Evidence], lang: str, question: str, why: str, notice: str, flags: list[str]
    ) -> Answer:
        """The extractive answer in place of a generated one, labelled with why and said so."""
        answer = extractive_answer(list(ranked), lang, question=question)
        answer.answerer = f"extractive ({why})"
        answer.notice = notice
        answer.flags = [*flags, *answer.flags]
        return answer

    # -- errors --------------------------------------------------------------

    @staticmethod
    def _logged(error: LLMError) -> LLMError:
        # The pipeline shows it as the answer's notice; the log keeps it for -v.
        log.info("%s", error)
        return error

    def _error(self, exc: BaseException, started: bool = False, tried: int = 0) -> LLMError:
        """One line for people: which server, what failed, what to set. Never a key (masked before any cut)."""
        import openai

        where, hint = self._where, self._hint
        after = f" (after {tried} retr{'y' if tried == 1 else 'ies'})" if tried else ""
        if isinstance(exc, openai.APITimeoutError) or _kind_of(exc, "TimeoutException"):
            text = (
                f"{where}: no reply within {self.first_token_s:g}s; "
                "raise BOT_LLM_TIMEOUT (seconds to the first token) or check the server"
            )
        elif isinstance(exc, openai.APIConnectionError) and not started:
            text = f"{where}: cannot connect{after}; is the server running? {hint}"
        elif isinstance(exc, openai.APIConnectionError) or _kind_of(exc, "TransportError"):
            text = f"{where}: the connection dropped mid-answer; check the server"
        elif isinstance(exc, openai.AuthenticationError):
            text = f"{where}: the API key was rejected (401); {hint}"
        elif isinstance(exc, openai.PermissionDeniedError):
            text = f"{where}: access denied (403); {hint}"
        elif isinstance(exc, openai.RateLimitError):
            text = f"{where}: rate limited (429){after}; wait and retry, or raise BOT_LLM_MAX_RETRIES"
        elif isinstance(exc, openai.NotFoundError):
            text = f"{where}: model or endpoint not found (404); {hint}"
        elif isinstance(exc, openai.InternalServerError):
            text = f"{where}: server error ({exc.status_code}){after}; check the server's log"
        elif isinstance(exc, openai.APIStatusError):
            text = f"{where}: request refused ({exc.status_code}: {redact.one_line(exc.message, 100)}); {hint}"
        elif isinstance(
            exc, json.JSONDecodeError | openai.APIResponseValidationError | ValueError | KeyError | TypeError
        ):
            text = f"{where}: malformed reply ({type(exc).__name__}); is it an OpenAI-compatible server? {hint}"
        else:
            text = f"{where}: {type(exc).__name__}: {redact.one_line(exc, 100)}"
        return LLMError(redact.one_line(text, 300))


def served_context(base_url: str, key: str | None, timeout: float = 2.0) -> int | None:
    """The context window an OpenAI-compatible server reports for its models (vLLM's
    `max_model_len`, llama.cpp's `meta.n_ctx_train`, others' `context_length`), or None."""
    import httpx

    try:
        reply = httpx.get(
            base_url.rstrip("/") + "/models", timeout=timeout, headers={"Authorization": f"Bearer {key or NO_KEY}"}
        )
        data = reply.json().get("data") or []
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    for model in data if isinstance(data, list) else []:
        if not isinstance(model, dict):
            continue
        meta = model.get("meta") if isinstance(model.get("meta"), dict) else {}
        for value in (model.get("max_model_len"), model.get("context_length"), meta.get("n_ctx"), meta.get("n_ctx_train")):
            if isinstance(value, int) and value > 0:
                return value
    return None


def yield_none(gen: Generator) -> object:
    """Run a generator whose yields are not shown; its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as done:
            return done.value


def render(supports: Sequence[SentenceSupport]) -> str:
    """The answer text with each sentence's citation markers before its final punctuation."""
    out: list[str] = []
    for s in supports:
        markers = "".join(f"[{n}]" for n in s.cited)
        text = s.text.rstrip()
        m = re.search(r"[.!?…]+[\"'”’)]*$", text)
        if markers and m:
            text = f"{text[: m.start()].rstrip()} {markers}{text[m.start():]}"
        elif markers:
            text = f"{text} {markers}"
        out.append(text)
    return " ".join(out)
