"""An embedded OpenAI-compatible server for a local GGUF model (llama.cpp via xllamacpp).

The rest of the bot talks to it exactly as it talks to OpenAI: it only ever
sees a base URL and a key. The server listens on 127.0.0.1 on a free port
and is stopped on `close()` or at exit.

xllamacpp's server runs in a child process (`python -m bot.local_server`),
not in ours: stopping it in-process holds the GIL, and while a request is in
flight that can take ~30 s, freezing every thread of the bot (seen here). A
child is stopped at once, its llama.cpp logging stays out of our terminal, and
it exits by itself when we do (its stdin closes).
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_GGUF_MAGIC = b"GGUF"
_KEY_ENV = "BOT_LOCAL_SERVER_KEY"  # the key goes by environment, never on the command line (ps shows that)


class LocalServerError(RuntimeError):
    """The local model cannot be served; the message is one line meant for people."""


def check_gguf(path: Path) -> Path:
    """The model file, resolved, or a one-line error saying what is wrong with it."""
    path = Path(path).expanduser()
    if not path.exists():
        from bot.models import find

        entry = find(str(path)) if "/" not in str(path) else None
        if entry is not None:
            hint = f"run `bot model pull {entry.name}`" if entry.pullable else f"download {entry.url} by hand"
            raise LocalServerError(
                f"local model {entry.name} is not on this machine yet: {hint}, or set BOT_LOCAL_MODEL to a .gguf file"
            )
        raise LocalServerError(f"local model file not found: {path} (set BOT_LOCAL_MODEL to a .gguf file)")
    if not path.is_file():
        raise LocalServerError(f"local model path is not a file: {path} (set BOT_LOCAL_MODEL to a .gguf file)")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LocalServerError(f"cannot read local model {path}: {exc.strerror or exc}") from None
    if magic != _GGUF_MAGIC:
        raise LocalServerError(f"not a GGUF model file: {path} (BOT_LOCAL_MODEL must point to a .gguf file)")
    # Absolute but not resolved: a Hugging Face cache entry is a link to a blob named by its
    # hash, and the file's own name is the one worth showing.
    return Path(os.path.abspath(path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, in a child process."""

    host = "127.0.0.1"

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        max_tokens: int | None = None,
        threads: int | None = None,
        ready_timeout_s: float = 120.0,
    ) -> None:
        self.model_path = check_gguf(model_path)
        # Other local users must not borrow the server: it takes a random key.
        self.api_key = secrets.token_urlsafe(24)
        # The port is found free by binding and releasing it; a race with
        # another process is possible but rare, and then the start fails loudly.
        self.port = _free_port()
        self._lock = threading.Lock()
        command = [
            sys.executable,
            "-m",
            "bot.local_server",
            str(self.model_path),
            "--port",
            str(self.port),
            "--ctx",
            str(n_ctx),
            "--threads",
            str(threads or _cpu_count()),
        ]
        if max_tokens:
            command += ["--max-tokens", str(max_tokens)]
        self._proc: subprocess.Popen | None = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, _KEY_ENV: self.api_key},
            # Ctrl-C in a terminal goes to the bot, which then stops the server itself.
            start_new_session=True,
        )
        atexit.register(self.close)
        try:
            self._wait_ready(ready_timeout_s)
        except LocalServerError:
            self.close()
            raise
        log.info("local model server for %s on %s (pid %d)", self.model_path.name, self.base_url, self._proc.pid)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _wait_ready(self, timeout_s: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        headers = {"Authorization": f"Bearer {self.api_key}"}
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LocalServerError(self._child_error())
            try:
                if httpx.get(f"{self.base_url}/models", headers=headers, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise LocalServerError(f"local model server on {self.base_url} did not answer within {timeout_s:.0f}s")

    def _child_error(self) -> str:
        """The child's one-line report of why it stopped."""
        try:
            report = json.loads((self._proc.stdout.readline() or b"{}").decode("utf-8", "replace"))
        except ValueError:
            report = {}
        reason = report.get("error") or f"the server process exited with code {self._proc.returncode}"
        return (
            f"llama.cpp could not serve {self.model_path.name} on port {self.port} ({reason}); "
            "check that BOT_LOCAL_MODEL is a complete GGUF chat model"
        )

    def close(self, wait_s: float = 10.0) -> None:
        """Stop the server (idempotent); returns once its port is closed."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.close)
        # In-flight requests see their connection closed; nothing is worth
        # waiting for, so the child is simply terminated.
        proc.terminate()
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        deadline = time.monotonic() + wait_s
        while port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info("local model server on port %d stopped", self.port)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the child process -------------------------------------------------------------


def _params(args: argparse.Namespace, api_key: str):
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.hostnames = [LocalServer.host]
    p.port = args.port
    p.n_ctx = args.ctx
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    # A server-side cap too: some llama.cpp builds ignore the request's
    # max_completion_tokens, and a runaway answer costs the user minutes.
    if args.max_tokens:
        p.n_predict = args.max_tokens
    p.api_keys = [api_key]
    p.ui = False  # an API only: no web UI, no slot inspection
    p.endpoint_slots = False
    p.verbosity = 0  # llama.cpp logs every load step and request otherwise
    return p


def serve(argv: list[str] | None = None) -> None:
    """Run the server until stdin closes (the parent stopped it, or died)."""
    parser = argparse.ArgumentParser(prog="python -m bot.local_server")
    parser.add_argument("model")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=_cpu_count())
    parser.add_argument("--max-tokens", type=int, default=0)
    args = parser.parse_args(argv)
    api_key = os.environ.pop(_KEY_ENV, "") or secrets.token_urlsafe(24)
    import xllamacpp

    try:
        server = xllamacpp.Server(_params(args, api_key))
    except Exception as exc:  # report any load failure as one line, then exit
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(json.dumps({"error": reason}), flush=True)
        sys.exit(1)
    print(json.dumps({"ready": server.listening_address}), flush=True)
    sys.stdin.read()
    # Skip xllamacpp's destructor: it may wait for in-flight requests; the
    # operating system frees the port and memory at once.
    os._exit(0)


if __name__ == "__main__":
    serve()
