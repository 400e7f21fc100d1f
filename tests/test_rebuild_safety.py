"""`bot ingest --rebuild` deletes only what the bot created: never the user's files (issue 11.1)."""

from __future__ import annotations

import shutil

import pytest
from conftest import SEEDS, make_settings
from test_cli import run_bot

from bot.index_dir import MARKER, IndexFolderError, wipe_local


def _victim(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, victim / f.name)
    (victim / "thesis.docx").write_text("x")
    return victim


@pytest.mark.slow
def test_rebuild_in_a_folder_holding_user_files_keeps_them(tmp_path):
    victim = _victim(tmp_path)
    before = sorted(p.name for p in victim.iterdir())
    first = run_bot(["ingest", "-q", str(victim)], victim)
    assert first.returncode == 0, first.stderr
    assert (victim / MARKER).is_file() and (victim / "chroma").is_dir()
    again = run_bot(["ingest", "-q", "--rebuild", str(victim)], victim)
    assert again.returncode == 0, again.stderr
    assert set(before) <= {p.name for p in victim.iterdir()}
    assert (victim / "thesis.docx").read_text() == "x"
    assert "5 added" in again.stdout  # rebuilt from scratch, not merely kept


@pytest.mark.slow
def test_rebuild_refuses_an_unmarked_folder_of_foreign_files(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    (home / "chroma").mkdir()  # looks like ours, but the folder was never marked
    with pytest.raises(IndexFolderError, match="not created by the bot"):
        wipe_local(make_settings(home))
    assert (home / "notes.txt").exists() and (home / "chroma").is_dir()
    out = run_bot(["ingest", "-q", "--rebuild", str(SEEDS)], home)
    assert out.returncode == 1 and "nothing was deleted" in out.stderr and "Traceback" not in out.stderr
    assert (home / "notes.txt").read_text() == "mine"


def test_rebuild_removes_a_legacy_index_without_marker(tmp_path):
    legacy = tmp_path / "legacy"
    (legacy / "chroma").mkdir(parents=True)
    (legacy / "records.sqlite").write_text("")
    (legacy / "bm25-news.pkl").write_text("")
    removed = wipe_local(make_settings(legacy))
    assert {p.name for p in removed} == {"chroma", "records.sqlite", "bm25-news.pkl"}
    assert legacy.is_dir() and not any(legacy.iterdir())


def test_rebuild_never_follows_a_symlink_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    index = tmp_path / "index"
    index.mkdir()
    (index / MARKER).write_text("{}")
    (index / "articles").symlink_to(outside, target_is_directory=True)
    (index / "chroma").mkdir()
    wipe_local(make_settings(index))
    assert (outside / "precious.txt").read_text() == "keep"
    assert not (index / "articles").exists() and not (index / "chroma").exists()
    # The index folder itself being a symlink: refused outright.
    link = tmp_path / "link"
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(IndexFolderError, match="symlink"):
        wipe_local(make_settings(link))
    assert (outside / "precious.txt").exists()


@pytest.mark.slow
def test_rebuild_with_index_dir_pointing_at_a_file_says_so(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("data")
    out = run_bot(["ingest", "-q", "--rebuild", str(SEEDS)], target)
    assert out.returncode == 1 and "is a file" in out.stderr and "Traceback" not in out.stderr
    assert target.read_text() == "data"
