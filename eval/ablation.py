"""Retriever ablation: hybrid vs dense vs BM25 on one dataset, as a markdown table for the README.

    python -m eval.ablation                      # full runs, one run folder per retriever
    python -m eval.ablation --retrieval-only     # retrieval metrics only (no answer stage; seconds)

Latency is left out of the table: the runs share one process and the embedding
cache, so later runs would look faster than they are.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from bot.settings import RETRIEVERS, get_settings
from bot.store import IndexUnavailable
from eval import metrics
from eval.dataset import DatasetError, load_dataset
from eval.report import table

ANSWER_METRICS = ["must_include", "citation_hit", "refusal_accuracy", "false_refusal_rate"]


def ablation_table(summaries: dict[str, dict], keys: list[str]) -> str:
    """Rows: metric × retriever; columns: overall and each language."""
    rows = []
    for key in keys:
        for i, (name, summary) in enumerate(summaries.items()):
            groups = [summary] + [summary["by_lang"][lang] for lang in metrics.LANGS]
            rows.append([key if i == 0 else "", name, *(_fmt(g.get(key)) for g in groups)])
    return table(["metric", "retriever", "overall", *metrics.LANGS], rows, "llrrr")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def retrieval_summaries(dataset: Path, k: int = 5, retrievers=RETRIEVERS, settings=None) -> dict[str, dict]:
    """Retrieval metrics per retriever, without the answer stage (one Bot for all)."""
    from eval.runner import evaluate, open_bot

    items = load_dataset(dataset)
    settings = (settings or get_settings()).model_copy(update={"answer_mode": "extractive"})
    bot = open_bot(settings)
    try:
        return {
            name: metrics.summarize(evaluate(bot, items, k=k, retriever=name, use_llm=False, answer=False, desc=name))
            for name in retrievers
        }
    finally:
        bot.close()


def full_summaries(dataset: Path, out: Path, k: int = 5, mode: str = "extractive", retrievers=RETRIEVERS) -> dict[str, dict]:
    """A complete `bot eval` run per retriever, each in out/<retriever>/."""
    from eval.runner import run_eval

    summaries = {}
    for name in retrievers:
        code = run_eval(dataset=dataset, out=out / name, mode=mode, retriever=name, k=k)
        if code != 0:
            raise SystemExit(code)
        summaries[name] = json.loads((out / name / "results.json").read_text(encoding="utf-8"))["summary"]
    return summaries


@click.command()
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=Path("eval/qa.jsonl"))
@click.option("--k", type=int, default=5)
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only (no answers): fast.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Full runs only; default eval/runs/ablation-<timestamp>.")
def main(dataset: Path, k: int, mode: str, retrieval_only: bool, out: Path | None) -> None:
    """Compare the three retrievers on DATASET; prints a markdown table."""
    try:
        if retrieval_only:
            summaries = retrieval_summaries(dataset, k)
        else:
            out = out or Path("eval/runs") / f"ablation-{datetime.now():%Y%m%d-%H%M%S}"
            summaries = full_summaries(dataset, out, k, mode)
    except (DatasetError, IndexUnavailable) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    first = next(iter(summaries.values()))
    keys = list(metrics.RETRIEVAL_METRICS) + ([] if retrieval_only else ANSWER_METRICS)
    click.echo(
        f"\n{dataset.name}: {first['n']} questions ({first['n_answerable']} answerable; "
        f"en {first['by_lang']['en']['n']}, vi {first['by_lang']['vi']['n']}), k={k}\n"
    )
    click.echo(ablation_table(summaries, keys))


if __name__ == "__main__":
    main()
