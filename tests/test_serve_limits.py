"""What `bot serve` refuses (issue 26.7 and 26.9), on a real server on loopback: bodies past the limit
(without reading them), other Hosts (DNS rebinding), bodies that are not JSON, JSON nested 200k deep."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from bot.serve import MAX_BODY_BYTES, serving

pytestmark = pytest.mark.server
QUESTION = {"model": "newsbot", "messages": [{"role": "user", "content": "who met in Geneva on 21/1?"}]}


@pytest.fixture(scope="module")
def base(shared_bot):
    with serving(shared_bot) as url:
        yield url.removesuffix("/v1")


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _status_line(sock: socket.socket) -> tuple[int, bytes]:
    head = b""
    while b"\r\n\r\n" not in head:
        part = sock.recv(65536)
        if not part:
            break
        head += part
    return int(head.split(b" ", 2)[1]), head


def test_an_endless_chunked_body_is_refused_at_the_limit_not_read_whole(base):
    sent = 0
    stop = threading.Event()
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=60) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)

        def send() -> None:
            nonlocal sent
            try:
                while not stop.is_set() and sent < 2_000_000_000:
                    sock.sendall(chunk)
                    sent += 65536
            except OSError:
                pass  # the server closed the connection: what we want

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        status, _ = _status_line(sock)
        stop.set()
        at_answer = sent
        sender.join(30)
    assert status == 413
    # Answered after about the limit (plus what the socket buffers held), not after 2 GB.
    assert at_answer < 64 * MAX_BODY_BYTES, at_answer


def test_a_huge_content_length_is_refused_before_reading(base):
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000000000\r\n\r\n{"
        )
        started = time.monotonic()
        status, _ = _status_line(sock)
    assert status == 413 and time.monotonic() - started < 10


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8090", "attacker.localhost.example"])
def test_a_foreign_host_header_is_refused(base, host):
    got = httpx.post(f"{base}/v1/chat/completions", json=QUESTION, headers={"Host": host}, timeout=30)
    assert got.status_code == 400 and "Lavrov" not in got.text
    models = httpx.get(f"{base}/v1/models", headers={"Host": host}, timeout=30)
    assert models.status_code == 400


def test_the_trailing_slash_is_not_redirected_to_the_host_given(base):
    for host in ("127.0.0.1", "evil.example"):
        got = httpx.get(f"{base}/v1/models/", headers={"Host": host}, timeout=30, follow_redirects=False)
        assert got.status_code in (400, 404) and "location" not in got.headers
    assert httpx.get(f"{base}/v1/models", headers={"Host": "localhost"}, timeout=30).status_code == 200


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_refused(base, kind):
    headers = {"Content-Type": kind} if kind else {}
    got = httpx.post(f"{base}/v1/chat/completions", content=json.dumps(QUESTION), headers=headers, timeout=30)
    assert got.status_code == 415 and "application/json" in got.json()["error"]["message"]


def test_json_nested_200k_deep_is_a_json_400(base):
    body = "[" * 200_000 + "]" * 200_000
    got = httpx.post(f"{base}/v1/chat/completions", content=body,
                     headers={"Content-Type": "application/json"}, timeout=60)
    assert got.status_code == 400 and "nested too deeply" in got.json()["error"]["message"]
    assert httpx.post(f"{base}/v1/chat/completions", json=QUESTION, timeout=120).status_code == 200
