"""Find the OpenAI-compatible server the user already runs (Ollama, LM Studio, llama.cpp, vLLM).

With no LLM configured, the bot asks `GET /v1/models` on the usual local ports,
all at once, on 127.0.0.1 only, and gives up on the lot after 300 ms: a closed
port answers at once on loopback, so the cost is one round trip to whatever
listens. A port whose answer is not an OpenAI model list (Chroma's 404 on
8000, a web page, a server wanting a key) is passed over. `BOT_AUTODETECT=0`
turns it off; `BOT_AUTODETECT_PORTS` changes the ports (first found wins).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
BUDGET_S = 0.3
KNOWN_PORTS = {11434: "Ollama", 1234: "LM Studio", 8080: "llama.cpp server", 8000: "vLLM"}
# /v1/models' owned_by tells servers apart better than the port does.
OWNERS = {"library": "Ollama", "llamacpp": "llama.cpp server", "vllm": "vLLM", "organization_owner": "LM Studio"}
SELF_OWNER = "newsbot"  # `bot serve`: never answer through ourselves
_NOT_CHAT = ("embed", "rerank", "whisper", "tts", "bge-", "e5-")


@dataclass(frozen=True)
class DetectedServer:
    port: int
    kind: str
    models: tuple[str, ...] = field(default_factory=tuple)
    model: str = ""

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def label(self, model: str | None = None) -> str:
        return f"{self.kind} on {HOST}:{self.port}, found automatically (model {model or self.model})"

    def with_model(self, model: str) -> DetectedServer:
        return DetectedServer(self.port, self.kind, self.models, model)


def _chat_models(ids: list[str]) -> list[str]:
    chat = [m for m in ids if not any(tag in m.lower() for tag in _NOT_CHAT)]
    return chat or []


def _ask(port: int, deadline: float) -> DetectedServer | None:
    timeout = deadline - time.monotonic()
    if timeout <= 0:
        return None
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/v1/models", headers={"Accept": "application/json", "Connection": "close"})
        response = conn.getresponse()
        if response.status != 200:
            return None
        payload = json.loads(response.read(1_000_000) or b"null")
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    entries = [d for d in data if isinstance(d, dict) and isinstance(d.get("id"), str) and d["id"]]
    if any(d.get("owned_by") == SELF_OWNER for d in entries):
        return None
    models = _chat_models([d["id"] for d in entries])
    if not models:
        return None
    owners = {d.get("owned_by") for d in entries}
    kind = next((OWNERS[o] for o in owners if o in OWNERS), KNOWN_PORTS.get(port, "OpenAI-compatible server"))
    return DetectedServer(port, kind, tuple(models), models[0])


def probe(ports: list[int], budget_s: float = BUDGET_S) -> list[DetectedServer]:
    """Every port of PORTS with an OpenAI-compatible server, in the order of PORTS; within budget_s in all."""
    started = time.monotonic()
    deadline = started + budget_s
    found: dict[int, DetectedServer] = {}

    def run(port: int) -> None:
        server = _ask(port, deadline)
        if server is not None:
            found[port] = server

    threads = [threading.Thread(target=run, args=(p,), name=f"probe-{p}", daemon=True) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    servers = [found[p] for p in ports if p in found]
    log.info(
        "autodetect: %s in %.0f ms",
        ", ".join(f"{s.kind} on {s.port}" for s in servers) or "no server",
        1000 * (time.monotonic() - started),
    )
    return servers
