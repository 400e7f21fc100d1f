"""The model catalogue (bot/data/models.toml) and the GGUFs already on this machine.

Pulled models live in the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub,
else ~/.cache/huggingface/hub), laid out as huggingface_hub lays it out, so
other tools see them and the bot sees theirs. Nothing here touches the network
or imports huggingface_hub: `BOT_LOCAL_MODEL=NAME` is resolved on every start.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CATALOGUE = Path(__file__).with_name("data") / "models.toml"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    title: str
    repo: str
    file: str
    revision: str = "main"
    size: int | None = None
    sha256: str | None = None
    license: str = ""
    params: str = ""
    ram_gb: float | None = None
    languages: str = ""
    tokens_per_s: float | None = None
    eval: str = ""

    @property
    def pullable(self) -> bool:
        """Only a file whose size and sha256 are known can be downloaded and checked."""
        return bool(self.size and self.sha256)

    @property
    def url(self) -> str:
        """Where to get it by hand (the Hub's download link at the pinned revision)."""
        return f"https://huggingface.co/{self.repo}/resolve/{self.revision}/{self.file}"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, ModelEntry]:
    with CATALOGUE.open("rb") as fh:
        data = tomllib.load(fh)
    fields = set(ModelEntry.__dataclass_fields__)
    return {
        name: ModelEntry(name=name, **{k: v for k, v in spec.items() if k in fields})
        for name, spec in data.get("models", {}).items()
    }


def find(name: str) -> ModelEntry | None:
    return catalogue().get(name.strip().lower())


# -- the Hugging Face cache (the same rules as huggingface_hub.constants, read now) --------


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "huggingface" / "hub"


def repo_folder(repo: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or hf_cache_dir()) / ("models--" + repo.replace("/", "--"))


def snapshot_path(entry: ModelEntry, cache_dir: Path | None = None) -> Path | None:
    """The cached file of this entry at its revision, if huggingface_hub's layout has it."""
    folder = repo_folder(entry.repo, cache_dir)
    commit = entry.revision
    ref = folder / "refs" / entry.revision
    if ref.is_file():
        commit = ref.read_text().strip()
    path = folder / "snapshots" / commit / entry.file
    return path if path.is_file() else None


def pulled_path(name: str, cache_dir: Path | None = None) -> Path | None:
    """The pulled file of catalogue model NAME (complete: its size matches), else None."""
    entry = find(name)
    if entry is None:
        return None
    path = snapshot_path(entry, cache_dir)
    if path is None or (entry.size and path.stat().st_size != entry.size):
        return None
    return path


@dataclass(frozen=True)
class CachedGGUF:
    repo: str
    file: str
    path: Path
    size: int
    catalogue_name: str | None = None


def cached_ggufs(cache_dir: Path | None = None) -> list[CachedGGUF]:
    """Every .gguf in the Hugging Face cache (any tool's), one per blob."""
    root = cache_dir or hf_cache_dir()
    by_file = {(e.repo, e.file): e.name for e in catalogue().values()}
    found: dict[Path, CachedGGUF] = {}
    for folder in sorted(root.glob("models--*")) if root.is_dir() else []:
        repo = folder.name.removeprefix("models--").replace("--", "/", 1)
        for path in sorted((folder / "snapshots").glob("*/**/*.gguf")):
            try:
                blob = path.resolve(strict=True)
                size = blob.stat().st_size
            except OSError:  # a dangling link: the blob was removed
                continue
            file = str(path.relative_to(folder / "snapshots").as_posix()).split("/", 1)[1]
            found.setdefault(blob, CachedGGUF(repo, file, path, size, by_file.get((repo, file))))
    return list(found.values())


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.2f} {unit}"
