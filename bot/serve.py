"""`bot serve`: the bot as an OpenAI-compatible model, `newsbot`, for any OpenAI client.

    GET  /v1/models            one model, newsbot
    POST /v1/chat/completions  plain JSON or streamed (SSE), like OpenAI's
    GET  /newsbot/identity     the index it serves, for `bot ask` / `bot chat` (bot.remote)
    POST /newsbot/ask          what `bot ask` prints, streamed as JSON lines (bot.remote)

The answer's text carries its [n] markers; what they cite (file, quote and
character offsets in the article) is in the response's extra `citations` field
(in the last chunk when streamed), with who answered and the question actually
searched under `newsbot`. The earlier user/assistant turns of `messages` are
the conversation: a follow-up ("what did he say then?") is rewritten into a
standalone question from them. System messages are ignored: the bot's own
instructions are not the client's to replace.

It listens on 127.0.0.1 unless BOT_API_KEY is set; with a key, every request
must carry it (`Authorization: Bearer KEY`, what OpenAI clients send).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import secrets
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.pipeline import Bot, History, Result
from bot.remote import ASK_PATH, IDENTITY_PATH
from bot.settings import RETRIEVERS, Settings

log = logging.getLogger(__name__)

MODEL_ID = "newsbot"
MAX_BODY_BYTES = 1_000_000
_CREATED = int(time.time())


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.status, self.code = message, param, status, code


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """ValueError (with what to do) when HOST may not be served without a key."""
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"Refusing to serve the API on {host} without a key: anyone who can reach this machine could use it. "
            "Set BOT_API_KEY, or serve on 127.0.0.1 (the default)."
        )


def _error(status: int, message: str, param: str | None = None, code: str | None = None, kind: str | None = None):
    kind = kind or ("invalid_request_error" if status < 500 else "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


# -- the request ---------------------------------------------------------------------


def _text(content, where: str) -> str:
    """A message's text: a string, or OpenAI's list of content parts (text parts only)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise BadRequest(f"{where}: only text content parts are supported", "messages")
            texts.append(part["text"])
        return "\n".join(texts)
    if content is None:
        return ""
    raise BadRequest(f"{where}.content must be a string or a list of text parts", "messages")


def parse_request(body) -> tuple[str, History, bool]:
    """(question, history, stream) from a chat completions body; BadRequest says what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if model is not None and model != MODEL_ID:
        raise BadRequest(
            f"the model `{model}` does not exist here; this server serves `{MODEL_ID}`",
            "model",
            status=404,
            code="model_not_found",
        )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("`stream` must be true or false", "stream")
    n = body.get("n", 1)
    if n not in (1, None):
        raise BadRequest("only n=1 is supported", "n")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list of {role, content} objects", "messages")
    turns: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a `role`", "messages")
        role = m["role"]
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise BadRequest(f"messages[{i}].role `{role}` is not a chat role", "messages")
        if role in ("user", "assistant"):
            turns.append((role, _text(m.get("content"), f"messages[{i}]")))
    if not turns or turns[-1][0] != "user":
        raise BadRequest("the last message must be the user's question", "messages")
    question = turns[-1][1]
    if not question.strip():
        raise BadRequest("the user's question is empty", "messages")
    history: History = []
    pending: str | None = None
    for role, text in turns[:-1]:
        if role == "user":
            pending = text
        elif pending is not None:
            history.append((pending, text))
            pending = None
    return question, history, stream


@dataclass
class CliRequest:
    """A question from `bot ask` / `bot chat` (bot.remote), with the options `bot ask` takes."""

    question: str
    history: History
    k: int | None = None
    retriever: str | None = None


def parse_cli_request(body) -> CliRequest:
    """The body of POST /newsbot/ask; BadRequest says what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    question = body.get("question")
    if not isinstance(question, str):
        raise BadRequest("`question` must be a string", "question")
    history = body.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn) for turn in history
    ):
        raise BadRequest("`history` must be a list of [question, answer] pairs of strings", "history")
    k = body.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50):
        raise BadRequest("`k` must be a whole number from 1 to 50", "k")
    retriever = body.get("retriever")
    if retriever is not None and retriever not in RETRIEVERS:
        raise BadRequest(f"`retriever` must be one of {', '.join(RETRIEVERS)}", "retriever")
    return CliRequest(question, [(q, a) for q, a in history], k, retriever)


# -- the response ----------------------------------------------------------------------


