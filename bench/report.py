"""The printed table and the JSON of `python -m bench.run`, and how busy other processes kept the machine.

Other work on two shared cores skews every figure, so the report waits for a
quiet machine before each measurement and records how many CPUs the others
used during it (`CpuMeter`, also used by bench/compare.py).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

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
        """Begin a new interval: note the machine's busy ticks and this benchmark's own."""
        self._t = time.monotonic()
        self._busy = _machine_busy_ticks()
        self._ours = _own_tree_ticks() if self._busy is not None else 0

    def others(self) -> float | None:
        """CPUs other processes used since start(), on average; None off Linux."""
        busy = _machine_busy_ticks()
        elapsed = time.monotonic() - self._t
        if busy is None or self._busy is None or elapsed <= 0:
            return None
        return max(0.0, (busy - self._busy - (_own_tree_ticks() - self._ours)) / _HZ / elapsed)


# -- the report -----------------------------------------------------------------------


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
        """Close the previous section, wait for a quiet machine, print the header; section names are the JSON keys."""
        self.end_section()
        waited = self.wait_quiet()
        self.lines.append("")
        header = f"== {title} ==  [load average {os.getloadavg()[0]:.1f}"
        header += f", waited {waited:.0f} s for other jobs]" if waited >= 1 else "]"
        self.lines.append(header)
        print(self.lines[-2] + "\n" + self.lines[-1], flush=True)
        self._section = (title, CpuMeter())

    def end_section(self) -> None:
        """Close the open section with a row of the CPUs other processes used during it."""
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
        """One aligned line of the table, printed at once so a long run shows progress."""
        self.lines.append(f"  {label:<52} {value}")
        print(self.lines[-1], flush=True)

    def note(self, text: str) -> None:
        """A line of the table that is also kept in the JSON's `notes` (skips, failures, disturbed figures)."""
        self.data["notes"].append(text)
        self.lines.append(f"  note: {text}")
        print(self.lines[-1], flush=True)


# -- figures ----------------------------------------------------------------------------


def pct(values: list[float]) -> tuple[float, float]:
    """p50 and p95: the typical case and the slow tail a user notices."""
    arr = np.asarray(values, dtype=float)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def fmt(p: tuple[float, float]) -> str:
    """A (p50, p95) pair in milliseconds, aligned for the table."""
    return f"{p[0]:7.1f} / {p[1]:7.1f} ms"
