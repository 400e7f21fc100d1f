"""`bot ask` and `bot chat` through a running `bot serve` (issue 29): a real server process on loopback
over the seeded index, and the CLI as a user runs it, asked both ways.

The CLI answers through the server only when it serves the same index (folder, collection,
generation) with the same answering settings and takes the CLI's key; the answer, its
citations and `--json` are the same either way, but for `answered_in`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import free_port, make_settings
from test_cli import BOT
from test_question_path_imports import NOT_ON_THE_CLIENT_PATH, env_for, loaded_by, offenders
from test_serve_process import start_serve, stop

from bot.remote import _connect_host, answering_digest, index_identity
from bot.serve import BadRequest, parse_cli_request

GENEVA = "who met in Geneva on 21/1"
GENEVA_VI = "ai gặp nhau ở Geneva ngày 21/1?"
OFF_TOPIC = "Who won the football World Cup in 2018?"
KEY = "k" * 8 + "-test-key-29"
USED = "answering through the bot serve"


def bot(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    out = subprocess.run([*BOT, "-v", *args], capture_output=True, text=True, env=env, input=stdin, timeout=300,
                         cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def own_index(seeded_index, tmp_path_factory) -> Path:
    """A copy of the seeded index for this module: its servers are killed, and questions store
    passage vectors, so the session's shared index (and the Bot open on it) stays untouched."""
    copy = tmp_path_factory.mktemp("cli-server") / "index"
    shutil.copytree(seeded_index, copy)
    return copy


@pytest.fixture(scope="module")
def served(own_index):
    """`bot serve` over the index on a free port; yields the client's environment (that port)."""
    proc, base = start_serve(own_index)
    try:
        yield env_for(own_index, BOT_SERVE_PORT=base.rsplit(":", 1)[1])
    finally:
        stop(proc)


@pytest.mark.parametrize(
    "args",
    [[GENEVA_VI], ["--k", "3", "--retriever", "bm25", GENEVA], [OFF_TOPIC], ["--stream", GENEVA]],
    ids=["vietnamese", "k-and-retriever", "refused", "stream"],
)
def test_ask_prints_the_same_through_the_server_as_in_process(served, args):
    through = bot(["ask", *args], served)
    here = bot(["ask", "--no-server", *args], served)
    assert USED in through.stderr and USED not in here.stderr
    assert through.stdout == here.stdout and "— answered by:" in here.stdout


def test_ask_json_is_the_same_both_ways_and_says_which_path_answered(served):
    through = json.loads(bot(["ask", "--json", GENEVA], served).stdout)
    here = json.loads(bot(["ask", "--json", "--no-server", GENEVA], served).stdout)
    assert (through.pop("answered_in"), here.pop("answered_in")) == ("server", "process")
    assert through == here
    assert "Lavrov" in here["text"] and here["citations"] and set(here["articles"]) == {
        c["source"] for c in here["citations"]}


def test_chat_keeps_the_conversation_through_the_server(served):
    turns = f"{GENEVA}\nhow long did their talks last?\n\n"
    through = bot(["chat"], served, stdin=turns)
    here = bot(["chat", "--no-server"], served, stdin=turns)
    assert USED in through.stderr and USED not in here.stderr
    assert through.stdout == here.stdout
    assert "Answering with: extractive." in here.stdout and "1.5 hours" in here.stdout  # the follow-up was one


def test_through_the_server_the_cli_loads_none_of_the_answering_machinery(served):
    out, modules = loaded_by(["ask", "--json", GENEVA], served)
    assert json.loads(out.stdout)["answered_in"] == "server"
    assert not offenders(modules, NOT_ON_THE_CLIENT_PATH)


