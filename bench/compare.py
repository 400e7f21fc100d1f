"""Before -> after, in one run: the figures of the speed issue for an old copy of the code and this one.

    python -m bench.compare --baseline /tmp/baseline            # all sections
    python -m bench.compare --baseline /tmp/baseline --skip ingest --articles 100

`--baseline DIR` is a copy of the repository before the change (its `bot/`
is put first on PYTHONPATH of the "before" children; the "after" children run
this checkout). Every figure comes from a fresh child process, and the two
versions alternate section by section, so a disturbance hits both about
alike. Sections:

- `help`: `python -m bot.cli --help`, whole process, median of 7;
- `seeds`: the five seed articles ingested (untimed), then `Bot.run`
  (extractive) on the evaluation questions as new questions (embedding cache
  cleared before each), p50 / p95, next to the question's embedding alone;
- `ask`: `bot ask "who met in Geneva on 21/1"` on that index, whole process,
  median of 3, with peak RSS;
- `ingest`: a cold ingest of N synthetic articles (bench/corpus.py), before
  and after, each with BOT_INGEST_WORKERS=1 and with 2 (alternating, the
  median of `--ingest-repeats`); chunks/s, CPU seconds per chunk of the
  ingest process and its workers, what was encoded, peak RSS (the ingest
  process, and the largest worker);
- `bm25`: BM25 of `--bm25-chunks` synthetic chunks (default 100,000), in
  one process: what every changing ingest did before (build from every chunk,
  save; paging the chunks out of Chroma comes on top, ~7 s at 100k) against
  adding one article in place (load the saved file, `updated`, save);
- `quality`: `bot eval` (extractive) on eval/qa.jsonl over this checkout's
  seed index, with the stored sentence vectors and without them (the
  evidence sentences then encoded at question time, as before).

Results are printed and written as JSON (`--out`, default bench/compare.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import GENEVA, child_env, timed_child
from bench.corpus import synthetic_chunks
from bench.report import CpuMeter, pct
from bot.settings import REPO_ROOT

OUT = Path(__file__).parent / "compare.json"

# Runs inside a child with either version's `bot` first on the path: only APIs both versions have.
SEEDS_CHILD = r"""
import json, sys, time
from pathlib import Path
from bot.settings import Settings
index_dir, seeds, qa, n = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
settings = Settings(_env_file=None, data_dir=seeds, index_dir=index_dir, openai_api_key=None, openai_base_url=None,
                    local_model=None, chroma_host=None, answer_mode="extractive")
from bot.ingest import ingest
if not ((index_dir / "records.sqlite").exists() or (index_dir / ".newsbot" / "current").exists()):
    ingest([seeds], settings)
from bot.embed import make_embeddings
from bot.pipeline import Bot
qs = [json.loads(l)["question"] for l in qa.read_text(encoding="utf-8").splitlines() if l.strip()][:n]
bot = Bot(settings)
emb = make_embeddings(settings)
bot.run(qs[0])
out = {}
# Pass 1: most top passages are seen for the first time (their topic vectors get encoded);
# pass 2: the same questions again as new ones (embedding cache cleared), passages seen before.
for name in ("first", "again"):
    run, alone = [], []
    for q in qs:
        emb._cache.clear()
        t = time.perf_counter(); emb.embed_query(q); alone.append(time.perf_counter() - t)
        emb._cache.clear()
        t = time.perf_counter(); bot.run(q); run.append(time.perf_counter() - t)
    out[name] = {"run": run, "alone": alone}
