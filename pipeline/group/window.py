"""The hot window of the quote groups: memory holds the groups touched within the last
``NEWSFLOW_HOT_WINDOW`` of event time; older groups live in the index only, and are
found again through their LSH band keys when a quote matches them.

Event time is the quote's article ``published_at`` (its arrival where missing), and the
window ends at the latest event time seen, so a backfill of last year's archive keeps the
same groups hot as the live stream did. A group's document carries ``bands`` (the band
keys of its indexed windows, keyword terms) and ``last_event``; a batch's quotes look up
cold groups with one terms query on their windows' band keys
(:func:`pipeline.index.quotes_mapping.find_cold`), and the groups found are brought back
into memory before the batch is grouped::

    >>> from pipeline.group.quotes import QuoteGroups
    >>> w = HotWindow(QuoteGroups(), seconds=86400)
    >>> w.touch("g1", 1_000.0); w.touch("g2", 200_000.0)
    >>> w.expired()
    ['g1']
"""

from __future__ import annotations

import base64
import heapq
import struct
import time
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pipeline.core.contracts import Quote
from pipeline.group.bounded import QuoteGroup
from pipeline.group.quotes import Params, QuoteGroups, QuoteKeys, Row, prepare, windows

MAX_TERMS = 2048  # band keys stored per group
MAX_QUERY_TERMS = 512  # band keys one quote looks up with


def event_time(quote: Quote, *, now: float | None = None) -> float:
    """The quote's event time (epoch seconds): its article's publication, else now."""
    when: datetime | None = quote.article.published_at
    return when.timestamp() if when is not None else (time.time() if now is None else now)


