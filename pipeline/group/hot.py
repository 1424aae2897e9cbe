"""The story index's hot window: the entries of recent event time, in time segments.

Entries are kept in segments of ``window / SEGMENTS`` of event time, each with its own
append-only :class:`~pipeline.group.arraylsh.ArrayLSH`. The clock is the latest event time
seen; a segment wholly older than ``clock - window`` is dropped at once (its entries stay
in the durable state, where :class:`~pipeline.group.copies.StoryIndex` looks them up when
the window misses). Without a window nothing is evicted::

    >>> from pipeline.group.signature import Entry
    >>> hot = HotWindow(window=8 * 3600.0)
    >>> def entry(seq, hours):
    ...     return Entry(seq=seq, id=f"a{seq}", story=f"a{seq}", copy_of=None, similarity=None,
    ...                  wire=None, size=1, mod=1, sample_bytes=b"", event=hours * 3600.0)
    >>> for seq, hours in enumerate([0, 1, 5, 10]):
    ...     _ = hot.add(entry(seq, hours))
    >>> hot.evict(), sorted(hot.entries), hot.cut / 3600
    (2, ['a2', 'a3'], 2.0)

Every entry of event time before ``cut`` is out of the window, every one after it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipeline.group.arraylsh import ArrayLSH
from pipeline.group.signature import BANDS, ROWS, Entry, _lean, entry_bytes
from pipeline.group.text import NUM_PERM

SEGMENTS = 8  # a window is kept in this many segments (eviction is one segment at a time)


@dataclass
class Segment:
    """The entries of one span of event time and their LSH."""

    params: tuple[int, int] = (BANDS, ROWS)
    lsh: ArrayLSH = field(init=False)
    seqs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lsh = ArrayLSH(params=self.params, num_perm=NUM_PERM)


class HotWindow:
    """Entries by id and by sequence number, in event-time segments (see module doc)."""

    def __init__(self, *, window: float | None = None,
                 params: tuple[int, int] = (BANDS, ROWS)) -> None:
        self.params = params
        self.window = window if window and window > 0 else None
        self.span = self.window / SEGMENTS if self.window else math.inf
        self.segments: dict[int, Segment] = {}
        self.entries: dict[str, Entry] = {}
        self.by_seq: dict[int, Entry] = {}
        self.clock = -math.inf  # the latest event time seen
        self.cut = -math.inf  # entries before this event time are not kept (evicted)
        self.nbytes = 0  # approximate (signature.entry_bytes of each entry)

    def __len__(self) -> int:
        return len(self.entries)

    def _gen(self, event: float) -> int:
        return 0 if self.window is None else math.floor(event / self.span)

    def skip(self, before: float) -> None:
        """Entries before ``before`` are not kept (a rebuild that loads the window only)."""
        self.cut = max(self.cut, before)

    def start(self, mark: float) -> float:
        """The start of the segment of event time ``mark`` (what a rebuild loads from)."""
        return -math.inf if self.window is None or mark == -math.inf else (
            self._gen(mark) * self.span)

    def watermark(self) -> float:
        """``clock - window``: entries older than this are evicted."""
        return -math.inf if self.window is None else self.clock - self.window

    def hot(self, event: float) -> bool:
        """Would an entry of this event time be kept?"""
        return self.window is None or (self._gen(event) + 1) * self.span > self.watermark()

    def add(self, entry: Entry, *, lsh: bool = True) -> bool:
        """Keep ``entry`` (False, nothing kept: it is older than the window)."""
        self.clock = max(self.clock, entry.event)
        if not self.hot(entry.event):
            self.cut = max(self.cut, (self._gen(entry.event) + 1) * self.span)
            self.evict()
            return False
        gen = self._gen(entry.event)
        seg = self.segments.get(gen)
        if seg is None:
            seg = self.segments[gen] = Segment(self.params)
        seg.seqs.append(entry.seq)
        self.entries[entry.id] = entry
        self.by_seq[entry.seq] = entry
        self.nbytes += entry_bytes(entry)
        if lsh:
            for kind, data in enumerate((entry.whole_bytes, entry.lede_bytes)):
                if data is not None:
                    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
                    seg.lsh.insert(entry.seq << 1 | kind, _lean(values))
        return True

    def bulk(self, entries: list[Entry]) -> int:
        """Add many entries at once (a rebuild): band hashes vectorised per segment."""
        rows: dict[int, tuple[list[int], list[bytes]]] = {}
        kept = 0
        for entry in entries:
            if not self.add(entry, lsh=False):
                continue
            kept += 1
            keys, values = rows.setdefault(self._gen(entry.event), ([], []))
            for kind, data in enumerate((entry.whole_bytes, entry.lede_bytes)):
                if data is not None:
                    keys.append(entry.seq << 1 | kind)
                    values.append(data)
        for gen, (keys, values) in rows.items():
            if keys:
                matrix = np.frombuffer(b"".join(values), dtype="<u4").reshape(len(keys), -1)
                self.segments[gen].lsh.insert_many(np.array(keys, dtype=np.uint32), matrix)
        return kept

    def evict(self) -> int:
        """Drop the segments wholly older than the watermark; how many entries went."""
        mark = self.watermark()
        gone = 0
        for gen in sorted(self.segments):
            if (gen + 1) * self.span > mark:
                break
            self.cut = max(self.cut, (gen + 1) * self.span)
            for seq in self.segments.pop(gen).seqs:
                entry = self.by_seq.pop(seq, None)
                if entry is not None:
                    self.entries.pop(entry.id, None)
                    self.nbytes -= entry_bytes(entry)
                    gone += 1
        return gone

    def query(self, minhash: object) -> set[int]:
        """Sequence numbers of the entries the segments' LSH find near ``minhash``."""
        found: set[int] = set()
        for seg in self.segments.values():
            found.update(key >> 1 for key in seg.lsh.query(minhash))
        return found

    def oldest(self) -> float | None:
        """The oldest event time kept (None when empty)."""
        if not self.segments:
            return None
        seg = self.segments[min(self.segments)]
        return min((self.by_seq[s].event for s in seg.seqs if s in self.by_seq), default=None)

    def lsh_bytes(self) -> int:
        """Bytes of the segments' bucket arrays."""
        return sum(seg.lsh.nbytes() for seg in self.segments.values())
