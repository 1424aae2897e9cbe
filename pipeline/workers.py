"""Start N Faust worker processes of :mod:`pipeline.app` and supervise them.

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


def worker_command(loglevel: str = "info") -> list[str]:
    """The Faust worker command line. ``--without-web``: the CLI's default would start
    Faust's web server on port 6066 whatever the app says, and a second process would
    fail on the taken port (metrics are served by ``NEWSFLOW_METRICS_PORT`` instead)."""
    return [sys.executable, "-m", "faust", "-A", "pipeline.app", "worker", "-l", loglevel,
            "--without-web"]


def run_workers(*, processes: int = 1, loglevel: str = "info") -> int:
    """Run until interrupted; returns the first non-zero exit code of a worker, else 0."""
    procs: list[subprocess.Popen[bytes]] = []
    base_port = int(os.environ.get("NEWSFLOW_METRICS_PORT", "0"))
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