print(json.dumps(out))
"""

INGEST_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from bot.settings import Settings
corpus, index_dir = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(_env_file=None, index_dir=index_dir, openai_api_key=None, openai_base_url=None,
                    local_model=None, chroma_host=None, answer_mode="extractive")
from bot.embed import make_embeddings
from bot.ingest import ingest
make_embeddings(settings)
def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime
c0 = cpu()
t = time.perf_counter()
report = ingest([corpus], settings)
s = time.perf_counter() - t
c1 = cpu()
print(json.dumps({"ingest_s": s, "embedded": report.chunks_added, "total": report.chunks_total,
                  "failed": len(report.failed), "encoded": getattr(report, "encoded", {}),
                  "cpu_main_s": c1[0] - c0[0], "cpu_workers_s": c1[1] - c0[1],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "largest_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def tree_env(tree: Path | None, **extra: str) -> dict[str, str]:
    """The environment of a child running `tree`'s code (None: this checkout)."""
    root = str(tree or REPO_ROOT)
    return child_env(PYTHONPATH=os.pathsep.join([root, str(REPO_ROOT)]), **extra)


def run_json(code: str, args: list[str], env: dict[str, str], cwd: Path) -> tuple[dict, float, float]:
    wall, rss, out, err, rc = timed_child([sys.executable, "-c", code, *args], env, cwd, timeout=3600)
    if rc != 0:
        raise RuntimeError(f"child failed ({rc}): {err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), wall, rss


class Table:
    def __init__(self) -> None:
        self.data: dict = {"sections": {}}
        self.load = CpuMeter()

    def section(self, name: str) -> None:
        print(f"\n== {name} (load average {os.getloadavg()[0]:.2f})", flush=True)
        self.load.start()

    def row(self, label: str, before: str, after: str, ratio: float | None = None) -> None:
        r = f"  ({ratio:.2f}x)" if ratio else ""
        print(f"  {label:<58} {before:>18} -> {after:<18}{r}", flush=True)

    def others(self, name: str) -> None:
        busy = self.load.others()
        self.data["sections"].setdefault(name, {})["others_cpus"] = busy
        if busy is not None:
            print(f"  other processes used {busy:.2f} CPUs meanwhile", flush=True)


def section_help(t: Table, baseline: Path, work: Path, runs: int = 7) -> None:
    t.section("help: python -m bot.cli --help")
    walls: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(runs):
        for name, tree in (("before", baseline), ("after", None)):
            wall, *_ = timed_child([sys.executable, "-m", "bot.cli", "--help"], tree_env(tree), work)
            walls[name].append(wall)
    b, a = statistics.median(walls["before"]), statistics.median(walls["after"])
    t.row("`bot --help`, whole process, median", f"{b:.2f} s", f"{a:.2f} s", b / a)
    t.data["sections"]["help"] = {"before_s": walls["before"], "after_s": walls["after"]}
    t.others("help")


def section_seeds(t: Table, baseline: Path, work: Path, n: int) -> dict[str, Path]:
    t.section(f"seeds: Bot.run extractive, {n} new questions")
    qa = REPO_ROOT / "eval" / "qa.jsonl"
    out: dict = {}
    indexes: dict[str, Path] = {}
    for name, tree in (("before", baseline), ("after", None)):
        index_dir = work / f"seeds-{name}"
        indexes[name] = index_dir
        res, _, _ = run_json(SEEDS_CHILD, [str(index_dir), str(REPO_ROOT / "seeds"), str(qa), str(n)], tree_env(tree), work)
        out[name] = res
    for phase, label in (("first", "passages seen for the first time"), ("again", "passages seen before")):
        before, after = out["before"][phase], out["after"][phase]
        b, a = pct(before["run"]), pct(after["run"])
        eb, ea = pct(before["alone"]), pct(after["alone"])
        t.row(f"Bot.run new question p50, {label}", f"{b[0] * 1000:.0f} ms", f"{a[0] * 1000:.0f} ms", b[0] / a[0])
        t.row(f"Bot.run new question p95, {label}", f"{b[1] * 1000:.0f} ms", f"{a[1] * 1000:.0f} ms", b[1] / a[1])
        t.row("  question embedding alone p50 / p95", f"{eb[0] * 1000:.0f}/{eb[1] * 1000:.0f} ms", f"{ea[0] * 1000:.0f}/{ea[1] * 1000:.0f} ms")
        per_q = np.asarray(after["run"]) / np.asarray(after["alone"])
        t.row("  after: Bot.run / embedding alone: median per question; p50/p50", "", f"{np.median(per_q):.1f}x; {a[0] / ea[0]:.1f}x")
    t.data["sections"]["seeds"] = out
    t.others("seeds")
    return indexes


def section_ask(t: Table, baseline: Path, work: Path, indexes: dict[str, Path], runs: int = 3) -> None:
    t.section("ask: bot ask (seeds), whole process")
    walls: dict[str, list[float]] = {"before": [], "after": []}
    rss: dict[str, float] = {"before": 0.0, "after": 0.0}
    for _ in range(runs):
        for name, tree in (("before", baseline), ("after", None)):
            wall, peak, out, err, rc = timed_child(
                [sys.executable, "-m", "bot.cli", "ask", GENEVA], tree_env(tree, BOT_INDEX_DIR=str(indexes[name])), work
            )
            if rc != 0:
                raise RuntimeError(f"bot ask failed: {err[-2000:]}")
            walls[name].append(wall)
            rss[name] = max(rss[name], peak)
    b, a = statistics.median(walls["before"]), statistics.median(walls["after"])
    t.row(f"`bot ask`, median of {runs}", f"{b:.2f} s", f"{a:.2f} s", b / a)
    t.row("`bot ask` peak RSS", f"{rss['before']:.0f} MB", f"{rss['after']:.0f} MB")
    t.data["sections"]["ask"] = {"before_s": walls["before"], "after_s": walls["after"], "rss_mb": rss}
    t.others("ask")


def wait_quiet(limit_s: float, quiet_cpus: float = 0.15) -> float:
    """Wait (at most limit_s) until other processes use under quiet_cpus CPUs; returns seconds waited."""
    started = time.monotonic()
    while limit_s > 0 and time.monotonic() - started < limit_s:
        meter = CpuMeter()
        time.sleep(2)
        busy = meter.others()
        if busy is None or busy <= quiet_cpus:
            break
        time.sleep(3)
    return time.monotonic() - started


# (name, baseline's code?, BOT_INGEST_WORKERS, extra environment)
INGEST_RUNS = (
    ("before, 1 worker", True, "1", {}),
    ("before, 2 workers", True, "2", {}),
    ("after, 1 worker", False, "1", {}),
    ("after, 2 workers", False, "2", {}),
    ("after, 2 workers, no topic vectors", False, "2", {"BOT_INGEST_TOPICS": "0"}),
)


def section_ingest(t: Table, baseline: Path, work: Path, n_articles: int, repeats: int = 1, quiet_s: float = 0) -> None:
    """Cold ingests, before and after, with 1 and with 2 workers, alternating; the median of `repeats`.

    Wall time is what a user waits, and other work on 2 shared cores moves it a lot; the CPU
    seconds of the ingest process and its workers per chunk hardly move, and say how much
    encoding work a chunk costs (what the speed work can remove).
    """
    from bench.corpus import write_corpus

    t.section(f"ingest: cold, {n_articles} synthetic articles, 1 and 2 workers, median of {repeats}")
    corpus = work / "corpus"
    if not corpus.exists():
        write_corpus(corpus, n_articles)
    runs: dict[str, list[dict]] = {name: [] for name, *_ in INGEST_RUNS}
    for _ in range(repeats):
        for name, before, workers, extra in INGEST_RUNS:
            index_dir = work / f"ingest-{name.replace(' ', '').replace(',', '-')}"
            shutil.rmtree(index_dir, ignore_errors=True)
            waited = wait_quiet(quiet_s)
            meter = CpuMeter()
            res, wall, rss = run_json(
                INGEST_CHILD, [str(corpus), str(index_dir)],
                tree_env(baseline if before else None, BOT_INGEST_WORKERS=workers, **extra), work,
            )
            res.update(wall_s=wall, others_cpus=meter.others(), waited_s=waited)
            runs[name].append(res)
            shutil.rmtree(index_dir, ignore_errors=True)
    out: dict = {}
    for name, results in runs.items():
        r = dict(sorted(results, key=lambda x: x["ingest_s"])[len(results) // 2])  # the median run
        r["ingest_s_all"] = [x["ingest_s"] for x in results]
        r["cpu_s_per_chunk"] = (r["cpu_main_s"] + r["cpu_workers_s"]) / max(r["embedded"], 1)
        out[name] = r

    def rate(r: dict) -> float:
        return r["embedded"] / r["ingest_s"]

    for w in ("1 worker", "2 workers"):
        b, a = out[f"before, {w}"], out[f"after, {w}"]
        t.row(f"chunks/s, {w}", f"{rate(b):.1f}", f"{rate(a):.1f}", rate(a) / rate(b))
    for side in ("before", "after"):
        one, two = out[f"{side}, 1 worker"], out[f"{side}, 2 workers"]
        t.row(f"{side}: 2 workers vs 1 worker (chunks/s ratio)", "", f"{rate(two) / rate(one):.2f}x")
    b = out["before, 2 workers"]
    for name in ("after, 2 workers", "after, 2 workers, no topic vectors"):
        a = out[name]
        t.row(f"chunks/s, before -> {name}", f"{rate(b):.1f}", f"{rate(a):.1f}", rate(a) / rate(b))
        t.row(f"CPU s per chunk, all processes: before -> {name}", f"{b['cpu_s_per_chunk']:.3f}",
              f"{a['cpu_s_per_chunk']:.3f}", b["cpu_s_per_chunk"] / a["cpu_s_per_chunk"])
    for name, r in out.items():
        enc = r.get("encoded") or {}
        what = ", ".join(f"{k} {v}" for k, v in enc.items()) or "(not reported)"
        others = f"{r['others_cpus']:.2f}" if r.get("others_cpus") is not None else "?"
        t.row(
            f"{name}: ingest() s / chunks / peak RSS (process; largest worker)",
            "",
            f"{r['ingest_s']:.1f} s / {r['embedded']} / {r['rss_mb']:.0f} MB; {r['largest_child_rss_mb']:.0f} MB",
        )
        t.row("  CPU s main / workers; others' CPUs; encoded", "",
              f"{r['cpu_main_s']:.1f} / {r['cpu_workers_s']:.1f}; {others}; {what}")
    t.data["sections"]["ingest"] = {"runs": runs, "median": out}
    t.others("ingest")


def section_bm25(t: Table, work: Path, size: int) -> None:
    from langchain_core.documents import Document

    from bench.corpus import article_chunks
    from bot.lexical import BM25Index

    t.section(f"bm25: one new article into a {size:,}-chunk BM25 index (in process)")
    docs = [Document(id=i, page_content=text, metadata=meta) for i, text, meta in synthetic_chunks(size)]
    path = work / "bm25-bench.pkl"
    started = time.perf_counter()
    full = BM25Index.build(docs)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    full.save(path)
    save_s = time.perf_counter() - started
    new = article_chunks(5_000_000)
    started = time.perf_counter()
    saved = BM25Index.load(path)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    updated = saved.updated(set(), new)
    update_s = time.perf_counter() - started
    started = time.perf_counter()
    updated.save(path)
    save2_s = time.perf_counter() - started
    before, after = build_s + save_s, load_s + update_s + save2_s
    t.row("BM25 work for one new article (before: build + save)", f"{before:.2f} s", f"{after:.2f} s", before / after)
    t.row("  before: build / save", f"{build_s:.2f} / {save_s:.2f} s", "")
    t.row("  after: load / updated / save", "", f"{load_s:.2f} / {update_s:.3f} / {save2_s:.2f} s")
    t.data["sections"]["bm25"] = {
        "chunks": size, "build_s": build_s, "save_s": save_s, "load_s": load_s, "update_s": update_s,
        "save_after_s": save2_s, "new_chunks": len(new), "pickle_mb": path.stat().st_size / 1e6,
    }
    t.others("bm25")


def section_quality(t: Table, work: Path, index_dir: Path) -> None:
    t.section("quality: bot eval (extractive), stored sentence vectors vs encoded at question time")
    from bot.passage_vectors import FILE_NAME

    out: dict = {}
    copy = work / "seeds-no-vectors"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index_dir, copy)
    for suffix in ("", "-wal", "-shm"):
        (copy / f"{FILE_NAME}{suffix}").unlink(missing_ok=True)
    for name, idx in (("encoded at question time", copy), ("stored at ingest", index_dir)):
        runs = work / f"eval-{name.split()[0]}"
        shutil.rmtree(runs, ignore_errors=True)
        wall, _, _, err, rc = timed_child(
            [sys.executable, "-m", "bot.cli", "eval", "--mode", "extractive", "--out", str(runs)],
            tree_env(None, BOT_INDEX_DIR=str(idx)), REPO_ROOT, timeout=3600,
        )
        if rc != 0:
            raise RuntimeError(f"bot eval failed: {err[-2000:]}")
        results = json.loads((runs / "results.json").read_text(encoding="utf-8"))
        out[name] = {"wall_s": wall, "summary": results.get("summary", results.get("metrics"))}
        # Keep only what the eval gave each question, to compare answers one by one.
        out[name]["answers"] = [
            (r.get("id"), r.get("refused"), json.dumps(r.get("answer"), ensure_ascii=False)[:300],
             json.dumps(r.get("retrieved"), ensure_ascii=False, sort_keys=True))
            for r in results.get("records", results.get("items", []))
        ]
    a, b = out["encoded at question time"], out["stored at ingest"]
    same = sum(x == y for x, y in zip(a["answers"], b["answers"]))
    t.row("questions answered identically", "", f"{same} of {len(a['answers'])}")
    t.row("bot eval wall (process)", f"{a['wall_s']:.1f} s", f"{b['wall_s']:.1f} s", a["wall_s"] / b["wall_s"])
    print("  summary, encoded at question time:", json.dumps(a["summary"], ensure_ascii=False)[:1500])
    print("  summary, stored at ingest:        ", json.dumps(b["summary"], ensure_ascii=False)[:1500])
    t.data["sections"]["quality"] = out
    t.others("quality")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Before -> after figures of the speed work (see the docstring).")
    parser.add_argument("--baseline", type=Path, required=True, help="A copy of the repository before the change.")
    parser.add_argument("--skip", default="", help="Sections to skip: help,seeds,ask,ingest,bm25,quality.")
    parser.add_argument("--articles", type=int, default=200, help="Articles of the cold ingest (default 200).")
    parser.add_argument("--ingest-repeats", type=int, default=1, help="Cold ingests per configuration (median; default 1).")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="Before each cold ingest, wait at most this long for other processes to leave the CPUs "
                        "alone (default 0: never wait).")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--bm25-chunks", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Work folder to keep (default: a temp folder, removed).")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsbot-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    t = Table()
    t.data.update(baseline=str(args.baseline), cpus=os.cpu_count(), loadavg_start=os.getloadavg(), args=vars(args) | {
        "baseline": str(args.baseline), "keep": str(args.keep), "out": str(args.out)})
    try:
        if "help" not in skip:
            section_help(t, args.baseline, work)
        indexes = None
        if not {"seeds", "ask", "quality"} <= skip:
            indexes = section_seeds(t, args.baseline, work, args.questions)
        if "ask" not in skip:
            section_ask(t, args.baseline, work, indexes)
        if "ingest" not in skip:
            section_ingest(t, args.baseline, work, args.articles, args.ingest_repeats, args.wait_quiet)
        if "bm25" not in skip:
            section_bm25(t, work, args.bm25_chunks)
        if "quality" not in skip:
            section_quality(t, work, indexes["after"])
    finally:
        t.data["loadavg_end"] = os.getloadavg()
        args.out.write_text(json.dumps(t.data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"\ncompare: results in {args.out}", flush=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
