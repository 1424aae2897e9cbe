"""The stories stage's cost per article, split in-process (``grouping_throughput cost``).

Both ways run the agent's own pieces on the same articles, each with a fresh index and
its own story state in Elasticsearch:

* ``serial_before``: everything in the stories stage (decode, signature and wire,
  lookup, record, state write, the assignment serialized as a whole ``AssignedArticle``);
* ``serial_after``: the signature comes in the funnel's header (only decoded here), the
  assignment splices the raw bytes; ``funnel`` is what the parallel stage now pays.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pipeline.core.contracts import AssignedArticle, RawArticle
from pipeline.core.settings import Settings
from pipeline.group.copies import StoryIndex
from pipeline.group.prepared import Prepared, from_headers
from pipeline.stream.stories import assigned_bytes, header_of
from pipeline.stream.storystate import StoryState


def _timer(totals: dict[str, float]) -> Callable[[str, Callable[[], Any]], Any]:
    def timed(step: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        totals[step] += time.perf_counter() - t0
        return out
    return timed


def _state() -> StoryState:
    prefix = f"cost{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({**os.environ, "NEWSFLOW_TOPIC_PREFIX": prefix,
                                  "NEWSFLOW_INDEX": f"{prefix}-articles"})
    state = StoryState(settings)
    state.ensure()
    return state


def _one_way(values: list[bytes], headers: list[Any] | None, batch: int
             ) -> tuple[dict[str, float], list[Any]]:
    totals: dict[str, float] = defaultdict(float)
    timed = _timer(totals)
    state = _state()
    index = StoryIndex(durable=state)
    placed = []
    try:
        for start in range(0, len(values), batch):
            index.begin()
            records = []
            for i in range(start, min(start + batch, len(values))):
                value = values[i]
                raw = timed("decode", lambda v=value: RawArticle.from_bytes(v))
                if headers is None:
                    prep = timed("signature", lambda r=raw: Prepared.of(r))
                else:
                    prep = timed("header_decode",
                                 lambda h=headers[i], v=value: from_headers(h, v))
                a = timed("lookup_verify", lambda r=raw, p=prep: index.place(r, p))
                records.append(timed("record", lambda r=raw: index.record(r.id)))
                if headers is None:
                    timed("serialize", lambda r=raw, a=a: AssignedArticle(
                        article=r, story=a.story, copy_of=a.copy_of,
                        similarity=a.similarity, wire=a.wire).to_bytes())
                else:
                    timed("serialize", lambda v=value, r=raw, a=a: assigned_bytes(v, r, a))
                placed.append(a)
            timed("state_write", lambda recs=records, o=start: state.write(
                recs, offset=o, clock=index.hot.clock))
            index.commit()
    finally:
        state.drop()
    return totals, placed


def split(arts: list[RawArticle], *, batch: int = 64) -> dict[str, Any]:
    """Milliseconds per article of each step, both ways (see the module doc)."""
    values = [a.to_bytes() for a in arts]
    funnel: dict[str, float] = defaultdict(float)
    timed = _timer(funnel)
    headers = []
    for value in values:
        raw = timed("decode", lambda v=value: RawArticle.from_bytes(v))
        headers.append(timed("signature_and_header", lambda r=raw, v=value: header_of(r, v)))
    before, placed_before = _one_way(values, None, batch)
    after, placed_after = _one_way(values, headers, batch)
    assert placed_before == placed_after, "the header changed an assignment"
    n = len(arts)

    def per(t: dict[str, float]) -> dict[str, float]:
        out = {k: round(1000 * v / n, 4) for k, v in t.items()}
        out["total"] = round(1000 * sum(t.values()) / n, 4)
        return out

    b, a = per(before), per(after)
    return {"articles": n, "batch": batch, "copies": sum(p.copy_of is not None
                                                         for p in placed_before),
            "ms_per_article": {"serial_before": b, "serial_after": a, "funnel": per(funnel)},
            "serial_speedup": round(b["total"] / a["total"], 2),
            "same_assignments": True}
