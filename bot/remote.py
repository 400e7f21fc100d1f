"""`bot ask` and `bot chat` through a running `bot serve`: its index's identity, and asking it.

A running server has the index, the embedder and any model loaded already; a
new `bot ask` process would spend seconds importing and loading them for a
tenth of a second of answering. So the CLI first asks the configured
BOT_SERVE_HOST:BOT_SERVE_PORT who it is (GET /newsbot/identity) and answers
through it (POST /newsbot/ask) only when the server serves the same index
(the live index folder, the collection, the index's generation stamp) with
the same answering settings, and accepts the key the CLI has (BOT_API_KEY).
Anything else (a closed port, another index, another key, an error) and the
CLI answers in process, as before.

Only the standard library is imported here: the point is to not pay for the
answering machinery when a server already holds it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from bot.settings import Settings

log = logging.getLogger(__name__)

IDENTITY_PATH = "/newsbot/identity"
ASK_PATH = "/newsbot/ask"
# A server on this machine answers its identity in milliseconds; a closed port refuses at once.
CONNECT_TIMEOUT_S = 0.25
IDENTITY_TIMEOUT_S = 2.0
# Settings that do not change an answer: where things are served, the UI, ingestion, the secrets themselves
# (a secret counts by whether it is set). The index itself is compared by its own fields.
_NOT_ANSWERING = frozenset({
    "serve_host", "serve_port", "api_key", "ui_host", "ui_port", "ui_auth", "ui_concurrency", "ui_readonly",
    "upload_dir", "workspace_db", "fetch_timeout_s", "eval_runs_dir", "eval_index_dir", "data_dir", "index_dir",
    "chunk_size", "chunk_overlap", "max_file_bytes", "max_document_bytes", "ingest_workers", "ingest_topics",
})


class RemoteError(RuntimeError):
    """The server went away or failed mid-answer; the message says how."""


def answering_digest(settings: Settings) -> str:
    """A digest of every setting that can change an answer, so that server and CLI answer alike."""
    fields = {}
    for name in sorted(type(settings).model_fields):
        if name in _NOT_ANSWERING:
            continue
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            value = "set"
        fields[name] = str(value) if value is not None else None
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def index_identity(settings: Settings) -> dict:
    """What a server must report for the CLI to answer through it (a few stat calls, no import)."""
    from bot.index_dir import generation, live_dir

    if settings.chroma_host:  # a Chroma server is live: no folder, no stamp
        where, stamp = f"chroma://{settings.chroma_host}:{settings.chroma_port}", ""
    else:
        where, stamp = str(live_dir(settings.index_dir).resolve()), generation(settings.index_dir)
    return {"index": where, "collection": settings.collection, "generation": stamp,
            "settings": answering_digest(settings)}


def _connect_host(host: str) -> str:
    """Where to reach a server bound to `host`: a wildcard bind is reached on loopback."""
    host = host.strip("[]")
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


@dataclass
class Server:
    """A running `bot serve` that serves this CLI's index with its settings."""

    host: str
    port: int
    key: str | None
    answerer: str  # its answerer's label, for `bot chat`'s first line

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return headers

    def ask(
        self, question: str, history: list[tuple[str, str]] | None = None, *, k: int | None = None,
        retriever: str | None = None,
    ) -> Iterator[dict]:
        """The answer's events as the server sends them: {"text": piece}, {"status": line}, and last
        {"result": {"json": what `--json` prints, "text": what is printed}}. RemoteError when it fails."""
        body = json.dumps({"question": question, "history": [list(turn) for turn in history or []],
                           "k": k, "retriever": retriever}).encode()
        # No read timeout: a local model may take minutes to answer; the connection ending is the signal.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT_S * 8)
        try:
            try:
                conn.request("POST", ASK_PATH, body=body, headers=self._headers())
                conn.sock.settimeout(None)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise RemoteError(f"the server at {self.url} did not answer ({type(exc).__name__})") from None
            if response.status != 200:
                raise RemoteError(f"the server at {self.url} refused the question (HTTP {response.status}: "
                                  f"{_error_message(response.read())})")
            got_result = False
            try:
                for line in response:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if "error" in event:
                        raise RemoteError(f"the server at {self.url} failed: {event['error']}")
                    got_result = got_result or "result" in event
                    yield event
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise RemoteError(f"the server at {self.url} stopped mid-answer ({type(exc).__name__})") from None
            if not got_result:
                raise RemoteError(f"the server at {self.url} stopped mid-answer")
        finally:
            conn.close()


def _error_message(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")


def find_server(settings: Settings) -> Server | None:
    """The `bot serve` at BOT_SERVE_HOST:BOT_SERVE_PORT when it serves this index with these settings and
    takes this key; None otherwise (why, at -v). Costs one refused connect when nothing listens."""
    host, port = _connect_host(settings.serve_host), settings.serve_port
    key = settings.api_key.get_secret_value() if settings.api_key else None
    where = f"{host}:{port}"
    conn = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT_S)
    try:
        try:
            conn.connect()
        except OSError:
            log.info("no bot serve on %s: answering in process", where)
            return None
        conn.sock.settimeout(IDENTITY_TIMEOUT_S)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            conn.request("GET", IDENTITY_PATH, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:  # timeouts are OSErrors
            log.info("%s did not say which index it serves (%s): answering in process", where, type(exc).__name__)
            return None
    finally:
        conn.close()
    if response.status != 200:
        log.info("%s answered its identity with HTTP %s (%s): answering in process", where, response.status,
                 "the key is not accepted" if response.status == 401 else "not a bot serve of this version")
        return None
    try:
        theirs = json.loads(raw)
        ours = index_identity(settings)
        differ = [name for name in ours if theirs.get(name) != ours[name]]
    except (ValueError, AttributeError) as exc:
        log.info("%s sent an identity that is not JSON (%s): answering in process", where, exc)
        return None
    if differ:
        log.info("the bot serve on %s differs from this one in %s: answering in process", where, ", ".join(differ))
        return None
    log.info("answering through the bot serve on %s", where)
    return Server(host, port, key, str(theirs.get("answerer", "")))
