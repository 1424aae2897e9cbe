"""Offsets a consumer jumped over, per agent and partition.

The topics have no transactions and no compaction: within one assignment of a partition,
an offset after ``last + 1`` is a message the agent never saw. Across assignments it is
not: another worker handled the partition in between and committed past what this one
last read. So what was last seen of a partition is forgotten when the partition is
revoked or assigned (Faust's rebalance signals, see :meth:`Gaps.on_rebalance`)::

    >>> gaps = Gaps()
    >>> gaps.seen("index", "t", 0, 4), gaps.seen("index", "t", 0, 7)
    (None, (5, 6))
    >>> gaps.forget([("t", 0)]); gaps.seen("index", "t", 0, 90)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Gaps:
    """The last offset each agent saw of each partition, within the current assignment."""

    _last: dict[tuple[str, str, int], int] = field(default_factory=dict, repr=False)

    def seen(self, agent: str, topic: str, partition: int, offset: int
             ) -> tuple[int, int] | None:
        """Record ``offset``; return the first and last offsets skipped before it, if any."""
        last = self._last.get((agent, topic, partition))
        self._last[(agent, topic, partition)] = offset
        if last is not None and offset > last + 1:
            return last + 1, offset - 1
        return None

    def forget(self, partitions: Iterable[Any]) -> None:
        """Forget what was seen of these partitions (``TP``s or ``(topic, partition)``)."""
        places = {(getattr(tp, "topic", None) or tp[0],
                   tp.partition if hasattr(tp, "partition") else tp[1]) for tp in partitions}
        for key in [k for k in self._last if (k[1], k[2]) in places]:
            del self._last[key]

    def on_rebalance(self, sender: Any, /, *args: Any, signal: Any = None,
                     **kwargs: Any) -> None:
        """Faust signal receiver (``on_partitions_revoked``, ``on_partitions_assigned``)."""
        self.forget(args[0] if args else kwargs.get("assigned") or kwargs.get("revoked") or ())
