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


def worker_command(loglevel: str = "info") -> list[str]:
    """The Faust worker command line. ``--without-web``: the CLI's default would start
    Faust's web server on port 6066 whatever the app says, and a second process would
    fail on the taken port (metrics are served by ``NEWSFLOW_METRICS_PORT`` instead)."""
    return [sys.executable, "-m", "faust", "-A", "pipeline.stream.main", "worker", "-l",
            loglevel, "--without-web"]


def run_workers(settings: Settings, *, processes: int = 1, loglevel: str = "info") -> int:
    """Run until interrupted; returns the first non-zero exit code of a worker, else 0.

    Process *i* gets ``NEWSFLOW_WORKER_INDEX=i`` (its own Faust data directory) and, when
    metrics are on, serves them on ``metrics_port + i``.
    """
    procs: list[subprocess.Popen[bytes]] = []
    base_port = settings.metrics_port
    for i in range(processes):
        env = {**os.environ, "NEWSFLOW_WORKER_INDEX": str(i)}
        if base_port:
            env["NEWSFLOW_METRICS_PORT"] = str(base_port + i)
        procs.append(subprocess.Popen(worker_command(loglevel), env=env))

    def stop(signum: int, frame: FrameType | None) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while any(p.poll() is None for p in procs):
        time.sleep(0.5)
        for p in procs:
            if p.returncode not in (None, 0) and code == 0:
                code = p.returncode
    return code
