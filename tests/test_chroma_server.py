"""Server mode: the bot against a real `chroma run` server on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GENEVA_FILES, SEEDS, free_port, make_settings, running_chroma

from bot.embed import make_embeddings
from bot.ingest import ingest
from bot.store import IndexUnavailable, chroma_client, vector_store

pytestmark = pytest.mark.server

@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A `chroma run` server on a free loopback port; stopped by its PID even when a test fails."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as (port, _):
        yield port


@pytest.fixture(scope="module")
def server_settings(chroma_server, tmp_path_factory):
    return make_settings(
        tmp_path_factory.mktemp("server-index"),
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
        answer_mode="extractive",
    )


@pytest.fixture(scope="module")
def server_index(server_settings):
    report = ingest([SEEDS], server_settings)
    assert not report.failed and len(report.files_added) == 5 and report.chunks_added > 0
    return server_settings


def test_ingest_into_server_is_incremental(server_index):
    client = chroma_client(server_index)
    count = client.get_collection(server_index.collection).count()
    again = ingest([SEEDS], server_index)
    assert again.chunks_added == 0 and again.chunks_deleted == 0
    assert len(again.files_unchanged) == 5
    assert client.get_collection(server_index.collection).count() == count == again.chunks_total
    # The data is in the server, not in a local Chroma directory.
    assert not server_index.chroma_dir.exists()


def test_geneva_question_through_the_server(server_index):
    from bot.pipeline import Bot

    bot = Bot(server_index)
    try:
        answer = bot.ask("who met in Geneva on 21/1")
    finally:
        bot.close()
    assert not answer.refused
    assert "Lavrov" in answer.text and "Blinken" in answer.text
    assert answer.citations and answer.citations[0].source in GENEVA_FILES


def test_bm25_is_rebuilt_from_the_server_when_missing(server_index, tmp_path):
    # Another machine's index dir has no BM25 file: it is rebuilt from the server's chunks.
    from bot.retrieve import open_retriever

    settings = server_index.model_copy(update={"index_dir": tmp_path / "elsewhere"})
    retriever = open_retriever(settings)
    count = vector_store(settings, make_embeddings(settings))._collection.count()
    assert len(retriever.lexical) == count
    hits = retriever.search("ai gap nhau o geneva ngay 21/1", k=5, kind="bm25")
    assert hits and hits[0].source in GENEVA_FILES


def test_closed_port_is_index_unavailable(tmp_path):
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(IndexUnavailable, match=r"Cannot reach the Chroma server at 127\.0\.0\.1:\d+"):
        chroma_client(settings)


def _ask_with_server_port(tmp_path: Path, port: int) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(tmp_path), CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(port))
    # The timeout turns a hang into a failure instead of a stuck suite.
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "who met in Geneva"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def test_cli_with_closed_port_says_what_to_do(tmp_path):
    out = _ask_with_server_port(tmp_path, free_port())
    assert out.returncode == 1
    assert "Cannot reach the Chroma server" in out.stderr and "CHROMA_HOST" in out.stderr
    assert "Traceback" not in out.stderr


def test_port_that_never_answers_fails_instead_of_hanging(tmp_path):
    # Something listens (the kernel completes the handshake) but never speaks HTTP.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        out = _ask_with_server_port(tmp_path, silent.getsockname()[1])
    assert out.returncode == 1
    assert "Cannot reach the Chroma server" in out.stderr and "Timeout" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_server_refusing_the_token_is_not_called_unreachable(tmp_path):
    """Issue 26.9: a Chroma server answering 401 (auth on, no or a wrong CHROMA_TOKEN)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refusing(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # Chroma's answer when its token authentication is on
            body = json.dumps({"error": "AuthError", "message": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = _ask_with_server_port(tmp_path, server.server_address[1])
    finally:
        server.shutdown()
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "refused the request (HTTP 401)" in out.stderr and "CHROMA_TOKEN" in out.stderr
    assert "Cannot reach" not in out.stderr
