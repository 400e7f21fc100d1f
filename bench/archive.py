"""A whole archive, as a user would index it: `--corpus DIR` (real articles) plus seeds/, or the synthetic corpus.

    python -m bench.run --corpus ../shared/corpora/vnnews/articles --skip ingest,tiers,llm,ui

Into embedded Chroma, each step a fresh `bot ingest`-like child (bench.archive
ingest): the cold ingest (time until the index answers, until every vector is
stored; chunks/s; CPU; peak RSS of the ingest process and its largest worker;
the index's size on disk), a re-run on the unchanged archive, one new article
(eval/news/'s first article with its title changed, so that it is new to any
archive), `--sync` taking it away again; then answers (`Bot.run`, extractive,
in a fresh child: new questions whose passages are seen for the first time in
that process, then the same questions again with their passages seen, the
question's embedding still computed), and eval/qa.jsonl's retrieval (MRR@10)
on seeds/ alone and with the archive mixed in. Then the same into a `chroma
run` server on loopback, its cold ingest killed (SIGKILL, workers too) part
way and resumed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import child_env, chroma_server, questions, settings_for
from bench.report import Report, fmt, pct
from bot.settings import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"
KILL_AT = 0.4  # the server's cold ingest is killed once this share of the files is recorded


# -- children ---------------------------------------------------------------------------


def _settings(index_dir: Path):
    port = os.environ.get("BENCH_CHROMA_PORT")
    return settings_for(index_dir, **({"chroma_host": "127.0.0.1", "chroma_port": int(port)} if port else {}))


def child_ingest(index_dir: Path, paths: list[Path], sync: bool) -> None:
    """Runs in a child: one `ingest()` as `bot ingest` runs it; prints its figures as JSON."""
    import bot.ingest_vectors as vectors_mod
    from bot.ingest import ingest

    settings = _settings(index_dir)
    own0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    report = ingest(paths, settings, sync=sync)
    ingest_s = time.perf_counter() - started
    own1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "ingest_s": ingest_s, "searchable_s": report.searchable_s, "vectors_s": report.vectors_s,
        "files": len(report.files_added) + len(report.files_updated) + len(report.files_unchanged),
        "added": len(report.files_added), "deleted": len(report.files_deleted), "failed": len(report.failed),
        "embedded": report.chunks_added, "skipped": report.chunks_skipped, "total": report.chunks_total,
        "encoded": report.encoded, "engine": report.encoder, "lexical_update": report.lexical_update,
        "workers": vectors_mod.worker_count(settings),
        "cpu_main_s": own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime,
        "cpu_workers_s": kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime,
        "peak_rss_mb": own1.ru_maxrss / 1024, "largest_worker_rss_mb": kids1.ru_maxrss / 1024,
    }))


def child_answers(index_dir: Path, n: int) -> None:
    """Runs in a child: `Bot.run` (extractive) on n questions, passages first seen, then seen."""
    from bench.common import clear_embedding_cache
    from bot.pipeline import Bot

    settings = _settings(index_dir)
    qs = questions(n)
    bot = Bot(settings)
    try:
        bot.run("Thời tiết Hà Nội hôm nay thế nào?")  # loads the models; its passages are not the questions'
        out = {}
        for name in ("first_seen", "seen"):
            times = []
            for q in qs:
                clear_embedding_cache(settings)  # a new question either way: its embedding is computed
                started = time.perf_counter()
                bot.run(q)
                times.append((time.perf_counter() - started) * 1000)
            out[name] = pct(times)
    finally:
        bot.close()
    print(json.dumps(out))


# -- the section ------------------------------------------------------------------------


def _bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.archive", *args]


def _env(port: int | None) -> dict[str, str]:
    env = child_env(PYTHONPATH=str(REPO_ROOT))
    if port:
        env["BENCH_CHROMA_PORT"] = str(port)
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 4 * 3600) -> tuple[dict, float]:
    from bench.common import timed_child

    wall, rss, out, err, code = timed_child(cmd, env, cwd, timeout=timeout)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed ({code}): {err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["process_peak_rss_mb"] = rss
    return result, wall


def disk_mb(*folders: Path) -> float:
    total = 0
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, name)).st_size
    return total / 1e6


def _files_recorded(index_dir: Path) -> int:
    """Articles whose chunks the record manager committed (what a resumed run skips)."""
    from bot.index_dir import live_dir

    try:
        with sqlite3.connect(f"file:{live_dir(index_dir) / 'records.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(DISTINCT group_id) FROM upsertion_record").fetchone()[0]
    except sqlite3.Error:
        return 0


def new_article(folder: Path) -> Path:
    """One article no archive holds: eval/news/'s first, its title line changed (the loader skips duplicates)."""
    source = sorted((REPO_ROOT / "eval" / "news").glob("*.txt"))[0]
    title, _, body = source.read_text(encoding="utf-8").partition("\n")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"new_{source.name}"
    path.write_text(f"{title} (bản cập nhật)\n{body}", encoding="utf-8")
    return path