def test_a_server_of_another_index_or_settings_or_none_at_all_is_not_used(served, own_index, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(own_index, copy)
    cases = {
        "another setting": {**served, "BOT_TOP_K": "7"},
        "another index folder": {**served, "BOT_INDEX_DIR": str(copy)},
        "nothing on the port": {**served, "BOT_SERVE_PORT": str(free_port())},
    }
    for case, env in cases.items():
        out = bot(["ask", "--json", GENEVA], env)
        assert json.loads(out.stdout)["answered_in"] == "process", case
        assert "answering in process" in out.stderr, case


def test_a_server_with_a_key_is_used_only_with_that_key(own_index):
    proc, base = start_serve(own_index, BOT_API_KEY=KEY)
    try:
        env = env_for(own_index, BOT_SERVE_PORT=base.rsplit(":", 1)[1])
        for key, path in ((None, "process"), ("w" * 20, "process"), (KEY, "server")):
            out = bot(["ask", "--json", GENEVA], {**env, **({"BOT_API_KEY": key} if key else {})})
            assert json.loads(out.stdout)["answered_in"] == path, key
        refused = bot(["ask", GENEVA], env)
        assert "the key is not accepted" in refused.stderr and "Lavrov" in refused.stdout
    finally:
        stop(proc)


@contextlib.contextmanager
def failing_server(identity: dict, failure: str):
    """A server that reports `identity` like `bot serve`, then fails every question: with an HTTP 500
    ("refuse"), or by hanging up after the headers and half a line ("hang up"). Yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps(identity).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if failure == "refuse":
                body = json.dumps({"error": {"message": "the answer failed (RuntimeError)"}}).encode()
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                self.wfile.write(b'{"status": "wai')
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("failure", ["refuse", "hang up"])
def test_a_server_failing_the_question_is_answered_in_process(own_index, failure):
    env = env_for(own_index)
    identity = {**index_identity(make_settings(own_index, data_dir=Path(env["BOT_DATA_DIR"]))), "answerer": "x"}
    with failing_server(identity, failure) as port:
        out = bot(["ask", "--json", GENEVA], {**env, "BOT_SERVE_PORT": str(port)})
    assert USED in out.stderr and "answering in process" in out.stderr.split(USED, 1)[1]
    answer = json.loads(out.stdout)
    assert answer["answered_in"] == "process" and "Lavrov" in answer["text"]


def test_the_server_reports_the_identity_the_cli_computes(served, own_index):
    port = served["BOT_SERVE_PORT"]
    theirs = httpx.get(f"http://127.0.0.1:{port}/newsbot/identity", timeout=10).json()
    settings = make_settings(own_index, data_dir=Path(served["BOT_DATA_DIR"]))
    assert theirs.pop("answerer") == "extractive"
    assert theirs == index_identity(settings)


def test_the_ask_endpoint_refuses_a_bad_request_in_one_line(served):
    port = served["BOT_SERVE_PORT"]
    url = f"http://127.0.0.1:{port}/newsbot/ask"
    for body, param in (({"question": GENEVA, "k": 0}, "k"), ({"history": []}, "question")):
        got = httpx.post(url, json=body, timeout=10)
        assert got.status_code == 400 and got.json()["error"]["param"] == param
    assert httpx.post(url, content=b"question", headers={"Content-Type": "text/plain"}, timeout=10).status_code == 415


# -- the pure parts ------------------------------------------------------------------------------


def test_the_digest_ignores_where_things_are_served_but_not_what_answers(tmp_path):
    base = make_settings(tmp_path)
    same = make_settings(tmp_path, serve_port=9999, serve_host="0.0.0.0", api_key=KEY, ui_port=7000, chunk_size=900)
    assert answering_digest(same) == answering_digest(base)
    for change in ({"top_k": 7}, {"retriever": "bm25"}, {"answer_mode": "llm"}, {"openai_api_key": "sk-x"},
                   {"min_topic_overlap": 0.3}):
        assert answering_digest(make_settings(tmp_path, **change)) != answering_digest(base), change


def test_a_wildcard_bind_is_reached_on_loopback():
    assert [_connect_host(h) for h in ("0.0.0.0", "::", "[::1]", "127.0.0.1", "myhost")] == [
        "127.0.0.1", "::1", "::1", "127.0.0.1", "myhost"]


@pytest.mark.parametrize(
    "body, param",
    [([], None), ({"question": 3}, "question"), ({"question": "q", "history": [["a"]]}, "history"),
     ({"question": "q", "k": True}, "k"), ({"question": "q", "k": 51}, "k"),
     ({"question": "q", "retriever": "magic"}, "retriever")],
)
def test_a_bad_cli_request_says_what_is_wrong(body, param):
    with pytest.raises(BadRequest) as caught:
        parse_cli_request(body)
    assert caught.value.param == param


def test_a_cli_request_keeps_its_options():
    asked = parse_cli_request({"question": "q", "history": [["a", "b"]], "k": 3, "retriever": "dense"})
    assert (asked.question, asked.history, asked.k, asked.retriever) == ("q", [("a", "b")], 3, "dense")
