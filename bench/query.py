"""Question latency in process: `HybridRetriever.search` per mode, the question's embedding alone, `Bot.run`.

Every timed question is a new one (the embedding cache is cleared first),
after one untimed warm-up; also the `seeds` section, these figures over the
five real seed articles.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import clear_embedding_cache, questions, settings_for
from bench.report import Report, fmt, pct
from bench.startup import CLI_PATH_ROUNDS, cli_ask, cli_paths, report_paths
from bot.settings import REPO_ROOT, Settings

if TYPE_CHECKING:
    from bot.retrieve import HybridRetriever


def latencies(settings: Settings, retriever: HybridRetriever, qs: list[str]) -> dict:
    """p50/p95 of search() per mode, and of the question's embedding alone (inside dense and hybrid)."""
    from bot.embed import make_embeddings

    embeddings = make_embeddings(settings)
    embeddings.embed_query(qs[0])
    times = []
    for q in qs:
        clear_embedding_cache(settings)
        started = time.perf_counter()
        embeddings.embed_query(q)
        times.append((time.perf_counter() - started) * 1000)
    out = {"query_embedding": pct(times)}
    for mode in ("dense", "bm25", "hybrid"):
        retriever.search(qs[0], k=5, kind=mode)  # warm-up: first query loads the HNSW index
        times = []
        for q in qs:
            clear_embedding_cache(settings)
            started = time.perf_counter()
            retriever.search(q, k=5, kind=mode)
            times.append((time.perf_counter() - started) * 1000)
        out[mode] = pct(times)
    return out


def e2e(settings: Settings, retriever: HybridRetriever, qs: list[str]) -> dict:
    """p50/p95 of `Bot.run` (extractive) for a new question and for the same question again (caches warm)."""
    from bot.pipeline import Bot

    bot = Bot(settings, retriever=retriever)
    try:
        bot.run(qs[0])
        cold, warm = [], []
        for q in qs:
            clear_embedding_cache(settings)
            started = time.perf_counter()
            bot.run(q)
            cold.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bot.run(q)
            warm.append((time.perf_counter() - started) * 1000)
    finally:
        bot.close()
    return {"new_question": pct(cold), "repeated_question": pct(warm)}


def _fresh_seeds_dir(work: Path) -> Path:
    """Where the seed articles' index goes, emptied: the local model and the UI answer from it too."""
    index_dir = work / "seeds-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    return index_dir


def bench_seeds(rep: Report, work: Path, n_questions: int, cli_runs: int) -> Path:
    """The `seeds` section: ingest the five seed articles, then `Bot.run` and `bot ask` on them; returns the index."""
    from bot.ingest import ingest
    from bot.retrieve import open_retriever

    index_dir = _fresh_seeds_dir(work)
    settings = settings_for(index_dir)
    rep.section("Answers over the five seed articles (extractive)")
    started = time.perf_counter()
    ingest([REPO_ROOT / "seeds"], settings)
    rep.row("ingest seeds (in-process, model loaded)", f"{time.perf_counter() - started:.1f} s")
    qs = questions(n_questions)
    retriever = open_retriever(settings)
    with rep.measuring("seeds: Bot.run"):
        result = e2e(settings, retriever, qs)
    rep.row(f"Bot.run, new question p50 / p95 ({len(qs)} questions)", fmt(result["new_question"]))
    rep.row("Bot.run, repeated question p50 / p95", fmt(result["repeated_question"]))
    with rep.measuring("seeds: bot ask"):
        result["cli_ask"] = cli_ask(index_dir, "news", cli_runs, work)
    rep.row(
        f"`bot ask` cold start, whole process (median of {cli_runs})",
        f"{result['cli_ask']['wall_s']:.2f} s, peak RSS {result['cli_ask']['peak_rss_mb']:.0f} MB",
    )
    with rep.measuring("seeds: bot ask in process / through bot serve / bot --help"):
        result["cli_paths"] = cli_paths(index_dir, "news", CLI_PATH_ROUNDS, work)
    report_paths(rep, result["cli_paths"])
    rep.data["seeds"] = result
    return index_dir


def seeds_only_index(work: Path) -> Path:
    """The seed articles' index, built without measuring anything."""
    from bot.ingest import ingest

    index_dir = _fresh_seeds_dir(work)
    ingest([REPO_ROOT / "seeds"], settings_for(index_dir))
    return index_dir