def _ingest_rows(rep: Report, label: str, r: dict, wall: float) -> None:
    rep.row(f"{label}: the index answers after / every vector stored after",
            f"{r['searchable_s']:.1f} s / {r['vectors_s']:.1f} s (process {wall:.1f} s)")
    if r["embedded"]:
        rep.row(f"{label}: chunks embedded, chunks/s until it answers",
                f"{r['embedded']:,} of {r['total']:,} in the index, {r['embedded'] / r['searchable_s']:.1f} chunks/s")
    encoded = ", ".join(f"{k} {v:,}" for k, v in r["encoded"].items())
    rep.row(f"{label}: texts encoded", encoded or "none")
    rep.row(f"{label}: CPU s, ingest process / its {r['workers']} workers",
            f"{r['cpu_main_s']:.1f} / {r['cpu_workers_s']:.1f} s")
    rep.row(f"{label}: peak RSS, ingest process / largest worker",
            f"{max(r['peak_rss_mb'], r['process_peak_rss_mb']):.0f} MB / {r['largest_worker_rss_mb']:.0f} MB")


def _answers(rep: Report, label: str, index_dir: Path, port: int | None, n: int, work: Path) -> dict:
    with rep.measuring(f"{label}: answers"):
        r, _ = _run(_bench_cmd("answers", str(index_dir), str(n)), _env(port), work, timeout=3600)
    rep.row(f"{label}: Bot.run p50 / p95, passages first seen ({n} questions)", fmt(r["first_seen"]))
    rep.row(f"{label}: Bot.run p50 / p95, the same passages seen", fmt(r["seen"]))
    return r


def _mrr(index_dir: Path) -> dict:
    """eval/qa.jsonl's retrieval metrics (hybrid, no answer stage) on an index."""
    from bot.sentence_vectors import forget_stores
    from eval.ablation import retrieval_summaries

    summary = retrieval_summaries(REPO_ROOT / "eval" / "qa.jsonl", settings=settings_for(index_dir), retrievers=("hybrid",))
    forget_stores()
    s = summary["hybrid"]
    return {"mrr@10": s["mrr@10"], "source_hit@5": s["source_hit@5"], "evidence_recall@5": s["evidence_recall@5"]}


