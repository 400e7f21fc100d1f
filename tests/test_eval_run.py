"""`bot eval` end to end on a small dataset against the real seeded index; and the dataset reader."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS, make_settings

from bot.cli import main
from bot.settings import REPO_ROOT, get_settings
from eval.dataset import DatasetError, load_dataset
from eval.report import cell, table
from eval.runner import run_eval

EVIDENCE = (
    "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken đã có cuộc hội đàm "
    "tại Geneva (Thụy Sĩ) về các vấn đề liên quan đến an ninh."
)
DATASET = [
    {
        "id": "g-en",
        "question": "who met in Geneva on 21/1",
        "lang": "en",
        "answer": "Russian FM Sergei Lavrov and US Secretary of State Antony Blinken.",
        "must_include": ["Lavrov", "Blinken"],
        "sources": ["002_5e381044bb73209e.txt", "000_06e006c2fbeffc65.txt"],
        "evidence": EVIDENCE,
        "type": "fact",
        "difficulty": "easy",
    },
    # No lang, type or evidence: the reader fills them in.
    {
        "id": "g-vi",
        "question": "ai gặp nhau ở Geneva ngày 21/1?",
        "answer": "Lavrov và Blinken | ở Geneva",
        "must_include": ["lavrov"],
        "sources": ["002_5e381044bb73209e.txt"],
    },
    {
        "id": "s400",
        "question": "Nga điều hệ thống tên lửa nào tới Belarus?",
        "lang": "vi",
        "answer": "S-400 Triumph",
        "must_include": ["S-400"],
        "sources": ["000_06e006c2fbeffc65.txt"],
        "evidence": "",
        "type": "fact",
        "extra": [1],
    },
    {
        "id": "none",
        "question": "Who won the football World Cup in 2018?",
        "lang": "en",
        "answer": "",
        "must_include": [],
        "sources": [],
        "evidence": "",
        "type": "unanswerable",
        "difficulty": "easy",
    },
]
SUMMARY_KEYS = {
    "n",
    "n_answerable",
    "n_unanswerable",
    "source_hit@5",
    "evidence_recall@5",
    "mrr@10",
    "must_include",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "citation_valid",
    "refusal_accuracy",
    "false_refusal_rate",
    "latency_p50_s",
    "latency_p95_s",
}
ITEM_KEYS = {
    "id",
    "question",
    "lang",
    "type",
    "difficulty",
    "expected_answer",
    "must_include",
    "gold_sources",
    "evidence",
    "retrieved",
    "answer",
    "refused",
    "citations",
    "flags",
    "notice",
    "scores",
    "failed_checks",
    "latency_s",
}
META_KEYS = {"dataset", "n", "mode", "retriever", "k", "answerer", "embedder", "timestamp", "git_commit", "settings"}


def write_jsonl(path: Path, rows: list, blank_line: bool = True) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    if blank_line:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def bot_env(monkeypatch, tmp_path):
    """Point `bot` at an index folder through the environment, away from any .env or LLM."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "BOT_LOCAL_MODEL",
        "CHROMA_HOST",
        "BOT_RETRIEVER",
        "BOT_ANSWER_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_DATA_DIR", str(SEEDS))
    monkeypatch.chdir(tmp_path)

    def use(index_dir: Path) -> None:
        monkeypatch.setenv("BOT_INDEX_DIR", str(index_dir))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def bot_eval(*args: str):
    return CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)


