"""robots.txt per site root, kept for a time-to-live (24 h, as the common crawlers do)
and then fetched again.

    >>> import asyncio
    >>> cache = RobotsCache(ttl=3600)
    >>> async def fetch() -> tuple[int, bytes]:
    ...     return 200, b"User-agent: *\\nDisallow: /private/"
    >>> asyncio.run(cache.allows("https://e.org", "https://e.org/private/x", "bot", fetch))
    False
    >>> asyncio.run(cache.allows("https://e.org", "https://e.org/news/1", "bot", fetch))
    True

A robots.txt that cannot be fetched (network error, size, a status of 400 or more)
allows everything until it is fetched again.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Awaitable, Callable

from connectors.errors import ConnectorError

ROBOTS_TTL = 24 * 3600.0
MAX_SITES = 10_000
"""Sites kept at most; the oldest entry goes first beyond it."""

Parser = urllib.robotparser.RobotFileParser


class RobotsCache:
    def __init__(self, *, ttl: float = ROBOTS_TTL, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.ttl, self.clock = ttl, clock
        self._sites: dict[str, tuple[float, Parser | None]] = {}
        self.fetches = 0

    async def allows(self, root: str, url: str, user_agent: str,
                     fetch: Callable[[], Awaitable[tuple[int, bytes]]]) -> bool:
        """May ``user_agent`` fetch ``url``? ``fetch`` gets ``root``'s robots.txt
        (status, body) when it is not known or older than the TTL."""
        known = self._sites.get(root)
        if known is None or self.clock() - known[0] >= self.ttl:
            parser = await self._load(fetch)
            self._sites.pop(root, None)
            if len(self._sites) >= MAX_SITES:
                del self._sites[next(iter(self._sites))]
            known = self._sites[root] = (self.clock(), parser)
        parser = known[1]
        return parser is None or parser.can_fetch(user_agent, url)

    async def _load(self, fetch: Callable[[], Awaitable[tuple[int, bytes]]]) -> Parser | None:
        self.fetches += 1
        try:
            status, body = await fetch()
        except (ConnectorError, TimeoutError):
            return None  # no robots.txt reachable: allowed
        if status >= 400:
            return None
        parser = Parser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        return parser