_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def inert(text: str, after: str = "") -> str:
    """Text a client may render as Markdown, with nothing in it that becomes a link or an HTML tag.

    The answer quotes article text, and an article can hold "[1](https://…)": in a chat
    client that rendered it, a link shaped like a citation marker (issue 26.3). "](" and
    tags are escaped; `after` is the text sent just before (a stream's last piece), so a
    link split between two pieces is caught too. `citations` keep their quotes verbatim:
    data whose offsets point into the article.
    """
    text = _TAG.sub(r"\\<", text.replace("](", "]\\("))
    if after.endswith("]") and text.startswith("("):
        text = "\\" + text
    return text


def citations_of(answer, metas=None) -> list[dict]:
    """Each citation: file, quote and offsets; with `metas` (bot.workspace.catalog.metas) also its article's
    title, date, outlet, address and byline, and a note when the quote dates something relatively (bot.bylines)."""
    from bot.bylines import citation_fields

    return [
        {"n": c.n, "file": c.source, "quote": c.quote, "start": c.start, "end": c.end,
         **citation_fields(c.source, c.quote, metas or {})}
        for c in answer.citations
    ]


def meta_of(answer) -> dict:
    return {
        "answerer": answer.answerer,
        "refused": answer.refused,
        "mode": answer.mode,
        "question": answer.question,
        "notice": answer.notice,
        "flags": list(answer.flags),
        "text": inert(answer.text),
    }


class NewsbotAPI:
    """The answering behind the routes: one shared Bot; a local model generates one answer at a time."""

    def __init__(self, bot: Bot, settings: Settings | None = None) -> None:
        self.bot = bot
        self.settings = settings or bot.settings
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        self.api_key = key or None
        self._llm_lock = threading.Lock() if self.settings.local_model else None

    def metas(self) -> dict:
        from bot.workspace.catalog import metas

        return metas(self.bot.retriever.lexical)

    def authorized(self, header: str | None) -> bool:
        if self.api_key is None:
            return True
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), self.api_key.encode())

    def identity(self) -> dict:
        """The index served and the settings answering (bot.remote.index_identity), and who answers.

        The index as it is on disk now: each question reopens it first when an ingest changed it (`events`).
        A few stat calls, answered on the event loop: a hop to a worker thread cost more than the answer.
        """
        from bot.remote import index_identity

        return {**index_identity(self.settings), "answerer": self.bot.answerer_label}

    def events(
        self, question: str, history: History, gone: threading.Event | None = None, **options
    ) -> Iterator[str | Result]:
        """The answer's events; `gone` set (the client left) ends them at the next one, or while waiting
        for the local model, so a dropped request never holds or queues for it. options: `Bot.stream`'s
        k and retriever."""
        self.bot.refresh()  # articles ingested while serving are answered from (issue 26.8)
        if self._llm_lock is None:
            yield from self._until(self.bot.stream(question, list(history), **options), gone)
            return
        while not self._llm_lock.acquire(timeout=0.2):
            if gone is not None and gone.is_set():
                return
        try:
            yield from self._until(self.bot.stream(question, list(history), **options), gone)
        finally:
            self._llm_lock.release()

    def lines(self, request: CliRequest, gone: threading.Event | None = None) -> Iterator[str]:
        """`bot ask` / `bot chat` through the server (bot.remote): JSON lines of the events, the last one
        what the CLI prints in process (bot.render), so that either way prints the same."""
        from bot.answer import Status
        from bot.render import answer_json, format_answer

        result = None
        try:
            for event in self.events(request.question, request.history, gone, k=request.k, retriever=request.retriever):
                if isinstance(event, Result):
                    result = event
                elif isinstance(event, Status):
                    yield json.dumps({"status": event.text}, ensure_ascii=False) + "\n"
                elif isinstance(event, str) and event:
                    yield json.dumps({"text": event}, ensure_ascii=False) + "\n"
        except Exception as exc:  # the stream has started: the error goes in it
            log.exception("answering %r failed", request.question)
            yield json.dumps({"error": f"the answer failed ({type(exc).__name__})"}) + "\n"
            return
        if result is None:  # the client left
            return
        metas = self.metas()
        printed = {"json": answer_json(result.answer, metas), "text": format_answer(result.answer, metas)}
        yield json.dumps({"result": printed}, ensure_ascii=False) + "\n"

    @staticmethod
    def _until(events: Iterator[str | Result], gone: threading.Event | None) -> Iterator[str | Result]:
        try:
            for event in events:
                if gone is not None and gone.is_set():
                    return
                yield event
        finally:
            events.close()  # closes the model's stream now, on this thread

    def complete(self, question: str, history: History) -> dict:
        result = None
        for event in self.events(question, history):
            if isinstance(event, Result):
                result = event
        answer = result.answer
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": inert(answer.text)}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": citations_of(answer, self.metas()),
            MODEL_ID: meta_of(answer),
        }

    def sse(self, question: str, history: History, gone: threading.Event | None = None) -> Iterator[str]:
        """Server-sent events: the text as generated, then a last chunk with the citations, then [DONE].

        The final answer can differ from what was generated (markers checked, an ungrounded
        generation replaced by quoted evidence): the rest is then sent after a blank line,
        and `newsbot.text` in the last chunk is the answer as the bot settled it.
        """
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        streamed = ""
        result = None
        try:
            for event in self.events(question, history, gone):
                if isinstance(event, Result):
                    result = event
                elif isinstance(event, str) and event:  # progress events (not str) are not the answer
                    yield chunk({"content": inert(event, streamed)})
                    streamed += event
        except Exception as exc:  # the stream has started: the error goes in it
            log.exception("answering %r failed", question)
            error = {"message": f"the answer failed ({type(exc).__name__})", "type": "server_error"}
            yield f"data: {json.dumps({'error': error})}\n\n"
            yield "data: [DONE]\n\n"
            return
        if result is None:  # the client left: nobody to send the rest to
            return
        answer = result.answer
        final = answer.text
        if not streamed:
            rest = final
        elif final.startswith(streamed):
            rest = final[len(streamed) :]
        elif final == streamed.strip():
            rest = ""
        else:
            rest = "\n\n" + (f"({answer.notice})\n" if answer.notice else "") + final
        if rest:
            yield chunk({"content": inert(rest, streamed)})
        yield chunk({}, "stop", citations=citations_of(answer, self.metas()), **{MODEL_ID: meta_of(answer)})
        yield "data: [DONE]\n\n"