def test_eval_writes_contract_results_report_and_a_diff(bot_env, seeded_settings, tmp_path):
    bot_env(seeded_settings.index_dir)
    dataset = write_jsonl(tmp_path / "qa.jsonl", DATASET)
    first = bot_eval("--dataset", str(dataset), "--out", str(tmp_path / "runs" / "first"))
    assert first.exit_code == 0, first.output
    assert "| metric" in first.stdout and "source_hit@5" in first.stdout

    results = json.loads((tmp_path / "runs" / "first" / "results.json").read_text(encoding="utf-8"))
    meta, summary, items = results["meta"], results["summary"], results["items"]
    assert set(meta) >= META_KEYS and meta["n"] == 4 and meta["mode"] == "extractive" and meta["retriever"] == "hybrid"
    assert meta["ranking_mismatches"] == 0  # the scoring ranking starts with the answerer's passages
    assert "openai_api_key" in meta["settings"] and meta["settings"]["openai_api_key"] is None
    for scope in (summary, summary["by_lang"]["en"], summary["by_lang"]["vi"]):
        assert set(scope) >= SUMMARY_KEYS
    assert summary["n"] == 4 and summary["n_unanswerable"] == 1
    assert summary["by_lang"]["en"]["n"] == 2 and summary["by_lang"]["vi"]["n"] == 2  # g-vi detected as vi
    assert summary["by_lang"]["vi"]["refusal_accuracy"] is None  # no unanswerable vi item: null, not 0
    assert set(summary["by_type"]) == {"fact", "unspecified", "unanswerable"}

    by_id = {i["id"]: i for i in items}
    assert all(set(i) >= ITEM_KEYS for i in items)
    geneva = by_id["g-en"]
    assert geneva["scores"]["source_hit@5"] == 1.0 and geneva["scores"]["evidence_recall@5"] == 1.0
    assert geneva["scores"]["must_include"] == 1.0 and geneva["scores"]["citation_valid"] == 1.0
    assert len(geneva["retrieved"]) >= 10 and sum(p["used"] for p in geneva["retrieved"]) == 5
    assert {"rank", "source", "chunk_id", "start", "end", "score", "text"} <= set(geneva["retrieved"][0])
    assert {"n", "source", "quote", "start", "end"} <= set(geneva["citations"][0])
    assert by_id["g-vi"]["scores"]["evidence_recall@5"] is None
    assert by_id["none"]["scores"]["source_hit@5"] is None and by_id["none"]["refused"] is not None

    report = (tmp_path / "runs" / "first" / "report.md").read_text(encoding="utf-8")
    header = next(line for line in report.splitlines() if line.startswith("| metric"))
    assert "## Summary" in report and [c.strip() for c in header.strip("|").split("|")] == [
        "metric",
        "overall",
        "en",
        "vi",
    ]
    assert "## By question type" in report and "## Questions" in report
    assert "Lavrov và Blinken \\| ở Geneva" in report  # pipes in text are escaped
    assert "## Compared with" not in report

    second = bot_eval("--dataset", str(dataset), "--out", str(tmp_path / "runs" / "second"), "--retriever", "bm25")
    assert second.exit_code == 0, second.output
    diff = (tmp_path / "runs" / "second" / "report.md").read_text(encoding="utf-8")
    assert "## Compared with the previous run" in diff and "first" in diff
    assert "retriever hybrid → bm25" in diff and "Regressed (" in diff and "Fixed (" in diff


def test_malformed_line_is_named_and_fails(bot_env, seeded_index, tmp_path):
    bot_env(seeded_index)
    dataset = write_jsonl(tmp_path / "bad.jsonl", [DATASET[0], '{"id": "q2", "question": "who met", '])
    result = bot_eval("--dataset", str(dataset), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "line 3" in result.stderr and "not valid JSON" in result.stderr
    assert not (tmp_path / "out").exists()


def test_llm_mode_without_a_model_says_how_to_configure_one(bot_env, seeded_index, tmp_path):
    bot_env(seeded_index)
    result = bot_eval("--dataset", str(write_jsonl(tmp_path / "qa.jsonl", DATASET[:1])), "--mode", "llm")
    assert result.exit_code == 2 and "BOT_LOCAL_MODEL" in result.stderr


@pytest.mark.slow
def test_fresh_clone_indexes_the_articles_first_and_checks_floors(tmp_path, capsys):
    settings = make_settings(tmp_path / "fresh-index")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"min": {"overall": {"source_hit@5": 1.01}, "en": {"mrr@10": 0.0}}}), encoding="utf-8")
    dataset = write_jsonl(tmp_path / "qa.jsonl", DATASET[:1])
    code = run_eval(dataset, tmp_path / "out", k=3, check_floors=True, settings=settings, floors=floors)
    captured = capsys.readouterr()
    assert "indexing" in captured.err and "5 added" in captured.err
    assert code == 1 and "overall source_hit@5 = 1.000 < floor 1.01" in captured.out
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["k"] == 3 and sum(p["used"] for p in results["items"][0]["retrieved"]) == 3


