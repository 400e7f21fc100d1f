"""A real OpenAI-compatible HTTP server for tests, misbehaving on request.

It listens on 127.0.0.1 on a free port, in a thread, and speaks
/v1/chat/completions (plain JSON and SSE streaming) and /v1/models. A test
scripts what each request gets:

    with FakeOpenAI() as fake:
        fake.script("ok", answer="Lavrov and Blinken met [1].")
        fake.script(500)                 # every request fails
        fake.script(429, "ok")           # first request rate limited, the rest answered
        fake.script("slow", delay=3)     # answers after 3 s
        fake.script("malformed")         # invalid JSON
        fake.script("truncated")         # a stream cut mid-answer (connection dropped)
        fake.script("unfinished")        # a stream that ends early and cleanly, without finish/[DONE]
        fake.script("ok", answers=["Who did Lavrov meet?", "Blinken [1]."])  # one answer per request
        fake.script("no-schema")         # 400 for a request carrying response_format, else "ok"
        fake.script("drip", delay=0.5)   # streams, one word per `delay` seconds

The last behaviour (and answer) of a script repeats. `fake.requests` holds every
request (path, JSON body, headers, arrival time), so a test can count retries
and read what was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ANSWER = "The articles don't say."
ERROR_TYPES = {401: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}


class FakeOpenAI:
    def __init__(self, answer: str = DEFAULT_ANSWER) -> None:
        self._answers = [answer]
        self.delay = 0.0
        self.retry_after = "1"
        self.requests: list[dict] = []
        self.model_fields: dict = {}  # more fields of /v1/models' one model (e.g. "max_model_len")
        self._script: list[str | int] = ["ok"]
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    # -- control -------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # wakes "slow" handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(
        self,
        *behaviours: str | int,
        answer: str | None = None,
        answers: list[str] | None = None,
        delay: float | None = None,
        retry_after: str | None = None,
    ) -> FakeOpenAI:
        with self._lock:
            self._script = list(behaviours) or ["ok"]
            self.requests.clear()
            if answer is not None or answers:
                self._answers = list(answers or [answer])
        if delay is not None:
            self.delay = delay
        if retry_after is not None:
            self.retry_after = retry_after
        return self

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _next(self) -> str | int:
        with self._lock:
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def _next_answer(self) -> str:
        with self._lock:
            return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAI

    def handle_error(self, request, client_address) -> None:
        pass  # clients that time out and hang up are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    # -- plumbing ------------------------------------------------------------

    def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _start_sse(self, chunked: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _event(self, data: str, chunked: bool = True) -> None:
        payload = f"data: {data}\n\n".encode()
        if chunked:
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        else:
            self.wfile.write(payload)
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def _chunk(model: str, delta: dict, finish: str | None = None) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    @staticmethod
    def _pieces(answer: str) -> list[str]:
        words = answer.split(" ")
        return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]

    # -- endpoints -----------------------------------------------------------

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.requests.append(
            {
                "path": self.path,
                "body": None,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "at": time.monotonic(),
            }
        )
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": "fake-model", "object": "model", **fake.model_fields}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        fake.requests.append(
            {
                "path": self.path,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "at": time.monotonic(),
            }
        )
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        behaviour = fake._next()
        try:
            self._respond(fake, behaviour, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _respond(self, fake: FakeOpenAI, behaviour: str | int, body: dict) -> None:
        model = body.get("model", "fake-model")
        stream = bool(body.get("stream"))
        if isinstance(behaviour, int):
            headers = {"Retry-After": fake.retry_after} if behaviour == 429 else {}
            # Real servers echo (part of) a rejected key; the client must not pass it on.
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            detail = f"Incorrect API key provided: {key}" if behaviour == 401 else f"fake error {behaviour}"
            if behaviour == 400:
                # Some servers quote the whole request back, key included, deep into the message.
                detail = "Bad request: " + "x" * 70 + f" and your key {key} was used"
            error = {"message": detail, "type": ERROR_TYPES.get(behaviour, "error"), "code": behaviour}
            self._send_json(behaviour, {"error": error}, headers)
            return
        # Taken now, so a stalled handler that wakes late cannot take the next test's answer.
        answer = fake._next_answer()
        if behaviour == "slow":
            if fake._stopped.wait(fake.delay):
                return
            behaviour = "ok"
        if behaviour == "no-schema":
            if "response_format" in body:
                error = {"message": "response_format is not supported", "type": "invalid_request_error", "code": 400}
                self._send_json(400, {"error": error})
                return
            behaviour = "ok"
        drip = behaviour == "drip"
        if drip:
            behaviour = "ok"
        if behaviour == "malformed":
            if stream:
                self._start_sse()
                self._event("{this is not json")
                self._end_chunks()
            else:
                raw = b"{this is not json"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            return
        if behaviour in ("truncated", "unfinished"):
            chunked = behaviour == "truncated"
            self._start_sse(chunked=chunked)
            self._event(self._chunk(model, {"role": "assistant", "content": ""}), chunked)
            for piece in self._pieces(answer)[:3]:
                self._event(self._chunk(model, {"content": piece}), chunked)
            # "truncated" drops the connection inside the chunked body; "unfinished"
            # closes it cleanly, but before any finish_reason or [DONE].
            self.close_connection = True
            self.wfile.flush()
            if chunked:
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if behaviour != "ok":
            raise ValueError(f"unknown behaviour {behaviour!r}")
        if not stream:
            self._send_json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                },
            )
            return
        self._start_sse()
        self._event(self._chunk(model, {"role": "assistant", "content": ""}))
        for piece in self._pieces(answer):
            if drip and fake._stopped.wait(fake.delay):
                return
            self._event(self._chunk(model, {"content": piece}))
        self._event(self._chunk(model, {}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 321, "completion_tokens": len(self._pieces(answer)), "total_tokens": 0}
            self._event(json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                    "model": model, "choices": [], "usage": usage}))
        self._event("[DONE]")
        self._end_chunks()
