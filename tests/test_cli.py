"""The `bot` command as a user runs it: a real subprocess against a real index."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GENEVA_FILES, SEEDS

BOT = [sys.executable, "-m", "bot.cli"]


def run_bot(args: list[str], index_dir: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(index_dir), BOT_DATA_DIR=str(SEEDS), **env_extra)
    return subprocess.run(BOT + args, capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).parent)


def test_ask_prints_answer_citations_with_offsets_and_mode(seeded_index):
    out = run_bot(["ask", "who met in Geneva on 21/1"], seeded_index)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "Lavrov" in lines[0] and "Blinken" in lines[0]
    cited = [line for line in lines if line.startswith("[")]
    assert cited and any(f in cited[0] for f in GENEVA_FILES)
    assert "(chars " in cited[0]
    assert lines[-1] == "— answered by: extractive"


def test_ask_json_is_machine_readable(seeded_index):
    out = run_bot(["ask", "--json", "ai gặp nhau ở Geneva ngày 21/1?"], seeded_index)
    answer = json.loads(out.stdout)
    assert answer["lang"] == "vi" and answer["mode"] == "extractive" and not answer["refused"]
    c = answer["citations"][0]
    assert (SEEDS / c["source"]).read_text(encoding="utf-8")[c["start"] : c["end"]] == c["quote"]


def test_ask_refuses_plainly(seeded_index):
    out = run_bot(["ask", "Who won the football World Cup in 2018?"], seeded_index)
    assert out.returncode == 0
    assert out.stdout.startswith("The articles don't say.")


@pytest.mark.slow
def test_ask_without_index_says_what_to_do(tmp_path):
    out = run_bot(["ask", "who met in Geneva"], tmp_path / "no-index")
    assert out.returncode == 1
    assert "bot ingest" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_ingest_reports_bad_files_and_summary(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Hội nghị bàn về an ninh châu Âu diễn ra tại Vienna ngày 13/1.", encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00\x01 not text")
    out = run_bot(["ingest", "-q", str(corpus)], tmp_path / "idx")
    assert out.returncode == 0, out.stderr
    assert "skipped bad.txt" in out.stderr
    assert out.stdout.strip().startswith("1 added")
    again = run_bot(["ingest", "-q", str(corpus)], tmp_path / "idx")
    assert "0 embedded" in again.stdout and "1 unchanged" in again.stdout


@pytest.mark.parametrize("question", ["   ", "?!..."])
def test_empty_question_gets_a_hint(seeded_index, question):
    out = run_bot(["ask", question], seeded_index)
    assert out.returncode == 0 and "type a question" in out.stdout.lower()