_END = object()


async def _cancellable(make: Callable[[threading.Event], Iterator[str]]) -> AsyncIterator[str]:
    """The events of a sync generator, produced on a thread of their own; stopped when the client goes.

    Starlette stops reading a response whose client disconnected, but a sync generator
    it iterated was left suspended, holding the local model's lock with its generation
    running: every later request waited for it (issue 26.2). Here the consumer going away
    (cancelled, or closed) tells the producer, which closes the generator itself on its
    own thread: GeneratorExit runs through the answer, the model's HTTP stream is closed
    (llama.cpp stops generating) and the lock is released.
    """
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    gone = threading.Event()
    events = make(gone)

    def produce() -> None:
        try:
            for piece in events:
                if gone.is_set():
                    break
                loop.call_soon_threadsafe(pieces.put_nowait, piece)
        except BaseException:  # noqa: BLE001 - the stream reports its own errors; this is only the thread's end
            log.exception("streaming an answer failed")
        finally:
            events.close()
            with contextlib.suppress(RuntimeError):  # the loop may be closed by now (server stopped)
                loop.call_soon_threadsafe(pieces.put_nowait, _END)

    threading.Thread(target=produce, name="newsbot-stream", daemon=True).start()
    try:
        while (piece := await pieces.get()) is not _END:
            yield piece
    finally:
        gone.set()


