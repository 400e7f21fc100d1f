"""Benchmarks on this machine: ingestion, retrieval latency by corpus size, answer latency, start-up.

    python -m bench.run                 # full: ~1000 articles embedded, 1k/10k/100k-chunk tiers
    python -m bench.run --quick         # ~40 articles, 1k/10k tiers, fewer questions
    python -m bench.run --sizes 1000,10000 --articles 300
    python -m bench.run --corpus ../shared/corpora/vnnews/articles --skip ingest,tiers,llm,ui   # a real archive

The entry point only: it parses the flags, runs the sections in order and
writes the table and bench/results.json. Each section lives in the module of
what it measures: `ingest` (bench/ingest.py), `archive` (bench/archive.py), `tiers` (bench/tiers.py, with
bench/bm25.py, bench/query.py and bench/startup.py), `seeds`
(bench/query.py), `llm` (bench/llm.py), `ui` (bench/ui.py); the table and the
CPU meter are in bench/report.py, the shared helpers in bench/common.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.archive import bench_archive
from bench.common import release_embedded_chroma
from bench.corpus import write_corpus
from bench.ingest import bench_ingest, child_ingest
from bench.llm import bench_llm
from bench.query import bench_seeds, seeds_only_index
from bench.report import Report
from bench.tiers import NOISE, bench_tiers
from bench.ui import bench_ui
from bot.settings import REPO_ROOT

RESULTS = Path(__file__).parent / "results.json"


def code_version() -> str:
    """The commit measured, and whether bot/ differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot"], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes in bot/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    """Run every section not skipped; 1 if the llm or ui section failed (their failure must not hide the others)."""
    parser = argparse.ArgumentParser(description="Benchmarks for the news bot (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="Small run (under ~3 minutes).")
    parser.add_argument("--sizes", help="Chunk counts of the retrieval tiers (default 1000,10000,100000; quick 1000,10000).")
    parser.add_argument("--articles", type=int, help="Articles embedded for real (default 1000; quick 40).")
    parser.add_argument("--questions", type=int, help="Questions per latency figure (default 30; quick 10).")
    parser.add_argument("--skip", default="", help="Comma-separated sections to skip: ingest,archive,tiers,seeds,llm,ui.")
    parser.add_argument("--corpus", type=Path, help="A folder of real articles for the archive section, indexed "
                        "with seeds/ (default: --articles synthetic ones, bench/corpus.py).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temp folder, removed). "
                        "With --skip ingest, the tiers reuse the ingest index kept there by an earlier run.")
    parser.add_argument("--wait-quiet", type=float, default=600, metavar="SECONDS",
                        help="Before each measurement, wait at most this long for other processes to leave the CPUs "
                        "alone (default 600; 0: never wait).")
    parser.add_argument("--quiet-cpus", type=float, default=0.15,
                        help="Other processes' CPU use (in CPUs) below which the machine counts as quiet (default 0.15).")
    # The ingest section's child (bench/ingest.py) comes back in through here.
    parser.add_argument("--child-ingest", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_ingest:
        child_ingest(*args.child_ingest)
        return 0

    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,100000")).split(",")]
    n_articles = args.articles or (40 if args.quick else 1000)
    n_questions = args.questions or (10 if args.quick else 30)
    cli_runs = 1 if args.quick else 3
    skip = set(filter(None, args.skip.split(",")))
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    rep = Report(args.wait_quiet, args.quiet_cpus)
    rep.data["code"] = code_version()
    rep.data.update(
        command="python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                 "loadavg_start": os.getloadavg()},
        config={"sizes": sizes, "articles": n_articles, "questions": n_questions, "noise": NOISE,
                "corpus": str(args.corpus) if args.corpus else None},
    )
    started = time.perf_counter()
    print(f"bench: code {rep.data['code']}", flush=True)
    print(f"bench: work dir {work}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    failures = 0
    try:
        ingest_index = None
        kept = work / "ingest-index"
        if "ingest" in skip and "tiers" not in skip and args.keep and (kept / ".newsbot" / "current").exists():
            ingest_index = kept
            rep.note(f"ingestion skipped: the tiers reuse the index kept in {kept} by an earlier run")
        elif "ingest" not in skip or "tiers" not in skip:
            ingest_index = bench_ingest(rep, work, n_articles)
        if "archive" not in skip:
            corpus, label = args.corpus, f"{args.corpus} (real articles)"
            if corpus is None:
                corpus, label = work / "corpus", f"{n_articles} synthetic articles (bench/corpus.py)"
                if not corpus.is_dir():
                    write_corpus(corpus, n_articles)
            elif not corpus.is_dir():
                raise SystemExit(f"--corpus {corpus}: no such folder")
            bench_archive(rep, work, corpus.absolute(), label, n_questions)
        if "tiers" not in skip:
            bench_tiers(rep, work, sizes, ingest_index, n_questions, cli_runs)
        if "seeds" not in skip:
            seeds_index = bench_seeds(rep, work, n_questions, cli_runs)
        else:  # the local model and the UI still answer from the seeds
            seeds_index = seeds_only_index(work) if not {"llm", "ui"} <= skip else None
        for name, fn in (("llm", lambda: bench_llm(rep, seeds_index, 3 if args.quick else 8)),
                         ("ui", lambda: bench_ui(rep, seeds_index))):
            if name in skip:
                continue
            try:
                fn()
            except Exception as exc:  # one broken section must not hide the others' figures
                failures += 1
                rep.note(f"{name} FAILED: {type(exc).__name__}: {exc}")
    finally:
        rep.end_section()
        total = time.perf_counter() - started
        if code_version() != rep.data["code"]:
            rep.note(f"the code changed during the run (now {code_version()}): figures may mix two versions")
        rep.data.update(total_s=total, loadavg_end=os.getloadavg(),
                        bench_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(f"\nbench: {total:.0f} s in all; load average now {os.getloadavg()[0]:.2f}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**rep.data, "table": rep.lines}, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"bench: results in {args.out}", flush=True)
        if not args.keep:
            release_embedded_chroma()
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
