"""Where a stage's time goes: one histogram, ``newsflow_stage_seconds{stage,step}``.

Steps (wall time of each batch's part, seconds):

* ``wait``: the agent waiting for its next batch (input not there yet, or the batch
  filling up to ``NEWSFLOW_BATCH_WITHIN``);
* ``decode``: parsing messages against their contracts;
* ``work``: the stage's own computation (signatures, story lookup, spaCy, grouping);
* ``write``: durable writes (Elasticsearch);
* ``produce``: serializing and sending outputs until the broker acknowledged them;
* ``backoff``: sleeping before a retry;
* ``batch``: the whole batch, from its arrival to its acknowledgement (the parts above,
  but ``wait``, plus the bookkeeping between them).

::

    with timed("work"):          # the stage is the agent's running this task
        ...
    STAGE_SECONDS.labels("stories", "write").observe(0.012)
    IN_PROGRESS.labels("stories", "write")  # 1 while a batch's durable write is in flight

The stage of the agent running in a task is a context variable set by
:meth:`pipeline.stream.batches.Batches.consume` (two agents read the enriched topic).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import Gauge, Histogram

STAGE: ContextVar[str] = ContextVar("newsflow_stage", default="")
STEPS = ("wait", "decode", "work", "write", "produce", "backoff", "batch")
STAGE_SECONDS = Histogram(
    "newsflow_stage_seconds", "Seconds a stage spends per batch in each step "
    "(wait, decode, work, write, produce, backoff, batch)", ["stage", "step"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
             10, 30))


IN_PROGRESS = Gauge(
    "newsflow_stage_step_in_progress", "Batches of a stage inside a step right now (a "
    "durable write in flight: step write)", ["stage", "step"])


def observe(step: str, seconds: float, stage: str | None = None) -> None:
    """Add ``seconds`` to ``step`` of ``stage`` (default: this task's agent)."""
    STAGE_SECONDS.labels(stage or STAGE.get() or "none", step).observe(seconds)


@contextmanager
def timed(step: str, stage: str | None = None) -> Iterator[None]:
    """Time the block as ``step`` of ``stage`` (default: this task's agent), also when
    it raises."""
    t0 = time.perf_counter()
    gauge = IN_PROGRESS.labels(stage or STAGE.get() or "none", step)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
        observe(step, time.perf_counter() - t0, stage)
