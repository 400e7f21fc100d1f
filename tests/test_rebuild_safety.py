"""`bot ingest --rebuild` never loses data: not the user's files (issues 11.1, 26.6), not the old index (26.1).

Everything the bot writes is inside BOT_INDEX_DIR/.newsbot/; a rebuild is built
beside the live index and swapped in only when it is whole.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import SEEDS, make_settings
from test_cli import BOT, run_bot

from bot.index_dir import LEGACY_MARKER, OWN_FOLDER, IndexFolderError, claim, live_dir

GENEVA = "who met in Geneva on 21/1"


def _victim(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, victim / f.name)
    (victim / "thesis.docx").write_text("x")
    return victim


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _answers(index_dir) -> bool:
    out = run_bot(["ask", GENEVA], index_dir, BOT_AUTODETECT="0")
    return out.returncode == 0 and "Lavrov" in out.stdout


@pytest.mark.slow
def test_rebuild_in_a_folder_holding_user_files_keeps_them(tmp_path):
    victim = _victim(tmp_path)
    before = _tree(victim)
    first = run_bot(["ingest", "-q", str(victim)], victim)
    assert first.returncode == 0, first.stderr
    # The bot's entries are all inside its own folder; the user's folder gained nothing else.
    assert {p.name for p in victim.iterdir()} == {*{p.split("/")[0] for p in before}, OWN_FOLDER}
    again = run_bot(["ingest", "-q", "--rebuild", str(victim)], victim)
    assert again.returncode == 0, again.stderr
    after = _tree(victim)
    assert {k: v for k, v in after.items() if not k.startswith(OWN_FOLDER)} == before
    assert "5 added" in again.stdout  # rebuilt from scratch, not merely kept


@pytest.mark.slow
def test_rebuild_keeps_a_user_folder_named_like_the_bots_entries(seeded_index, tmp_path):
    """Issue 26.6: BOT_INDEX_DIR=. holding the user's articles/: ingest, rebuild, and articles/ is untouched."""
    work = tmp_path / "work"
    shutil.copytree(seeded_index, work)  # an index already there, as after a first `bot ingest articles`
    articles = work / "articles"
    articles.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[2], articles / "mine.txt")
    for name in ("chroma", "records.sqlite", "bm25-news.pkl", "vectors.sqlite"):  # the user's, named like the bot's
        (work / name).mkdir() if name == "chroma" else (work / name).write_text("user data")
    before = _tree(articles)
    out = run_bot(["ingest", "-q", "--rebuild", str(articles)], work)
    assert out.returncode == 0, out.stderr
    assert _tree(articles) == before  # nothing deleted, nothing written into it (no articles/news/)
    for name in ("records.sqlite", "bm25-news.pkl", "vectors.sqlite"):
        assert (work / name).read_text() == "user data"
    assert (work / "chroma").is_dir()
    assert "1 added" in out.stdout


@pytest.mark.slow
def test_rebuild_with_a_mistyped_path_keeps_the_index(seeded_index, tmp_path):
    """Issue 26.1: `--rebuild seedz` (no such folder), or a folder of no articles, changes nothing."""
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    before = _tree(index / OWN_FOLDER)
    out = run_bot(["ingest", "-q", "--rebuild", str(tmp_path / "seedz")], index)
    assert out.returncode == 1 and "No such file or folder" in out.stderr and "Traceback" not in out.stderr
    assert "index is as it was" in out.stderr
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.docx").write_text("not an article")
    (tmp_path / "docs" / "empty.txt").write_text("")
    out = run_bot(["ingest", "-q", "--rebuild", str(tmp_path / "docs")], index)
    assert out.returncode == 1 and "no readable article" in out.stderr and "Traceback" not in out.stderr
    assert _tree(index / OWN_FOLDER) == before
    assert _answers(index)


@pytest.mark.slow
def test_an_interrupted_rebuild_leaves_the_old_index_answering(seeded_index, tmp_path):
    """Issue 26.1: Ctrl-C part way through a rebuild: the old index answers, the half-built one is gone."""
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)
    live = live_dir(index)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):  # enough articles that the rebuild is still running when interrupted
        for f in SEEDS.glob("*.txt"):
            (corpus / f"{i:02d}-{f.name}").write_text(f"Bản {i}. " + f.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "BOT_INDEX_DIR": str(index), "BOT_AUTODETECT": "0"}
    proc = subprocess.Popen([*BOT, "ingest", "-q", "--rebuild", str(corpus)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    building = []
    while time.monotonic() < deadline and proc.poll() is None:
        building = [p for p in (index / OWN_FOLDER).glob("index-*") if p != live and (p / "records.sqlite").exists()]
        if building:
            break
        time.sleep(0.2)
    assert building, "the rebuild never started building beside the live index"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert live_dir(index) == live and not building[0].exists()
    assert _answers(index)


def test_an_old_layout_index_is_moved_into_the_bots_folder(seeded_index, tmp_path):
    """Issue 26.6: an index laid out the old way (entries directly in BOT_INDEX_DIR) is migrated on first use:
    the bot's certain entries move, article copies are copied, the user's articles/ is left alone."""
    old = tmp_path / "old"
    old.mkdir()
    for entry in live_dir(seeded_index).iterdir():
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, old / entry.name)
    (old / LEGACY_MARKER).write_text("{}")
    (old / "articles" / "news" / "mine.txt").write_text("the user's own file")  # shared the name articles/
    user_articles = _tree(old / "articles")
    live = live_dir(old)
    assert live.parent == old / OWN_FOLDER and (live / "chroma" / "chroma.sqlite3").is_file()
    assert not (old / "chroma").exists() and not (old / "records.sqlite").exists() and not (old / LEGACY_MARKER).exists()
    assert _tree(old / "articles") == user_articles  # copied from, never moved or deleted
    copies = {p.name for p in (live / "articles" / "news").iterdir()}
    assert copies == {p.name for p in SEEDS.glob("*.txt")}  # the recorded articles only, not mine.txt
    from bot.pipeline import Bot

    bot = Bot(make_settings(old, answer_mode="extractive"))
    assert "Lavrov" in bot.ask(GENEVA).text


def test_index_dir_pointing_at_a_file_or_a_planted_link_is_refused(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("data")
    with pytest.raises(IndexFolderError, match="is a file"):
        claim(target)
    outside = tmp_path / "outside"
    outside.mkdir()
    index = tmp_path / "index"
    index.mkdir()
    (index / OWN_FOLDER).symlink_to(outside, target_is_directory=True)
    with pytest.raises(IndexFolderError, match="symlink"):
        claim(index)
    assert not any(outside.iterdir())


@pytest.mark.slow
def test_rebuild_with_index_dir_pointing_at_a_file_says_so(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("data")
    out = run_bot(["ingest", "-q", "--rebuild", str(SEEDS)], target)
    assert out.returncode == 1 and "is a file" in out.stderr and "Traceback" not in out.stderr
    assert target.read_text() == "data"
