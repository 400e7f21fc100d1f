"""A full disk (issue 26.4): one line naming the file system and the space needed, a non-zero exit,
the index kept as it was and answering, and the next run finishing the work once space is freed.

On a real small tmpfs, which needs root (mount); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SEEDS
from test_cli import BOT, run_bot

from bot.index_dir import OWN_FOLDER, live_dir

pytestmark = pytest.mark.slow
GENEVA = "who met in Geneva on 21/1"


@pytest.fixture
def small_disk(tmp_path):
    """mount(size) -> a fresh tmpfs of that size, unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; run as root to test a full disk")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _corpus(folder: Path, copies: int = 6) -> Path:
    """Thirty articles: the seeds, each a few times under another first line."""
    folder.mkdir()
    for i in range(copies):
        for f in SEEDS.glob("*.txt"):
            (folder / f"{i}-{f.name}").write_text(f"Bản {i}.\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_one_line(out: subprocess.CompletedProcess, disk: Path) -> None:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "rebuild" not in out.stderr.lower(), out.stderr
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, out.stderr
    assert errors[0].startswith(f"Error: no space left on {disk} (needed about ") and " MB" in errors[0]


def test_ingest_that_cannot_fit_says_so_before_writing(seeded_index, small_disk, tmp_path):
    disk = small_disk("3m")
    index = disk / "index"
    shutil.copytree(seeded_index, index)
    before = _tree(index / OWN_FOLDER)
    corpus = _corpus(tmp_path / "corpus")
    for args in (["ingest", "-q", str(corpus)], ["ingest", "-q", "--rebuild", str(corpus)]):
        out = run_bot(args, index, BOT_AUTODETECT="0")
        _assert_one_line(out, disk)
        assert "as it was before this run" in out.stderr
        assert _tree(index / OWN_FOLDER) == before
    ask = run_bot(["ask", GENEVA], index, BOT_AUTODETECT="0")
    assert ask.returncode == 0 and "Lavrov" in ask.stdout, ask.stderr


def test_disk_filling_up_mid_ingest_stops_cleanly_and_the_next_run_finishes(seeded_index, small_disk, tmp_path):
    disk = small_disk("40m")
    index = disk / "index"
    shutil.copytree(seeded_index, index)
    corpus = _corpus(tmp_path / "corpus")
    records = live_dir(index) / "records.sqlite"
    first_write = records.stat().st_mtime_ns
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(index), BOT_AUTODETECT="0")
    proc = subprocess.Popen([*BOT, "ingest", "-q", str(corpus)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while records.stat().st_mtime_ns == first_write and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first article is recorded: the space check has passed
    assert proc.poll() is None, "the ingest ended before the disk could be filled"
    filler = disk / "filler"
    with filler.open("wb") as fh:  # another program takes the rest of the disk
        try:
            while True:
                fh.write(b"\0" * 1_000_000)
                fh.flush()
        except OSError:
            pass
    stdout, stderr = proc.communicate(timeout=300)
    _assert_one_line(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), disk)
    assert "indexed before it filled up are kept" in stderr
    # The disk still full to the last byte: Chroma cannot open even to read, and the bot says why
    # without advising a rebuild (which would need more space, and lose the index meanwhile).
    ask = run_bot(["ask", GENEVA], index, BOT_AUTODETECT="0")
    assert ask.returncode == 1 and "Traceback" not in ask.stderr, ask.stderr
    assert f"no space left on {disk}" in ask.stderr and "rebuild" not in ask.stderr.lower(), ask.stderr
    filler.unlink()
    ask = run_bot(["ask", GENEVA], index, BOT_AUTODETECT="0")  # space freed: the same index answers
    assert ask.returncode == 0 and "Lavrov" in ask.stdout, ask.stderr
    again = run_bot(["ingest", "-q", str(corpus)], index, BOT_AUTODETECT="0")
    assert again.returncode == 0 and "0 failed" in again.stdout, again.stderr
    assert "315 in the index" in again.stdout  # the seeds' 45 chunks and the thirty articles' 270