def bench_archive(rep: Report, work: Path, corpus: Path, label: str, n_questions: int) -> None:
    """The `archive` section: embedded Chroma, then a Chroma server; see the module docstring."""
    paths = [str(corpus), str(SEEDS)]
    index_dir = work / "archive-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    newdir = work / "archive-new"
    shutil.rmtree(newdir, ignore_errors=True)
    extra = new_article(newdir)
    results: dict = {"corpus": str(corpus), "label": label}
    env = _env(None)

    rep.section(f"Archive: {label} + seeds/, into embedded Chroma")
    with rep.measuring("archive: cold ingest"):
        cold, wall = _run(_bench_cmd("ingest", str(index_dir), *paths), env, work)
    _ingest_rows(rep, "cold", cold, wall)
    rep.row("cold: engine", cold["engine"])
    cold["disk_mb"] = disk_mb(index_dir)
    rep.row("index on disk", f"{cold['disk_mb']:.0f} MB")
    results["cold"] = cold
    for name, args in (("re-run (unchanged)", paths), ("one new article", [str(extra)])):
        with rep.measuring(f"archive: {name}"):
            r, wall = _run(_bench_cmd("ingest", str(index_dir), *args), env, work)
        rep.row(f"{name}: ingest() / whole process", f"{r['ingest_s']:.2f} s / {wall:.1f} s")
        rep.row(f"{name}: chunks embedded / in the index", f"{r['embedded']} / {r['total']:,}")
        results[name] = {**r, "wall_s": wall}
    if results["re-run (unchanged)"]["embedded"]:
        rep.note(f"RE-RUN EMBEDDED {results['re-run (unchanged)']['embedded']} CHUNKS (expected 0)")
    with rep.measuring("archive: --sync"):
        r, wall = _run(_bench_cmd("ingest", str(index_dir), "--sync", *paths), env, work)
    rep.row("--sync without the new article: ingest() / process", f"{r['ingest_s']:.2f} s / {wall:.1f} s")
    rep.row("--sync: articles deleted, chunks in the index", f"{r['deleted']}, {r['total']:,}")
    results["sync"] = {**r, "wall_s": wall}
    if r["total"] != cold["total"]:
        rep.note(f"--SYNC LEFT {r['total']} CHUNKS, THE COLD INGEST {cold['total']}")
    results["answers"] = _answers(rep, "embedded", index_dir, None, n_questions, work)

    seeds_dir = work / "archive-seeds-alone"
    shutil.rmtree(seeds_dir, ignore_errors=True)
    _run(_bench_cmd("ingest", str(seeds_dir), str(SEEDS)), env, work)
    alone, mixed = _mrr(seeds_dir), _mrr(index_dir)
    for key in alone:
        rep.row(f"eval/qa.jsonl {key}: seeds/ alone / archive mixed in", f"{alone[key]:.3f} / {mixed[key]:.3f}")
    results["retrieval"] = {"seeds_alone": alone, "archive_mixed_in": mixed}
    rep.data["archive"] = results

    rep.section(f"Archive: {label} + seeds/, into a Chroma server (chroma run on 127.0.0.1)")
    server = {}
    local = work / "archive-server-index"
    shutil.rmtree(local, ignore_errors=True)
    shutil.rmtree(work / "archive-server-db", ignore_errors=True)
    from bench.common import release_embedded_chroma

    release_embedded_chroma()
    with (work / "archive-server.log").open("w+b") as log, chroma_server(work / "archive-server-db", log) as (port, _):
        env = _env(port)
        files = cold["files"]
        with rep.measuring("archive server: cold ingest, killed and resumed"):
            started = time.perf_counter()
            proc = subprocess.Popen(_bench_cmd("ingest", str(local), *paths), env=env, cwd=work,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            while proc.poll() is None and _files_recorded(local) < KILL_AT * files:
                time.sleep(1)
            killed_at, before = _files_recorded(local), time.perf_counter() - started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its workers, at once
            proc.wait()
            resumed, wall = _run(_bench_cmd("ingest", str(local), *paths), env, work)
        rep.row("cold ingest killed (SIGKILL) after / articles recorded by then",
                f"{before:.1f} s / {killed_at:,} of {files:,}")
        _ingest_rows(rep, "resumed", resumed, wall)
        rep.row("killed + resumed: the index answers after / every vector stored after",
                f"{before + resumed['searchable_s']:.1f} s / {before + resumed['vectors_s']:.1f} s")
        rep.row("resumed: chunks in the index (embedded store's)", f"{resumed['total']:,} ({cold['total']:,})")
        if resumed["total"] != cold["total"]:
            rep.note(f"THE RESUMED SERVER INDEX HOLDS {resumed['total']} CHUNKS, THE EMBEDDED ONE {cold['total']}")
        resumed["disk_mb"] = disk_mb(local, work / "archive-server-db")
        rep.row("index on disk (server data + local records, BM25, vectors)", f"{resumed['disk_mb']:.0f} MB")
        server["killed_after_s"], server["killed_at_files"], server["resumed"] = before, killed_at, resumed
        for name, args in (("re-run (unchanged)", paths), ("one new article", [str(extra)])):
            with rep.measuring(f"archive server: {name}"):
                r, wall = _run(_bench_cmd("ingest", str(local), *args), env, work)
            rep.row(f"{name}: ingest() / whole process", f"{r['ingest_s']:.2f} s / {wall:.1f} s")
            server[name] = {**r, "wall_s": wall}
        server["answers"] = _answers(rep, "server", local, port, n_questions, work)
    rep.data["archive_server"] = server


def main(argv: list[str] | None = None) -> int:
    """The children's entry point (`python -m bench.archive ingest|answers ...`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("index_dir", type=Path)
    ingest.add_argument("--sync", action="store_true")
    ingest.add_argument("paths", nargs="+", type=Path)
    answers = sub.add_parser("answers")
    answers.add_argument("index_dir", type=Path)
    answers.add_argument("n", type=int)
    args = parser.parse_args(argv)
    if args.what == "ingest":
        child_ingest(args.index_dir, args.paths, args.sync)
    else:
        child_answers(args.index_dir, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