class HotWindow:
    """Which groups are hot, and the band keys to store and to look up."""

    def __init__(self, groups: QuoteGroups, *, seconds: float) -> None:
        self.groups = groups
        self.seconds = seconds
        self.high = float("-inf")  # the latest event time seen
        self.last: dict[str, float] = {}  # group id -> latest event time of a report
        self._heap: list[tuple[float, str]] = []
        self._bands: dict[str, tuple[int, list[str], str]] = {}  # id -> _keyed(group)

    def touch(self, group_id: str, when: float) -> None:
        """A report at event time ``when`` joined the group."""
        self.high = max(self.high, when)
        if when > self.last.get(group_id, float("-inf")):
            self.last[group_id] = when
            heapq.heappush(self._heap, (when, group_id))

    def cutoff(self) -> float:
        """Groups last touched before this event time are cold."""
        return self.high - self.seconds if self.seconds > 0 else float("-inf")

    def expired(self) -> list[str]:
        """The hot groups that fell out of the window (to evict once they are written)."""
        cut, out = self.cutoff(), []
        while self._heap and self._heap[0][0] < cut:
            when, gid = heapq.heappop(self._heap)
            if self.last.get(gid) == when:
                del self.last[gid]
                out.append(gid)
        return out

    def oldest(self) -> float | None:
        """The event time of the least recently reported hot group (None: none)::

            >>> w = HotWindow(QuoteGroups(), seconds=86400)
            >>> w.touch("g1", 10.0); w.touch("g2", 20.0); w.touch("g1", 30.0); w.oldest()
            20.0
        """
        while self._heap and self.last.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded by a later report, or forgotten
        return self._heap[0][0] if self._heap else None

    def forget(self, group_id: str) -> None:
        self.last.pop(group_id, None)
        self._bands.pop(group_id, None)

    def _terms(self, wins: list[tuple[str, ...]], limit: int = MAX_TERMS) -> list[str]:
        """The band keys of the windows, in order, at most ``limit`` (only as many windows
        hashed as the limit needs)."""
        out, bands, i = dict[str, None](), self.groups.p.bands, 0
        while i < len(wins) and len(out) < limit:
            n = -(-(limit - len(out)) // bands)
            for hashes in self.groups.bands(wins[i:i + n]):
                for band, h in enumerate(hashes):
                    out[f"{band}:{h}"] = None
                    if len(out) >= limit:
                        return list(out)
            i += n
        return list(out)

    def _keyed(self, group: QuoteGroup) -> tuple[int, list[str], str]:
        """(variants, band keys, packed LSH rows) of the group, computed again only when
        its variants change (from the LSH's own hashes: no MinHash)."""
        known = self._bands.get(group.id)
        if known is None or known[0] != len(group.variants):
            rows = self.groups.rows(group)
            known = self._bands[group.id] = (len(group.variants), row_terms(rows),
                                             pack_rows(rows, self.groups.p))
        return known

    def band_terms(self, group: QuoteGroup) -> list[str]:
        """The band keys of the group's indexed windows (for its document's ``bands``)."""
        return self._keyed(group)[1]

    def packed_rows(self, group: QuoteGroup) -> str:
        """The group's LSH rows, packed for its document's ``state`` (a takeover indexes
        the group from them, :func:`unpack_rows`)."""
        return self._keyed(group)[2]

    def query_terms(self, quotes: list[Quote],
                    keys: list[QuoteKeys | None] | None = None) -> list[list[str]]:
        """The band keys each quote of a batch looks up cold groups with; ``keys``: the
        quotes' :class:`QuoteKeys` where known (the same terms, no MinHash made)."""
        p, out = self.groups.p, []
        for quote, known in zip(quotes, keys or [None] * len(quotes), strict=True):
            text = prepare(quote.content, p.shingle)
            if not text.length:
                continue
            wins = list(dict.fromkeys(windows(text, p.window, p.query_stride)))
            if known is not None and len(known.bands) == len(wins):
                out.append(row_terms([(0, 0, b) for b in known.bands], MAX_QUERY_TERMS))
            else:
                out.append(self._terms(wins, MAX_QUERY_TERMS))
        return out

    def bring_back(self, docs: Iterable[dict[str, Any]]) -> int:
        """Put cold groups found in the index back into memory (not as changes)."""
        store, n = self.groups.store, 0
        for doc in docs:
            if store.get(doc["group"]) is not None:
                continue
            group = QuoteGroup.from_doc(doc)
            store.adopt(group)  # type: ignore[attr-defined]
            self.groups.index_rows(group, unpack_rows(doc, self.groups.p))
            when = doc.get("last_event")
            self.touch(group.id, epoch(when) if when else self.cutoff())
            n += 1
        return n

    def evict(self, group_ids: Iterable[str]) -> int:
        """Drop written groups from memory (their documents stay the durable state)."""
        store, n = self.groups.store, 0
        for gid in group_ids:
            group = store.get(gid)
            if group is not None:
                self.groups._unindex(group)
                store.evict(gid)  # type: ignore[attr-defined]
                self._bands.pop(gid, None)
                n += 1
        return n


ROWS_VERSION = 1


def rows_fingerprint(p: Params) -> int:
    """A checksum of what a group's stored LSH rows depend on (others are ignored)."""
    from pipeline.group.text import NUM_PERM, SEED

    what = (ROWS_VERSION, p.shingle, p.window, p.stride, p.bands, p.rows, NUM_PERM, SEED)
    return zlib.crc32(repr(what).encode())


def pack_rows(rows: list[Row], p: Params) -> str:
    """A group's LSH rows (:meth:`QuoteGroups.rows`) as one string: the parameters'
    fingerprint, then per row its variant, window and band hashes (int64), base64::

        >>> from pipeline.group.quotes import PARAMS
        >>> rows = [(0, 0, tuple(range(10))), (1, 3, tuple(range(-5, 5)))]
        >>> unpack_rows({"state": {"lsh": pack_rows(rows, PARAMS)}}, PARAMS) == rows
        True
        >>> unpack_rows({"state": {"lsh": "junk"}}, PARAMS) is None
        True
    """
    row = struct.Struct(f"<HI{p.bands}q")
    data = b"".join(row.pack(v, w, *hs) for v, w, hs in rows)
    return base64.b64encode(struct.pack("<I", rows_fingerprint(p)) + data).decode("ascii")


def unpack_rows(doc: dict[str, Any], p: Params) -> list[Row] | None:
    """The LSH rows a group document holds (None: absent, malformed or made with other
    parameters; the group is then indexed from its variants)."""
    packed = (doc.get("state") or {}).get("lsh")
    if not isinstance(packed, str):
        return None
    try:
        data = base64.b64decode(packed, validate=True)
    except ValueError:
        return None
    row = struct.Struct(f"<HI{p.bands}q")
    if len(data) < 4 or (len(data) - 4) % row.size \
            or struct.unpack_from("<I", data)[0] != rows_fingerprint(p):
        return None
    return [(v, w, tuple(hs)) for v, w, *hs in row.iter_unpack(data[4:])]


def row_terms(rows: list[Row], limit: int = MAX_TERMS) -> list[str]:
    """The band keys (``band:hash``) of the rows, in order, at most ``limit``."""
    out = dict[str, None]()
    for _, _, hashes in rows:
        for band, h in enumerate(hashes):
            out[f"{band}:{h}"] = None
            if len(out) >= limit:
                return list(out)
    return list(out)


def epoch(value: Any) -> float:
    """Epoch seconds of a stored date (epoch milliseconds or ISO 8601)."""
    if isinstance(value, int | float):
        return float(value) / 1000.0
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
