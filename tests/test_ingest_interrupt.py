"""Ingestion is safe to interrupt: `bot ingest` killed with SIGKILL mid-way, then resumed."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_settings

from bot.settings import REPO_ROOT

# bench/ is not an installed package; plain `pytest` (not `python -m pytest`) lacks the repo root.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.corpus import article_text, write_corpus  # noqa: E402
from bot.chunk import chunk_article, make_splitter
from bot.embed import make_embeddings
from bot.index_dir import articles_dir, lexical_path, live_dir
from bot.lexical import BM25Index
from bot.load import load_articles
from bot.retrieve import open_retriever
from bot.store import all_chunks, record_manager, vector_store

N_ARTICLES = 30
BOT = [sys.executable, "-m", "bot.cli"]


def _env(index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env["BOT_INDEX_DIR"] = str(index_dir)
    return env


def run_ingest(index_dir: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [*BOT, "ingest", "-q", *args],
        capture_output=True,
        text=True,
        env=_env(index_dir),
        timeout=600,
        cwd=index_dir.parent,
    )
    assert out.returncode == 0, out.stderr
    return out


def files_recorded(index_dir: Path) -> set[str]:
    """Files whose chunks the record manager has committed (what a resumed run will skip)."""
    try:
        with sqlite3.connect(f"file:{live_dir(index_dir) / 'records.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT group_id FROM upsertion_record")}
    except sqlite3.OperationalError:  # not created yet, or the table not yet made
        return set()


def expected_chunks(corpus: Path, settings) -> dict[str, list[str]]:
    """What a complete index holds: the chunk texts of every article, by file."""
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    return {a.source: [c.page_content for c in chunk_article(a, splitter)] for a in load_articles([corpus]).articles}


def chroma_ids_by_source(settings) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for doc in all_chunks(vector_store(settings, make_embeddings(settings))):
        out.setdefault(doc.metadata["source"], []).append(doc.page_content)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "articles"
    # Short articles (1-2 chunks each) keep the embedding, the slow part, small.
    write_corpus(folder, N_ARTICLES, min_sentences=2, max_sentences=4)
    return folder


@pytest.fixture(scope="module")
def killed(corpus, tmp_path_factory) -> tuple[Path, set[str]]:
    """An index whose `bot ingest` was killed with SIGKILL after its first files were committed."""
    index_dir = tmp_path_factory.mktemp("killed") / "index"
    index_dir.mkdir()
    proc = subprocess.Popen(
        [*BOT, "ingest", "-q", str(corpus)],
        env=_env(index_dir),
        cwd=index_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while len(files_recorded(index_dir)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"ingest ended before it could be killed: {err.decode()[-2000:]}"
    done = files_recorded(index_dir)
    assert 3 <= len(done) < N_ARTICLES
    return index_dir, done


@pytest.fixture(scope="module")
def resumed(killed, corpus, tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("resumed") / "index"
    shutil.copytree(killed[0], index_dir)
    out = run_ingest(index_dir, str(corpus))
    assert "0 failed" in out.stdout
    return index_dir


def test_killed_ingest_leaves_an_index_that_answers(killed, corpus, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(killed[0], index_dir)
    done = killed[1]
    settings = make_settings(index_dir, data_dir=corpus)
    # The run died before writing BM25; opening rebuilds it from what Chroma holds.
    assert not lexical_path(settings).exists()
    retriever = open_retriever(settings)
    sources = {d.metadata["source"] for d in retriever.lexical.docs}
    # Committed files are whole; at most the file in flight got its chunks in without its record.
    assert done <= sources and len(sources - done) <= 1
    expected = expected_chunks(corpus, settings)
    for name in done:
        assert sorted(chroma_ids_by_source(settings)[name]) == sorted(expected[name])
    # A finished article is found by its own title, in both retrievers.
    name = sorted(done)[0]
    title = (corpus / name).read_text(encoding="utf-8").splitlines()[0]
    for mode in ("bm25", "hybrid"):
        assert retriever.search(title, k=3, kind=mode)[0].source == name


def test_resumed_ingest_completes_without_duplicates(resumed, corpus):
    settings = make_settings(resumed, data_dir=corpus)
    expected = expected_chunks(corpus, settings)
    store = vector_store(settings, make_embeddings(settings))
    got = store._collection.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == len(set(got["ids"])) == store._collection.count()
    assert store._collection.count() == sum(len(v) for v in expected.values())
    assert chroma_ids_by_source(settings).keys() == expected.keys()
    for name, texts in chroma_ids_by_source(settings).items():
        assert sorted(texts) == sorted(expected[name])
    # Every chunk is recorded once, and BM25 holds the same chunks.
    assert len(record_manager(settings).list_keys()) == store._collection.count()
    assert len(BM25Index.load(lexical_path(settings))) == store._collection.count()
    assert sorted(p.name for p in articles_dir(settings).iterdir()) == sorted(expected)


def test_third_run_embeds_nothing(resumed, corpus, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(resumed, index_dir)
    out = run_ingest(index_dir, str(corpus))
    assert out.stdout.strip().startswith(f"0 added, 0 updated, {N_ARTICLES} unchanged")
    assert "0 embedded" in out.stdout and "0 removed" in out.stdout


def test_sync_removes_a_deleted_files_chunks(resumed, corpus, tmp_path):
    index_dir, folder = tmp_path / "index", tmp_path / "articles"
    shutil.copytree(resumed, index_dir)
    shutil.copytree(corpus, folder)
    settings = make_settings(index_dir, data_dir=folder)
    gone = sorted(folder.iterdir())[5]
    gone.unlink()

    out = run_ingest(index_dir, "--sync", str(folder))
    assert ", 1 deleted," in out.stdout

    left = chroma_ids_by_source(settings)
    assert gone.name not in left
    assert sum(map(len, left.values())) == sum(len(v) for v in expected_chunks(folder, settings).values())
    assert not record_manager(settings).list_keys(group_ids=[gone.name])
    lexical = BM25Index.load(lexical_path(settings))
    assert not any(d.metadata["source"] == gone.name for d in lexical.docs)
    assert len(lexical) == sum(map(len, left.values()))
    assert not (articles_dir(settings) / gone.name).exists()


def test_changed_file_replaces_its_chunks(resumed, corpus, tmp_path):
    index_dir, folder = tmp_path / "index", tmp_path / "articles"
    shutil.copytree(resumed, index_dir)
    shutil.copytree(corpus, folder)
    settings = make_settings(index_dir, data_dir=folder)
    changed = sorted(folder.iterdir())[7]
    old = expected_chunks(folder, settings)[changed.name]
    changed.write_text(article_text(10_000, min_sentences=2, max_sentences=4), encoding="utf-8")
    new = expected_chunks(folder, settings)[changed.name]
    assert not set(old) & set(new)

    out = run_ingest(index_dir, str(folder))
    assert ", 1 updated," in out.stdout and f"{len(new)} embedded" in out.stdout and f"{len(old)} removed" in out.stdout

    stored = chroma_ids_by_source(settings)
    assert sorted(stored[changed.name]) == sorted(new)
    assert not set(old) & {t for texts in stored.values() for t in texts}
    assert len(record_manager(settings).list_keys(group_ids=[changed.name])) == len(new)
    lexical = BM25Index.load(lexical_path(settings))
    assert len(lexical) == sum(map(len, stored.values()))
    assert (articles_dir(settings) / changed.name).read_text(encoding="utf-8") == changed.read_text(encoding="utf-8")


def test_killed_while_storing_sentence_vectors_answers_and_resumes(corpus, tmp_path):
    """Killed (with its workers) once the index answers, before every sentence vector is stored:
    questions are answered, and the next run stores the rest without embedding a chunk."""
    from bot.sentence_vectors import evidence_sentences, forget_stores, open_store

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    proc = subprocess.Popen(
        [*BOT, "ingest", str(corpus)], env=_env(index_dir), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        for line in proc.stderr:  # the progress bars, then this line when phase 2 starts
            if line.startswith("The index answers questions now"):
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    settings = make_settings(index_dir, data_dir=corpus)
    expected = expected_chunks(corpus, settings)
    assert len(BM25Index.load(lexical_path(settings))) == sum(len(v) for v in expected.values())
    retriever = open_retriever(settings)
    first = sorted(corpus.glob("*.txt"))[0]
    title = first.read_text(encoding="utf-8").splitlines()[0]
    for mode in ("bm25", "hybrid"):
        assert retriever.search(title, k=3, kind=mode)[0].source == first.name
    store = open_store(settings.store_dir, make_embeddings(settings).name)
    sentences = [s for texts in expected.values() for t in texts for s in evidence_sentences(t)]
    assert store.missing_dense(sentences)  # phase 2 did not finish

    forget_stores()
    out = run_ingest(index_dir, str(corpus))
    assert "0 embedded" in out.stdout and f"{N_ARTICLES} unchanged" in out.stdout
    assert open_store(settings.store_dir, make_embeddings(settings).name).missing_dense(sentences) == []
