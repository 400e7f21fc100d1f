"""`bot model pull`: against a real HTTP server on 127.0.0.1 that serves a file the way the Hub does.

The "hub" answers HEAD/GET on /{repo}/resolve/{revision}/{file} with a 302 to a
"CDN" on another port, carrying the Hub's headers (X-Repo-Commit,
X-Linked-Etag = the sha256, X-Linked-Size); the CDN serves the bytes and
honours Range. huggingface_hub is pointed at it through HF_ENDPOINT.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.models import ModelEntry, cached_ggufs, pulled_path
from bot.pull import ChecksumError, PullError, pull
from bot.settings import REPO_ROOT
from tests.conftest import free_port, make_settings

REPO = "TestOrg/Tiny-GGUF"
FILE = "tiny-q4_k_m.gguf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DATA = b"GGUF" + bytes(range(256)) * 800  # ~200 KB, a GGUF magic first
SHA = hashlib.sha256(DATA).hexdigest()


def entry(**overrides) -> ModelEntry:
    values = dict(name="tiny", title="Tiny", repo=REPO, file=FILE, revision="main", size=len(DATA), sha256=SHA)
    values.update(overrides)
    return ModelEntry(**values)


class FakeHub:
    """Two loopback servers: the Hub's resolve endpoint and the CDN it redirects to."""

    def __init__(self, data: bytes = DATA, linked_etag: str | None = SHA) -> None:
        self.data = data
        self.linked_etag = linked_etag
        self.requests: list[tuple[str, str, str | None]] = []  # (server, method + path, Range)
        self.cut_after: int | None = None  # the next CDN GET sends this many bytes, then hangs up
        self.fail_next = 0  # the next N CDN GETs get a 503
        # Misbehaving mirrors (issue 26.7): "endless" sends the file's bytes for ever; "huge" announces a
        # Content-Length of 10^15 and does the same; "stall" never finishes the metadata answer's headers.
        self.misbehave: str | None = None
        self.sent = 0  # bytes the CDN wrote in its last GET
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self.cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        for server in (self.hub, self.cdn):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    def cdn_gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "cdn" and r[1].startswith("GET")]

    def close(self) -> None:
        self.closed.set()
        for server in (self.hub, self.cdn):
            server.shutdown()
            server.server_close()

    def _handler(self, role: str):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                hub.requests.append((role, f"{self.command} {self.path}", self.headers.get("Range")))
                if role == "hub":
                    self._resolve()
                else:
                    self._blob(body)

            def _resolve(self) -> None:
                if hub.misbehave == "stall":
                    # A header byte every half second: no single read ever times out.
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    while not hub.closed.wait(0.5):
                        try:
                            self.wfile.write(b"X")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                expected = f"/{REPO}/resolve/main/{FILE}"
                if self.path not in (expected, f"/{REPO}/resolve/{COMMIT}/{FILE}"):
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{hub.cdn.server_address[1]}/blobs/{SHA}?signed=1")
                self.send_header("X-Repo-Commit", COMMIT)
                if hub.linked_etag:
                    self.send_header("X-Linked-Etag", f'"{hub.linked_etag}"')
                self.send_header("X-Linked-Size", str(len(hub.data)))
                self.send_header("ETag", '"a-git-blob-sha"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _blob(self, body: bool) -> None:
                if hub.misbehave in ("endless", "huge") and body:
                    self.send_response(200)
                    if hub.misbehave == "huge":
                        self.send_header("Content-Length", str(10**15))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    hub.sent = 0
                    while not hub.closed.is_set() and hub.sent < 10 * len(hub.data):
                        try:
                            self.wfile.write(hub.data)
                        except OSError:
                            return
                        hub.sent += len(hub.data)
                    self.close_connection = True
                    return
                with hub._lock:
                    cut, fail = None, False
                    if body and hub.cut_after is not None:
                        cut, hub.cut_after = hub.cut_after, None
                    elif body and hub.fail_next:
                        fail, hub.fail_next = True, hub.fail_next - 1
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                part = hub.data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(hub.data) - 1}/{len(hub.data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if not body:
                    return
                if cut is not None:
                    self.wfile.write(part[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(part)

        return Handler


@pytest.fixture
def hub():
    server = FakeHub()
    yield server
    server.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(path))
    return path


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() or p.is_symlink())


@pytest.mark.slow
def test_good_download_lands_in_the_hugging_face_cache(hub, cache, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)  # the library's endpoint setting
    path = pull(entry(), progress=False)

    assert path == cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT / FILE
    assert path.read_bytes() == DATA
    assert path.is_symlink() and path.resolve().name == SHA  # blob named by its sha256, as huggingface_hub names it
    assert (path.parents[2] / "refs" / "main").read_text() == COMMIT
    assert not [f for f in files_under(cache) if f.endswith(".incomplete")]
    # huggingface_hub itself finds it offline: the cache is shared with the user's other tools.
    from huggingface_hub import try_to_load_from_cache

    assert Path(try_to_load_from_cache(REPO, FILE, cache_dir=cache)) == path
    # One HEAD on the Hub, one GET on the CDN (huggingface_hub may also fetch its /api/agent-harnesses list once).
    files = [(r[0], r[1].split()[0]) for r in hub.requests if "/api/" not in r[1]]
    assert files == [("hub", "HEAD"), ("cdn", "GET")]
    assert [g.path for g in cached_ggufs(cache)] == [path]

    # Pulled again: the file is checked, nothing is downloaded.
    hub.requests.clear()
    assert pull(entry(), progress=False) == path
    assert [r for r in hub.requests if "/api/" not in r[1]] == []


@pytest.mark.slow
def test_interrupted_download_resumes_with_a_range_request(hub, cache, monkeypatch):
    half = 25 * 4096
    hub.cut_after = half  # the connection drops halfway: this pull gives up, keeping what arrived
    with pytest.raises(PullError, match="run the same command again"):
        pull(entry(), endpoint=hub.endpoint, progress=False)
    partial = cache / f"models--{REPO.replace('/', '--')}" / "blobs" / f"{SHA}.incomplete"
    assert partial.stat().st_size == half  # kept for the next pull
    assert pulled_path("tiny", cache) is None

    hub.requests.clear()
    path = pull(entry(), endpoint=hub.endpoint, progress=False)
    assert path.read_bytes() == DATA
    assert [r[2] for r in hub.cdn_gets()] == [f"bytes={half}-"]  # only the missing half was fetched
    assert not partial.exists()


@pytest.mark.slow
def test_partial_file_left_by_a_killed_pull_is_resumed(hub, cache):
    blobs = cache / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{SHA}.incomplete").write_bytes(DATA[:1000])
    path = pull(entry(), endpoint=hub.endpoint, progress=False)
    assert path.read_bytes() == DATA
    assert [r[2] for r in hub.cdn_gets()] == ["bytes=1000-"]


@pytest.mark.slow
def test_wrong_checksum_is_rejected_and_the_file_removed(cache):
    corrupt = DATA[:-1] + b"\x00"  # same size, one byte differs
    server = FakeHub(data=corrupt, linked_etag=SHA)  # the Hub's header is right, the bytes are not
    try:
        with pytest.raises(ChecksumError, match="does not match the catalogue.*deleted"):
            pull(entry(), endpoint=server.endpoint, progress=False)
    finally:
        server.close()
    assert [f for f in files_under(cache) if "blobs" in f or "snapshots" in f] == []


@pytest.mark.slow
def test_upstream_file_that_changed_is_refused_before_downloading(cache):
    other = b"GGUF" + b"\x01" * (len(DATA) - 4)
    server = FakeHub(data=other, linked_etag=hashlib.sha256(other).hexdigest())
    try:
        with pytest.raises(ChecksumError, match="upstream file changed; nothing was downloaded"):
            pull(entry(), endpoint=server.endpoint, progress=False)
        assert server.cdn_gets() == []
    finally:
        server.close()
    assert files_under(cache) == []


def test_no_network_is_one_clear_error_and_leaves_nothing(cache):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(PullError) as err:
        pull(entry(), endpoint=closed, progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach {closed.removeprefix('http://')}")
    assert "BOT_LOCAL_MODEL=" in message and f"https://huggingface.co/{REPO}/resolve/main/{FILE}" in message
    assert not cache.exists() or files_under(cache) == []


def test_entry_without_verified_checksum_is_not_pulled(cache):
    with pytest.raises(PullError, match="no verified size and sha256"):
        pull(entry(sha256=None), endpoint="http://127.0.0.1:9", progress=False)


def cli(*args, env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "HF_", "OPENAI_"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120
    )


@pytest.mark.slow
def test_cli_pull_offline_prints_one_line_and_exits_nonzero(tmp_path):
    cache = tmp_path / "hf"
    closed = f"http://127.0.0.1:{free_port()}"
    done = cli("model", "pull", "qwen2.5-coder-0.5b", env_extra={"HF_ENDPOINT": closed, "HF_HUB_CACHE": str(cache)})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: cannot reach 127.0.0.1:")
    assert "BOT_LOCAL_MODEL=/path/to/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" in lines[0]
    assert not cache.exists() or files_under(cache) == []

    deliberate = cli("model", "pull", "qwen2.5-coder-0.5b", env_extra={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)})
    assert deliberate.returncode != 0 and "HF_HUB_OFFLINE is set" in deliberate.stderr

    unknown = cli("model", "pull", "gpt-17", env_extra={"HF_HUB_CACHE": str(cache)})
    assert unknown.returncode != 0 and "qwen2.5-coder-1.5b" in unknown.stderr


@pytest.mark.slow
def test_cli_model_list_shows_catalogue_and_cached_ggufs(hub, cache):
    pull(entry(), endpoint=hub.endpoint, progress=False)
    done = cli(
        "model", "list", env_extra={"HF_HUB_CACHE": str(cache), "BOT_AUTODETECT_PORTS": str(free_port())}
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "qwen2.5-coder-1.5b" in out and "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046" in out
    assert "Apache-2.0" in out and "RAM" in out
    assert f"{REPO}: {FILE}" in out  # found in the Hugging Face cache
    assert "No local OpenAI-compatible server" in out


def test_local_model_accepts_a_catalogue_name(tmp_path, monkeypatch):
    from bot.models import find

    cache = tmp_path / "hf"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    settings = make_settings(tmp_path / "index", local_model="qwen2.5-coder-0.5b")
    assert str(settings.local_model) == "qwen2.5-coder-0.5b"  # not pulled: left as the name...
    from bot.local_server import LocalServerError, check_gguf

    with pytest.raises(LocalServerError, match="not on this machine yet: run `bot model pull qwen2.5-coder-0.5b`"):
        check_gguf(settings.local_model)  # ...and the error says what to do

    # Laid out as a pull leaves it (a sparse file of the catalogue's size, GGUF magic first).
    spec = find("qwen2.5-coder-0.5b")
    folder = cache / f"models--{spec.repo.replace('/', '--')}"
    blob = folder / "blobs" / spec.sha256
    blob.parent.mkdir(parents=True)
    with blob.open("wb") as fh:
        fh.write(b"GGUF")
        fh.truncate(spec.size)
    snapshot = folder / "snapshots" / COMMIT / spec.file
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)

    settings = make_settings(tmp_path / "index", local_model="qwen2.5-coder-0.5b")
    assert settings.local_model == snapshot
    assert check_gguf(settings.local_model).name == spec.file  # the file's own name, not its blob hash
    assert make_settings(tmp_path / "index", local_model="/x/model.gguf").local_model == Path("/x/model.gguf")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["endless", "huge"])
def test_a_mirror_sending_more_than_the_catalogue_size_is_cut_off(hub, cache, how):
    hub.misbehave = how
    with pytest.raises(PullError, match="larger than the catalogue") as failed:
        pull(entry(), endpoint=hub.endpoint, progress=False, timeout_s=5)
    assert "run the same command again to resume" not in str(failed.value)
    blobs = cache / f"models--{REPO.replace('/', '--')}" / "blobs"
    assert not any(blobs.iterdir()), "what cannot be resumed is removed"
    assert pulled_path("tiny", cache) is None


@pytest.mark.slow
def test_a_metadata_answer_that_never_ends_times_out(hub, cache):
    import time

    hub.misbehave = "stall"
    started = time.monotonic()
    with pytest.raises(PullError, match="did not finish answering"):
        pull(entry(), endpoint=hub.endpoint, progress=False, timeout_s=2)
    assert time.monotonic() - started < 20
