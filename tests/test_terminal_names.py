"""File names reach the terminal escaped (issue 26.5): an ANSI escape in a name never colours it; a name
starting with '-' is taken after `--`, and the error for one before it says so."""

from __future__ import annotations

import shutil

import pytest
from conftest import SEEDS
from test_cli import run_bot

from bot.text import printable

pytestmark = pytest.mark.slow


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("ansi\x1b[31mred.txt") == "ansi\\x1b[31mred.txt"
    assert printable("a\u202etxt.exe") == "a\\u202etxt.exe"
    assert printable("bad\udcffbyte") == "bad\\xffbyte"
    assert printable("two\nlines") == "two\\nlines"
    assert printable("two\nlines\x07", lines=True) == "two\nlines\\x07"


def test_ingest_and_ask_print_an_ansi_file_name_escaped(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = "ansi\x1b[31mred.txt"
    shutil.copy(SEEDS / "002_5e381044bb73209e.txt", corpus / name)
    (corpus / "empty\x1b[2J.txt").write_text("")  # a skipped file is named too
    index = tmp_path / "index"
    out = run_bot(["ingest", "-q", str(corpus)], index, BOT_AUTODETECT="0")
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout + out.stderr
    assert "empty\\x1b[2J.txt" in out.stderr
    ask = run_bot(["ask", "who met in Geneva on 21/1"], index, BOT_AUTODETECT="0")
    assert ask.returncode == 0 and "\x1b" not in ask.stdout + ask.stderr
    assert "ansi\\x1b[31mred.txt" in ask.stdout


def test_a_name_starting_with_a_dash_goes_after_double_dash(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "002_5e381044bb73209e.txt", corpus / "-notes.txt")
    index = tmp_path / "index"
    refused = run_bot(["ingest", "-q", "-notes.txt"], index, BOT_AUTODETECT="0")
    assert refused.returncode == 2 and "bot ingest -- -notes.txt" in refused.stderr
    taken = run_bot(["ingest", "-q", "--", str(corpus / "-notes.txt")], index, BOT_AUTODETECT="0")
    assert taken.returncode == 0 and "1 added" in taken.stdout, taken.stderr
