"""Start N Faust worker processes of :mod:`pipeline.stream.main` and supervise them.

One process per core is the way to scale on one machine (spaCy holds the GIL);
Kafka spreads the partitions over the processes of the consumer group::

    newsflow worker --processes 2
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from pipeline.core.settings import Settings
from pipeline.stream.watchdog import STALLED


def worker_command(loglevel: str = "info") -> list[str]:
    """The Faust worker command line. ``--without-web``: the CLI's default would start
    Faust's web server on port 6066 whatever the app says, and a second process would
    fail on the taken port (metrics are served by ``NEWSFLOW_METRICS_PORT`` instead)."""
    return [sys.executable, "-m", "faust", "-A", "pipeline.stream.main", "worker", "-l",
            loglevel, "--without-web"]


def run_workers(settings: Settings, *, processes: int = 1, loglevel: str = "info") -> int:
    """Run until interrupted; returns the first non-zero exit code of a worker, else 0.

    Process *i* gets ``NEWSFLOW_WORKER_INDEX=i`` (its own Faust data directory) and, when
    metrics are on, serves them on ``metrics_port + i``. A worker that exits with
    :data:`~pipeline.stream.watchdog.STALLED` (its watchdog found it stuck) is started
    again; any other exit ends the run with that code.
    """
    envs = []
    for i in range(processes):
        env = {**os.environ, "NEWSFLOW_WORKER_INDEX": str(i)}
        if settings.metrics_port:
            env["NEWSFLOW_METRICS_PORT"] = str(settings.metrics_port + i)
        envs.append(env)
    procs = [subprocess.Popen(worker_command(loglevel), env=env) for env in envs]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while True:
        time.sleep(0.5)
        for i, p in enumerate(procs):
            returncode = p.poll()
            if returncode == STALLED and not stopping:
                print(f"newsflow worker {i}: stalled, starting it again", file=sys.stderr)
                procs[i] = subprocess.Popen(worker_command(loglevel), env=envs[i])
            elif returncode not in (None, 0) and code == 0:
                code = returncode
        if all(p.poll() is not None for p in procs):
            return code
