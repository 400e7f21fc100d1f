"""CLI start-up: `bot ask` as a whole new process, the end-to-end latency a CLI user sees.

`cli_ask`: Python start, imports, model load, opening the index and the BM25
pickle, one extractive answer; the median of a few runs, with the peak RSS.

`cli_paths`: `bot ask` answered in its own process (`--no-server`) and through
a running `bot serve` over the same index (bot/remote.py), beside `bot --help`,
the three alternated in each round so that a disturbance hits them alike; the
medians, and each as a ratio to `bot --help` (the ratios travel between
machines better than the seconds). Also `python -m bench.startup INDEX_DIR`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.common import GENEVA, child_env, free_port, stop_process, timed_child

SERVE_START_TIMEOUT_S = 180
CLI_PATH_ROUNDS = 5  # rounds of `cli_paths`, in --quick too (about 25 s with the server's start)


def cli_ask(index_dir: Path, collection: str, runs: int, cwd: Path) -> dict:
    """`bot ask GENEVA` on `index_dir`, `runs` times in fresh processes: median wall, peak RSS, the answer's start."""
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


def _bot_command() -> list[str]:
    """`bot` as a user runs it: the console script beside this interpreter (python -m bot.cli without one)."""
    script = Path(sys.executable).parent / "bot"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot.cli"]


@contextlib.contextmanager
def bot_serve(env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """`bot serve` on BOT_SERVE_PORT of `env`, until it says which index it serves; stopped by its PID at the end."""
    import httpx

    port = env["BOT_SERVE_PORT"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*_bot_command(), "serve"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bot serve exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/newsbot/identity", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"bot serve did not answer within {SERVE_START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield proc
    finally:
        stop_process(proc)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """One whole process, timed from the outside (no wrapper: the figures are compared with `bot --help`)."""
    started = time.perf_counter()
    out = subprocess.run([*_bot_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"bot {' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}")
    return wall, out


def cli_paths(index_dir: Path, collection: str, runs: int, cwd: Path) -> dict:
    """`bot --help`, `bot ask --no-server GENEVA` and `bot ask GENEVA` with `bot serve` up on the same index,
    alternated in each of `runs` rounds: medians in seconds, ratios to `bot --help`, whether both paths
    printed the same, and that the server path really was the server's."""
    env = child_env(BOT_INDEX_DIR=str(index_dir), BOT_COLLECTION=collection, BOT_AUTODETECT="0",
                    BOT_SERVE_PORT=str(free_port()))
    kinds = {"help": ["--help"], "in_process": ["ask", "--no-server", GENEVA], "server": ["ask", GENEVA]}
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    with bot_serve(env, cwd, Path(cwd) / "bot-serve.log"):
        _, checked = _run(["ask", "--json", GENEVA], env, cwd)  # also the server's first question (model warm)
        if json.loads(checked.stdout).get("answered_in") != "server":
            raise RuntimeError("bot ask did not answer through the running bot serve")
        printed = {}
        for _ in range(runs):
            for kind, args in kinds.items():
                wall, out = _run(args, env, cwd)
                walls[kind].append(wall)
                printed[kind] = out.stdout
    medians = {kind: float(np.median(w)) for kind, w in walls.items()}
    return {
        "runs": runs,
        "median_s": medians,
        "ratio_to_help": {kind: medians[kind] / medians["help"] for kind in ("in_process", "server")},
        "walls_s": walls,
        "same_answer": printed["in_process"] == printed["server"],
        "answer": printed["server"].splitlines()[0][:100],
    }


def report_paths(rep, result: dict) -> None:
    """The rows of `cli_paths` in a bench.report.Report."""
    m, r, n = result["median_s"], result["ratio_to_help"], result["runs"]
    rep.row(f"`bot --help`, whole process (median of {n}, alternated)", f"{m['help']:.2f} s")
    rep.row("`bot ask` in process (--no-server), whole process", f"{m['in_process']:.2f} s = {r['in_process']:.1f}x --help")
    rep.row("`bot ask` through a running `bot serve`, whole process", f"{m['server']:.2f} s = {r['server']:.1f}x --help")
    rep.row("  the same answer printed both ways", "yes" if result["same_answer"] else "NO")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="`bot ask` in process and through `bot serve`, beside `bot --help`.")
    parser.add_argument("index_dir", type=Path, help="An index folder (BOT_INDEX_DIR), e.g. .bot after `make index`.")
    parser.add_argument("--collection", default="news")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    import tempfile

    from bench.report import Report

    rep = Report()
    rep.section("bot ask as a whole process")
    with tempfile.TemporaryDirectory() as work, rep.measuring("bot ask paths"):
        result = cli_paths(args.index_dir.absolute(), args.collection, args.runs, Path(work))
    report_paths(rep, result)
    rep.end_section()
    print(json.dumps({**result, "others_cpus": rep.data["others_cpus"], "notes": rep.data["notes"]}, indent=2))
    return 0 if result["same_answer"] else 1


if __name__ == "__main__":
    sys.exit(main())