def test_dataset_reader_fills_defaults_and_names_bad_lines(tmp_path):
    rows = [
        {"question": "ai gap nhau o geneva"},
        {"id": "u", "question": "Who is the pope?", "type": "unanswerable"},
        {"id": "p", "question": "Where?", "sources": ["seeds/a.txt"], "must_include": "Geneva"},
    ]
    items = load_dataset(write_jsonl(tmp_path / "ok.jsonl", rows))
    assert [i.id for i in items] == ["line1", "u", "p"]
    assert items[0].lang == "vi" and items[0].answerable and items[0].type == "unspecified"
    assert not items[1].answerable and items[1].lang == "en"
    assert items[2].sources == ["a.txt"] and items[2].must_include == ["Geneva"]
    for bad, message in [
        ('{"id": "x"}', "'question' is missing"),
        ('["not", "an", "object"]', "expected a JSON object"),
        ('{"question": "q", "sources": 5}', "'sources' must be a list"),
        ('{"question": "q", "id": "line1"}', "already used on line 1"),
    ]:
        with pytest.raises(DatasetError, match="line 3") as err:
            load_dataset(write_jsonl(tmp_path / "bad.jsonl", [rows[0], bad]))
        assert message in str(err.value)


def test_tables_are_aligned_and_escaped():
    out = table(["a", "b"], [[cell("x|y"), "1"], [cell("long text " * 20, 20), "10"]], "lr")
    lines = out.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert "x\\|y" in out and "…" in out


# -- issue 26.9: a dataset's "answerable", JSON nested too deep, Ctrl-C ---------------------


def test_answerable_false_is_scored_as_unanswerable_even_with_sources(bot_env, seeded_settings, tmp_path):
    bot_env(seeded_settings.index_dir)
    rows = [
        {"id": "g", "question": "Who met in Geneva on 21/1?", "sources": ["002_5e381044bb73209e.txt"]},
        {"id": "near", "question": "What did Lavrov eat in Geneva?", "sources": ["002_5e381044bb73209e.txt"],
         "answerable": False},
    ]
    done = bot_eval("--dataset", str(write_jsonl(tmp_path / "qa.jsonl", rows)), "--out", str(tmp_path / "run"))
    assert done.exit_code == 0, done.output
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    near = next(i for i in results["items"] if i["id"] == "near")
    assert near["answerable"] is False
    assert results["summary"]["n_unanswerable"] == 1 and results["summary"]["n_answerable"] == 1


def test_a_dataset_line_nested_200k_deep_is_one_line(bot_env, seeded_index, tmp_path):
    bot_env(seeded_index)
    dataset = tmp_path / "deep.jsonl"
    dataset.write_text('{"question": "q"}\n' + "[" * 200_000 + "]" * 200_000 + "\n", encoding="utf-8")
    done = bot_eval("--dataset", str(dataset), "--out", str(tmp_path / "run"))
    assert done.exit_code == 2 and "line 2: JSON nested too deeply" in done.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_during_an_eval_writes_what_was_scored(seeded_index, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(seeded_index), BOT_AUTODETECT="0")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "eval", "--dataset", str(REPO_ROOT / "eval" / "qa.jsonl"), "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    seen = ""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:  # until tqdm shows 3 questions scored
        seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        if any(f"| {n}/" in seen for n in range(3, 10)):
            break
    assert proc.poll() is None, seen
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted:" in stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    total = len(load_dataset(REPO_ROOT / "eval" / "qa.jsonl"))
    assert results["meta"]["interrupted"] is True and 3 <= results["meta"]["n"] < total == results["meta"]["of"]
    assert len(results["items"]) == results["meta"]["n"] and "Interrupted" in (out / "report.md").read_text()
