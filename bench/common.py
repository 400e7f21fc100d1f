"""What every benchmark section shares: isolated settings, timed child processes, the questions, a Chroma server.

One copy of each, so that every section (and bench/compare.py) starts a child,
reads its peak RSS and opens a `chroma run` server the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from bot.settings import REPO_ROOT, Settings

CHROMA_START_TIMEOUT_S = 60

QUESTIONS_FILE = REPO_ROOT / "eval" / "qa.jsonl"
GENEVA = "who met in Geneva on 21/1"


def settings_for(index_dir: Path, **overrides: object) -> Settings:
    """Settings isolated from the developer's .env and environment (extractive unless told)."""
    values = dict(
        data_dir=REPO_ROOT / "seeds", index_dir=index_dir, openai_api_key=None, openai_base_url=None,
        local_model=None, chroma_host=None, answer_mode="extractive",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def child_env(**extra: str) -> dict[str, str]:
    """This environment without the developer's bot settings, so a child measures the defaults (extractive)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_ANSWER_MODE="extractive", **extra)
    return env


# Run through a small wrapper: a child's ru_maxrss starts from its parent's RSS at fork (Linux keeps the
# high-water mark across exec), so a child forked straight from this big process would report our size.
_RSS_WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(code)"
)


def timed_child(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 1800) -> tuple[float, float, str, str, int]:
    """Run a process; returns (wall s, its peak RSS in MB, stdout, stderr, exit code)."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, str(rss_file), *cmd],
            env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        )
        wall = time.perf_counter() - started
        rss = int(rss_file.read_text()) / 1024 if rss_file.exists() else float("nan")
    return wall, rss, out.stdout, out.stderr, out.returncode


def questions(n: int) -> list[str]:
    """The first n evaluation questions (eval/qa.jsonl): realistic queries, the same in every run."""
    rows = [json.loads(line) for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = [r["question"] for r in rows][:n]
    return picked or [GENEVA]


def clear_embedding_cache(settings: Settings) -> None:
    """A new question has no cached vectors; measure that, not a cache hit."""
    from bot.embed import make_embeddings

    cache = getattr(make_embeddings(settings), "_cache", None)
    if cache is not None:
        cache.clear()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chroma_server(path: Path, log: IO[bytes] | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """`chroma run` on a free loopback port, data in `path`; yields (port, process).

    Stopped by its PID when the block ends, even when the caller killed it already
    (the tests' `running_chroma` uses this too). `log` (read and write) keeps its
    output; a temporary file by default.
    """
    import httpx

    port = free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    with contextlib.ExitStack() as stack:
        out = log if log is not None else stack.enter_context(tempfile.TemporaryFile())
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + CHROMA_START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    out.seek(0)
                    raise RuntimeError(f"chroma run exited with {proc.returncode}: {out.read()[-2000:]!r}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer its heartbeat within {CHROMA_START_TIMEOUT_S} s")
                time.sleep(0.1)
            yield port, proc
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a server started for a measurement; kill it when it does not stop within 15 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def release_embedded_chroma() -> None:
    """Let go of every embedded Chroma client, so a server may open the same directory."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
