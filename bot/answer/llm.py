"""Generated answers, through the OpenAI protocol whoever serves the model.

One code path for every LLM: langchain-openai's ChatOpenAI pointed at
- OpenAI itself (OPENAI_API_KEY),
- any OpenAI-compatible server (OPENAI_BASE_URL, with a key if it needs one),
- or a local GGUF file (BOT_LOCAL_MODEL), served on 127.0.0.1 by bot.local_server.

The model sees only the best few evidence sentences, numbered, inside
delimiters, and must cite them; bot.cite resolves its markers and rejects an
answer that is not grounded in them. Every failure becomes an `LLMError` with
one line for people (which server, what failed, what to set); the pipeline
then falls back to the extractive answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from bot import cite
from bot.answer import Answer
from bot.answer.extractive import extractive_answer
from bot.evidence import Evidence
from bot.prompts import load_prompt, message
from bot.settings import Settings

log = logging.getLogger(__name__)

History = Sequence[tuple[str, str]]

# A small local model reads ~70-100 prompt tokens a second on 2 cores, and
# Vietnamese costs it about a token per character: every passage costs the
# user seconds, and the best few carry the answer.
MAX_PASSAGES = 5
PASSAGES_BUDGET_CHARS = 1000
MAX_PASSAGE_CHARS = 500
CONDENSE_MAX_TOKENS = 64
CONDENSE_TURNS = 3
LANGUAGE_NAMES = {"en": "English", "vi": "Vietnamese"}
NO_KEY = "not-needed"  # OpenAI-compatible servers without auth still want a key header
OPENAI_URL = "https://api.openai.com/v1"
_DELIMITER = re.compile(r"<\s*/?\s*passages\s*>", re.IGNORECASE)


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
    from bot.evidence import anchors

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

    return " ".join(s.text for s in sentences(cite.strip_markers(answer)) if not cite.instruction_like(s.text))


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


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def select_passages(ranked: Sequence[Evidence]) -> tuple[list[Evidence], list[Evidence]]:
    """(passages, withheld): the best few distinct sentences, best first, within a length budget.

    Sentences that address a model (planted instructions, fake role labels or
    source lists) are withheld: what the model does not read, it cannot obey.
    """
    chosen: list[Evidence] = []
    withheld: list[Evidence] = []
    used = 0
    for e in ranked:
        if any(e.text == c.text for c in chosen):
            continue
        if cite.instruction_like(e.text):
            withheld.append(e)
            continue
        size = min(len(e.text), MAX_PASSAGE_CHARS)
        if chosen and used + size > PASSAGES_BUDGET_CHARS:
            break
        chosen.append(e)
        used += size
        if len(chosen) == MAX_PASSAGES:
            break
    return chosen, withheld


class LLMAnswerer:
    """Answers from evidence sentences with a chat model; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._server = None
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        self._secrets = [s for s in [key] if s]
        if settings.local_model:
            from bot.local_server import LocalServer, LocalServerError

            try:
                self._server = LocalServer(
                    settings.local_model, n_ctx=settings.local_ctx, max_tokens=settings.max_tokens
                )
            except LocalServerError as exc:
                raise LLMError(str(exc)) from None
            base_url, key, model = self._server.base_url, self._server.api_key, self._server.model_path.name
            self._secrets.append(key)
            self.label = f"local model {model}"
            self._where = f"the local model server ({base_url})"
            self._hint = "check BOT_LOCAL_MODEL"
        elif settings.openai_base_url:
            base_url, model = settings.openai_base_url, settings.openai_model
            if urlsplit(base_url).password:
                self._secrets.append(urlsplit(base_url).password)
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
        # OpenAI wants max_completion_tokens (its reasoning models reject
        # max_tokens); llama.cpp servers may ignore it, so they get both.
        self._send_max_tokens = base_url != OPENAI_URL
        self._chat = self._make_chat(key or NO_KEY, settings.max_tokens)
        self._condenser = self._make_chat(key or NO_KEY, min(CONDENSE_MAX_TOKENS, settings.max_tokens))

    def _make_chat(self, key: str, max_tokens: int):
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            model=self.model,
            base_url=self.base_url,
            api_key=SecretStr(key),
            timeout=self.settings.llm_timeout_s,
            max_retries=self.settings.llm_max_retries,
            max_tokens=max_tokens,
            temperature=0,
            # Usage reports are not needed, and token counting (tiktoken) would
            # fetch tables from the network: neither is ever asked for.
            stream_usage=False,
            extra_body={"max_tokens": max_tokens} if self._send_max_tokens else None,
        )

    def close(self) -> None:
        # The HTTP clients are not closed: langchain-openai shares them between
        # instances with the same base URL.
        if self._server is not None:
            self._server.close()

    @staticmethod
    def _quote(text: str, limit: int) -> str:
        # Passages are data: they must not be able to close the delimiter.
        text = " ".join(_DELIMITER.sub(" ", text).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def messages(self, question: str, passages: Sequence[Evidence], lang: str) -> list:
        from langchain_core.messages import HumanMessage, SystemMessage

        values = self._prompt_values(lang)
        numbered = "\n".join(
            f"[{i}] (source: {self._quote(p.source, 80)}) {self._quote(p.text, MAX_PASSAGE_CHARS)}"
            for i, p in enumerate(passages, start=1)
        )
        return [
            SystemMessage(load_prompt("system").format(**values)),
            HumanMessage(
                load_prompt("answer").format(passages=numbered, question=self._quote(question, 2000), **values)
            ),
        ]

    @staticmethod
    def _prompt_values(lang: str) -> dict[str, str]:
        return {"language": LANGUAGE_NAMES.get(lang, "English"), "refusal": message("refusal", lang)}

    def _instructions(self, lang: str) -> list[str]:
        values = self._prompt_values(lang)
        return [
            load_prompt("system").format(**values),
            load_prompt("answer").format(passages="", question="", **values),
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

    def stream_answer(
        self, question: str, ranked: Sequence[Evidence], lang: str, history: History | None = None
    ) -> Iterator[str]:
        """Yield the answer's text as it arrives; return the final Answer (citations resolved).

        `history` is not sent: the question is already standalone (see
        `condense`), and past answers would only cost prompt time.
        """
        passages, withheld = select_passages(ranked)
        if withheld:
            log.warning(
                "kept from the model, reads like instructions: %s", ", ".join(f"{e.source}:{e.start}" for e in withheld)
            )
        if not passages:
            raise LLMError(f"{self._where}: no evidence fit to show the model")
        pieces: list[str] = []
        finish: str | None = None
        try:
            for chunk in self._chat.stream(self.messages(question, passages, lang)):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    pieces.append(text)
                    yield text
                finish = (chunk.response_metadata or {}).get("finish_reason") or finish
        except Exception as exc:
            raise self._logged(self._error(exc, started=bool(pieces))) from None
        if finish is None:
            raise self._logged(
                LLMError(f"{self._where}: the reply stopped mid-answer (no end of stream); check the server")
            )
        text = "".join(pieces).strip()
        if not text:
            raise self._logged(LLMError(f"{self._where}: the model returned an empty answer; {self._hint}"))
        answer = cite.resolve(text, passages, lang, answerer=self.label)
        if finish == "length":
            answer.flags.append("max-tokens-reached")
        if withheld:
            answer.flags.append("instruction-like-text-withheld")
        problems = cite.grounding_problems(answer, passages, question, self._instructions(lang))
        if problems:
            log.info("generated answer not grounded (%s): %r", ", ".join(problems), _one_line(text, 200))
            return self._ungrounded(ranked, lang, problems + answer.flags)
        return answer

    def _ungrounded(self, ranked: Sequence[Evidence], lang: str, flags: list[str]) -> Answer:
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
        answer = extractive_answer(list(ranked), lang)
        answer.answerer = f"extractive (fallback from {self.label})"
        answer.notice = notice
        answer.flags = ["ungrounded", *flags]
        return answer

    # -- errors --------------------------------------------------------------

    @staticmethod
    def _logged(error: LLMError) -> LLMError:
        log.warning("%s", error)
        return error

    def _error(self, exc: BaseException, started: bool = False) -> LLMError:
        """One line for people: which server, what failed, what to set. Never a key."""
        import openai

        where, hint = self._where, self._hint
        retries = self.settings.llm_max_retries
        tried = f" (after {retries} retr{'y' if retries == 1 else 'ies'})" if retries else ""
        if isinstance(exc, openai.APITimeoutError) or _kind_of(exc, "TimeoutException"):
            text = f"{where}: no reply within {self.settings.llm_timeout_s:g}s{tried}; raise BOT_LLM_TIMEOUT or check the server"
        elif isinstance(exc, openai.APIConnectionError) and not started:
            text = f"{where}: cannot connect{tried}; is the server running? {hint}"
        elif isinstance(exc, openai.APIConnectionError) or _kind_of(exc, "TransportError"):
            text = f"{where}: the connection dropped mid-answer; check the server"
        elif isinstance(exc, openai.AuthenticationError):
            text = f"{where}: the API key was rejected (401); {hint}"
        elif isinstance(exc, openai.PermissionDeniedError):
            text = f"{where}: access denied (403); {hint}"
        elif isinstance(exc, openai.RateLimitError):
            text = f"{where}: rate limited (429){tried}; wait and retry, or raise BOT_LLM_MAX_RETRIES"
        elif isinstance(exc, openai.NotFoundError):
            text = f"{where}: model or endpoint not found (404); {hint}"
        elif isinstance(exc, openai.InternalServerError):
            text = f"{where}: server error ({exc.status_code}){tried}; check the server's log"
        elif isinstance(exc, openai.APIStatusError):
            text = f"{where}: request refused ({exc.status_code}: {_one_line(exc.message, 100)}); {hint}"
        elif isinstance(
            exc, json.JSONDecodeError | openai.APIResponseValidationError | ValueError | KeyError | TypeError
        ):
            text = f"{where}: malformed reply ({type(exc).__name__}); is it an OpenAI-compatible server? {hint}"
        else:
            text = f"{where}: {type(exc).__name__}: {_one_line(exc, 100)}"
        return LLMError(self._redact(_one_line(text, 300)))

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", "sk-***", text)
