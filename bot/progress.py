"""An ingest's progress on stderr: the files with chunks/s and the time left, then the vectors stored after."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from bot.text import printable

if TYPE_CHECKING:
    from bot.ingest import IngestProgress


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class ProgressBars:
    """A callable for `ingest(progress=...)`: one tqdm bar per stage; `close()` at the end."""

    def __init__(self, desc: str = "ingest") -> None:
        self.desc = desc
        self._bar = None
        self._stage = ""

    def __call__(self, p: IngestProgress) -> None:
        from tqdm import tqdm

        if p.stage != self._stage:
            self.close()
            if p.stage == "vectors":
                print(
                    f"The index answers questions now; storing {p.total:,} sentence and topic vectors "
                    "that make answers faster (stopping is safe: the next ingest finishes them).",
                    file=sys.stderr,
                    flush=True,
                )
            unit = "file" if p.stage == "index" else "vector"
            desc = self.desc if p.stage == "index" else "vectors"
            # The time left is the pace so far (IngestProgress.left_s), not tqdm's own guess.
            self._bar = tqdm(total=p.total, unit=unit, desc=desc, file=sys.stderr,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
            self._stage = p.stage
        self._bar.total, self._bar.n = p.total, p.done
        if p.stage == "index":
            text = f"{p.chunks:,} chunks, {p.rate:.1f} chunks/s, {_duration(p.left_s)} left"
            self._bar.set_postfix_str(f"{text}, {printable(p.name[:30])}" if p.name else text, refresh=False)
        else:
            self._bar.set_postfix_str(f"{p.rate:.0f} vectors/s, {_duration(p.left_s)} left, {p.name}", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
