"""Retrieval tiers: a Chroma collection filled to 1k / 10k / 100k chunks, then every figure that grows with it.

Only the ingestion corpus is embedded for real (a cold ingest runs at ~7
chunks/s on 2 cores). Each tier starts with those real chunks and vectors and
fills up with chunks of further synthetic articles whose vectors are real ones
plus small noise, re-normalised, added straight through `collection.add`: the
latency is real (same dimension, same HNSW index, same BM25 code, realistic
texts), the answers are not. Per tier: the BM25 side (bench/bm25.py),
`open_retriever`, search and `Bot.run` latency (bench/query.py) in process
and against a `chroma run` server, and `bot ask` (bench/startup.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from bench.bm25 import lexical_side
from bench.common import chroma_server, questions, release_embedded_chroma, settings_for
from bench.corpus import synthetic_chunks
from bench.query import e2e, latencies
from bench.report import Report, fmt
from bench.startup import cli_ask

COLLECTION = "bench"
NOISE = 0.03  # per-dimension noise on reused vectors: cosine ~0.9 to the real vector it came from


def real_pool(index_dir: Path) -> dict:
    """The ingested chunks with their real vectors: the seed material of every tier."""
    from bot.embed import make_embeddings
    from bot.store import vector_store

    settings = settings_for(index_dir)
    collection = vector_store(settings, make_embeddings(settings))._collection
    pool: dict = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
    total = collection.count()
    for offset in range(0, total, 2000):
        got = collection.get(include=["documents", "metadatas", "embeddings"], limit=2000, offset=offset)
        for key in pool:
            pool[key].extend(list(got[key]))
    pool["embeddings"] = np.asarray(pool["embeddings"], dtype=np.float32)
    return pool


def build_tier(rep: Report, tier_dir: Path, size: int, pool: dict, rng: np.random.Generator) -> dict:
    """A fresh collection of `size` chunks: the real pool first, then synthetic chunks with perturbed real vectors."""
    from bot.embed import make_embeddings
    from bot.store import vector_store

    shutil.rmtree(tier_dir, ignore_errors=True)  # a kept work folder may hold an older tier
    settings = settings_for(tier_dir, collection=COLLECTION)
    store = vector_store(settings, make_embeddings(settings))
    collection = store._collection
    batch = 5000
    started = time.perf_counter()
    real = min(size, len(pool["ids"]))
    for i in range(0, real, batch):
        j = min(i + batch, real)
        collection.add(
            ids=pool["ids"][i:j], documents=pool["documents"][i:j], metadatas=pool["metadatas"][i:j],
            embeddings=pool["embeddings"][i:j],
        )
    base = pool["embeddings"]
    pending: list[tuple[str, str, dict]] = []

    def flush() -> None:
        vectors = base[rng.integers(0, len(base), len(pending))] + rng.normal(0, NOISE, (len(pending), base.shape[1]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        collection.add(
            ids=[p[0] for p in pending], documents=[p[1] for p in pending], metadatas=[p[2] for p in pending],
            embeddings=vectors.astype(np.float32),
        )
        pending.clear()

    for chunk in synthetic_chunks(size - real):
        pending.append(chunk)
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    add_s = time.perf_counter() - started
    count = collection.count()
    rep.row("chunks: real vectors + reused/perturbed vectors", f"{real:,} + {count - real:,} = {count:,}")
    rep.row("collection.add (texts generated + chunked + added)", f"{add_s:.1f} s ({count / add_s:,.0f} chunks/s)")
    return {"chunks": count, "real": real, "synthetic": count - real, "add_s": add_s}


def bench_tiers(rep: Report, work: Path, sizes: list[int], ingest_index: Path, n_questions: int, cli_runs: int) -> None:
    """The `tiers` section, grown from `ingest_index`: per size, embedded Chroma, then the same index over HTTP."""
    from bot.retrieve import open_retriever

    rep.note(
        "tiers: the first chunks are the embedded corpus (real text, real vectors); the rest are chunks of "
        f"further synthetic articles whose vectors are real ones + N(0, {NOISE}) noise, re-normalised, "
        "added with collection.add. Latency is real; their answers are not."
    )
    pool = real_pool(ingest_index)
    qs = questions(n_questions)
    rng = np.random.default_rng(7)
    rep.data["tiers"] = {}
    for size in sizes:
        tier_dir = work / f"tier-{size}"
        rep.section(f"Retrieval at ~{size:,} chunks ({len(qs)} questions, k=5, fetch 30, query embedding included)")
        tier = build_tier(rep, tier_dir, size, pool, rng)
        settings = settings_for(tier_dir, collection=COLLECTION)
        tier["lexical"] = lexical_side(rep, settings)
        started = time.perf_counter()
        retriever = open_retriever(settings)
        tier["open_retriever_s"] = time.perf_counter() - started
        rep.row("open_retriever (BM25 pickle present)", f"{tier['open_retriever_s']:.2f} s")
        with rep.measuring(f"tier {size}: embedded latencies"):
            tier["embedded"] = latencies(settings, retriever, qs)
        for mode, p in tier["embedded"].items():
            rep.row("question embedding alone p50 / p95" if mode == "query_embedding" else f"embedded Chroma, {mode:<6} p50 / p95", fmt(p))
        with rep.measuring(f"tier {size}: Bot.run"):
            tier["bot_run"] = e2e(settings, retriever, qs[: max(5, len(qs) // 3)])
        rep.row("Bot.run extractive, new question p50 / p95", fmt(tier["bot_run"]["new_question"]))
        del retriever
        release_embedded_chroma()

        with chroma_server(tier_dir / "chroma") as (port, _):
            server = settings_for(tier_dir, collection=COLLECTION, chroma_host="127.0.0.1", chroma_port=port)
            started = time.perf_counter()
            retriever = open_retriever(server)
            tier["server_open_retriever_s"] = time.perf_counter() - started
            from bot.store import all_chunks

            started = time.perf_counter()
            all_chunks(retriever.store)
            tier["server_all_chunks_s"] = time.perf_counter() - started
            rep.row("server: open_retriever / all_chunks over HTTP", f"{tier['server_open_retriever_s']:.2f} s / {tier['server_all_chunks_s']:.2f} s")
            with rep.measuring(f"tier {size}: server latencies"):
                tier["server"] = latencies(server, retriever, qs)
            for mode, p in tier["server"].items():
                if mode != "query_embedding":
                    rep.row(f"Chroma server (loopback), {mode:<6} p50 / p95", fmt(p))
            del retriever
        with rep.measuring(f"tier {size}: bot ask"):
            tier["cli_ask"] = cli_ask(tier_dir, COLLECTION, cli_runs, work)
        rep.row(
            f"`bot ask` cold start, whole process (median of {cli_runs})",
            f"{tier['cli_ask']['wall_s']:.2f} s, peak RSS {tier['cli_ask']['peak_rss_mb']:.0f} MB",
        )
        rep.data["tiers"][str(size)] = tier
