"""Every eval suite in one run, side by side: `python -m eval.suites [--mode llm] [--vs DIR]`.

A change is kept only when it helps on a suite it was not designed on, so each
one is measured on all three: `eval/qa.jsonl` (the seeds; thresholds and word
lists are set on its dev half), `eval/holdout.jsonl` (the seeds, questions
nobody tuned for) and `eval/news.jsonl` (new articles, `eval/news/`, and
questions nobody tuned for). Writes one `bot eval` run per suite under
`--out` and prints one table: per suite and language, the answer's outcome
(answered / hedged / refused, answerable and unanswerable questions apart),
the short answer, retrieval and citations; with `--vs`, the same table of an
earlier run's folder beside it.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import datetime
from pathlib import Path

import click

from eval.report import fmt, table

SUITES = {"qa": Path("eval/qa.jsonl"), "holdout": Path("eval/holdout.jsonl"), "news": Path("eval/news.jsonl")}
# The rows of the table: what each suite is judged by.
ROWS = [
    "evidence_recall@5", "mrr@10", "must_include", "citation_precision", "short_rate", "short_right",
    "false_refusal_rate", "hedged_rate", "refused_or_hedged", "refusal_accuracy",
    "generated_rate", "answer_language_ok", "evidence_shown", "latency_p50_s", "latency_p95_s",
]
LLM_ONLY = {"generated_rate", "answer_language_ok", "evidence_shown"}


def load(folder: Path) -> dict[str, dict]:
    """{suite: summary} of a suites run folder (the suites it holds, the three first)."""
    out = {}
    folders = sorted(p for p in Path(folder).iterdir() if (p / "results.json").is_file()) if Path(folder).is_dir() else []
    for path in sorted(folders, key=lambda p: (p.name not in SUITES, list(SUITES).index(p.name) if p.name in SUITES else 0, p.name)):
        out[path.name] = json.loads((path / "results.json").read_text(encoding="utf-8"))["summary"]
    return out


def _cell(summary: dict, lang: str, key: str) -> float | None:
    group = summary if lang == "all" else summary.get("by_lang", {}).get(lang, {})
    return group.get(key)


def compare_table(now: dict[str, dict], before: dict[str, dict] | None = None, llm: bool = False) -> str:
    """One column per suite and language; "before → now" in each cell when `before` is given."""
    columns = [(s, lang) for s in now for lang in ("all", "en", "vi")]
    rows = []
    for key in ROWS:
        if key in LLM_ONLY and not llm:
            continue
        cells = []
        for suite, lang in columns:
            value = fmt(_cell(now[suite], lang, key), key)
            if before and suite in before:
                value = f"{fmt(_cell(before[suite], lang, key), key)} → {value}"
            cells.append(value)
        rows.append([key, *cells])
    outcome_rows = []
    for side in ("answerable", "unanswerable"):
        cells = []
        for suite, lang in columns:
            group = now[suite] if lang == "all" else now[suite].get("by_lang", {}).get(lang, {})
            o = (group.get("outcomes") or {}).get(side) or {}
            cells.append(f"{o.get('answered', 0)}/{o.get('hedged', 0)}/{o.get('refused', 0)}")
        outcome_rows.append([f"{side}: answered/hedged/refused", *cells])
    header = ["metric", *(f"{s} {lang}" for s, lang in columns)]
    return table(header, rows + outcome_rows, "l" + "r" * len(columns))


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default eval/runs/suites-<timestamp>.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive")
@click.option("--vs", "baseline", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="An earlier suites run folder to compare with.")
@click.option("--only", default=",".join(SUITES), help="Suites to run, comma-separated (qa, holdout, news).")
@click.option("--suite", "extra", multiple=True, metavar="NAME=DATASET[:ARTICLES]",
              help="Another suite: a dataset, and the folder of articles it is answered from (else the configured index).")
@click.option("-v", "--verbose", is_flag=True, help="Also print each suite's own tables.")
def main(out: Path | None, mode: str, baseline: Path | None, only: str, extra: tuple[str, ...], verbose: bool) -> None:
    """Run every eval suite and print them side by side."""
    from eval.runner import run_eval

    out = out or Path("eval/runs") / f"suites-{datetime.now():%Y%m%d-%H%M%S}{'-llm' if mode == 'llm' else ''}"
    runs: dict[str, tuple[Path, Path | None]] = {n.strip(): (SUITES[n.strip()], None) for n in only.split(",") if n.strip() in SUITES}
    for spec in extra:
        name, _, where = spec.partition("=")
        dataset, _, articles = where.partition(":")
        runs[name] = (Path(dataset), Path(articles) if articles else None)
    for name, (dataset, articles) in runs.items():
        click.echo(f"{name}: {dataset} …", err=True)
        with contextlib.ExitStack() as quiet:
            if not verbose:  # each run's own tables and progress bars: in its report.md
                quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
                quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
            code = run_eval(dataset=dataset, out=out / name, mode=mode, articles=articles)
        if code not in (0, 1):
            sys.exit(code)
    now = load(out)
    before = load(baseline) if baseline else None
    click.echo(compare_table(now, before, llm=mode == "llm"))
    from eval.html_report import render_suites_html

    (out / "report.html").write_text(render_suites_html(now, before), encoding="utf-8")
    click.echo(f"\nwrote {out}/<suite>/results.json, report.md and report.html, and {out}/report.html (every suite)")


if __name__ == "__main__":
    main()
