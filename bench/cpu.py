"""CPU accounting for a timed run: how busy the machine's cores were, and how much of it
the measured processes used (Linux ``/proc``; empty figures elsewhere).

    >>> before = snapshot([])
    >>> used(before, snapshot([]))["cores"] >= 1
    True

A scaling figure only means something when the run had idle cores to scale into: a
1-worker run that already keeps the machine's cores busy cannot run twice as fast with 2.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    ticks = [int(x) for x in first[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / TICK, sum(ticks) / TICK


def _process(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def snapshot(pids: list[int]) -> dict[str, Any]:
    busy, total = _machine()
    return {"at": time.monotonic(), "busy": busy, "total": total,
            "procs": {p: _process(p) for p in pids}}


def used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Cores, cores busy on average, and the measured processes' share, between two
    snapshots."""
    wall = max(after["at"] - before["at"], 1e-9)
    cores = os.cpu_count() or 1
    busy = (after["busy"] - before["busy"]) / wall
    mine = sum(after["procs"].get(p, 0.0) - t for p, t in before["procs"].items()) / wall
    return {"cores": cores, "cores_busy": round(busy, 2), "workers_cores": round(mine, 2),
            "others_cores": round(max(busy - mine, 0.0), 2)}