def allowed_hosts(host: str) -> list[str]:
    """The Host headers a server bound to `host` answers.

    On loopback only its own names: a web page whose domain was rebound to 127.0.0.1
    sends its own name, and must not read answers (DNS rebinding). Beyond loopback
    the API key is the guard.
    """
    if not is_loopback(host):
        return ["*"]
    return list(dict.fromkeys([host.strip("[]"), "127.0.0.1", "localhost", "::1"]))


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is larger than `limit` (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for part in request.stream():
        body.extend(part)
        if len(body) > limit:
            return None
    return bytes(body)


def create_app(bot: Bot, settings: Settings | None = None, host: str | None = None):
    """The FastAPI app over one opened Bot (routes take a Request: annotations must resolve at module level)."""
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    api = NewsbotAPI(bot, settings)
    # No redirect from `/v1/models/` to `/v1/models`: it wrote the request's Host into Location.
    app = FastAPI(title="newsbot", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.api = api

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):  # OpenAI's error shape, never a plain-text 500
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"the request failed ({type(exc).__name__})")

    @app.middleware("http")
    async def require_key(request: Request, call_next):
        if not api.authorized(request.headers.get("authorization")):
            return _error(401, "missing or wrong API key (send Authorization: Bearer BOT_API_KEY)", code="invalid_api_key")
        return await call_next(request)

    model_card = {"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": MODEL_ID}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [model_card]}

    @app.get("/v1/models/{model}")
    async def model(model: str):
        if model != MODEL_ID:
            return _error(404, f"the model `{model}` does not exist here", "model", "model_not_found")
        return model_card

    async def json_body(request: Request):
        """The request's JSON body, or the error response saying why there is none."""
        # JSON only: a web page can POST text/plain (or a form) to loopback without asking first.
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return None, _error(415, "send the request as JSON (Content-Type: application/json)")
        raw = await _read_body(request, MAX_BODY_BYTES)
        if raw is None:
            return None, _error(413, f"the request is larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(raw or b"null"), None
        except RecursionError:
            return None, _error(400, "the request body is nested too deeply")
        except ValueError:
            return None, _error(400, "the request body is not valid JSON")

    @app.get(IDENTITY_PATH)
    async def identity():
        return api.identity()

    @app.post(ASK_PATH)
    async def cli_ask(request: Request):
        body, failed = await json_body(request)
        if failed is not None:
            return failed
        try:
            asked = parse_cli_request(body)
        except BadRequest as exc:
            return _error(exc.status, exc.message, exc.param, exc.code)
        return StreamingResponse(
            _cancellable(lambda gone: api.lines(asked, gone)),
            media_type="application/x-ndjson",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body, failed = await json_body(request)
        if failed is not None:
            return failed
        try:
            question, history, stream = parse_request(body)
        except BadRequest as exc:
            return _error(exc.status, exc.message, exc.param, exc.code)
        if stream:
            return StreamingResponse(
                _cancellable(lambda gone: api.sse(question, history, gone)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            return JSONResponse(await run_in_threadpool(api.complete, question, history))
        except Exception as exc:
            log.exception("answering %r failed", question)
            return _error(500, f"the answer failed ({type(exc).__name__})")

    # Outermost: a foreign Host is refused before anything else answers it.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host or api.settings.serve_host))
    return app


# -- running it --------------------------------------------------------------------------


def _server(app, host: str, port: int):
    import uvicorn

    # A stream still open at shutdown is cut after a few seconds: SIGTERM must stop the server in any state.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3
    )
    return uvicorn.Server(config)


@contextmanager
def serving(bot: Bot, host: str = "127.0.0.1", port: int = 0, settings: Settings | None = None):
    """Serve in a background thread (tests, embedding); yields the base URL (…/v1)."""
    settings = settings or bot.settings
    check_bind(host, settings.api_key.get_secret_value() if settings.api_key else None)
    server = _server(create_app(bot, settings, host), host, port)
    thread = threading.Thread(target=server.run, name="newsbot-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ValueError(f"Cannot serve on {host}:{port}; choose another --port.")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1] if port == 0 else port
    try:
        yield f"http://{host}:{bound}/v1"
    finally:
        server.should_exit = True
        thread.join(10)


def _terminated(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def serve(host: str | None = None, port: int | None = None, *, settings: Settings | None = None) -> None:
    """`bot serve`: check where to listen, open the Bot once, serve until Ctrl-C."""
    from bot.answer.llm import LLMError
    from bot.settings import get_settings

    settings = settings or get_settings()
    host = host or settings.serve_host
    port = port or settings.serve_port
    check_bind(host, settings.api_key.get_secret_value() if settings.api_key else None)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM's default ends the process at once, before `finally` could stop the local
        # model's llama.cpp child; as an exception it unwinds like Ctrl-C. (uvicorn handles it
        # while serving, then raises it again once the server has stopped.)
        signal.signal(signal.SIGTERM, _terminated)
    try:
        bot = Bot(settings)
    except LLMError as exc:
        raise ValueError(str(exc)) from None
    try:
        server = _server(create_app(bot, settings, host), host, port)
        print(
            f"Serving model `{MODEL_ID}` on http://{host}:{port}/v1 (answering with: {bot.answerer_label}; "
            f"API key {'required' if settings.api_key else 'not required'}). Ctrl-C to stop.",
            flush=True,
        )
        server.run()
        if not server.started:
            raise ValueError(f"Cannot serve on {host}:{port} (in use?); choose another --port.")
    finally:
        bot.close()
