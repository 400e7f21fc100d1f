"""CLI start-up: `bot ask` as a whole new process, the end-to-end latency a CLI user sees.

Python start, imports, model load, opening the index and the BM25 pickle, one
extractive answer; the median of a few runs, with the peak RSS.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bench.common import GENEVA, child_env, timed_child


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
