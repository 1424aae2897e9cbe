"""Batch handling shared by the agents: decode, enrich, index, dead-letter, retry, ack.

Offsets are acknowledged by hand (``noack_take``) after a batch's writes. Failures are
told apart by cause, as Kafka Connect's ``errors.tolerance``/``errors.retry.timeout`` do:

* transient (:func:`transient`: Kafka or Elasticsearch away, overloaded or blocking
  writes): the batch waits with capped backoff and is retried, offsets kept, for as long
  as it takes;
* permanent for one message (unparseable, too big to enrich, output too large, rejected
  by Elasticsearch): the message is dead-lettered once, with a payload that always fits,
  and the batch goes on;
* anything else (an unexplained error): the batch is retried ``Settings.batch_retries``
  times, then each unfinished message alone as often, and a message that still fails is
  dead-lettered with that error.

A batch remembers which of its messages are finished (output delivered or dead-lettered),
so a retry redoes only the others and poison is dead-lettered once, not once per retry.
What one article may cost is bounded by :class:`~pipeline.core.settings.Settings`
(``max_article_chars``, ``max_enrich_batch_chars``, ``max_entities``, ``max_attributions``,
``max_output_bytes``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import faust
from faust.types import EventT
from prometheus_client import Counter

from pipeline.core import metrics
from pipeline.core.contracts import DeadLetter, DeadLetterStage, EnrichedArticle, RawArticle
from pipeline.core.errors import ContractError, EnrichmentError
from pipeline.core.settings import Settings
from pipeline.index.indexer import Indexer
from pipeline.stream.bounds import (
    CUT,
    HEADROOM,
    SAFE_PAYLOAD,
    Enriches,
    Incoming,
    bounded,
    by_chars,
)
from pipeline.stream.failures import TooLarge, too_large, transient
from pipeline.stream.gaps import Gaps
from pipeline.stream.timing import STAGE, observe, timed
from pipeline.stream.watchdog import Progress

__all__ = ["HEADROOM", "SAFE_PAYLOAD", "Batches", "Enriches", "Incoming", "TooLarge",
           "bounded", "by_chars", "key_of", "partitions", "too_large", "transient"]

log = logging.getLogger("newsflow.worker")
M = TypeVar("M")
Handler = Callable[[list[EventT]], Awaitable[None]]
Key = tuple[str, str, int, int]  # (agent's stage, topic, partition, offset)
# The stage of the agent running in this task: two agents read the enriched topic (index
# and quotes), and one finishing a message must not make the other skip it.
_STAGE = STAGE
SKIPPED = Counter("newsflow_skipped_offsets_total", "Offsets a consumer jumped over", ["stage"])


def partitions(events: Sequence[EventT]) -> list[tuple[str, int]]:
    """The (topic, partition) places of a batch's messages."""
    return sorted({(e.message.topic, e.message.partition) for e in events})


def key_of(event: EventT) -> Key:
    """The message's place, for the agent running in this task (see ``_STAGE``)."""
    msg = event.message
    return (_STAGE.get(), msg.topic, msg.partition, msg.offset)


@dataclass
class Batches:
    """The batch steps of both agents, bound to the output topics."""

    settings: Settings
    enriched: faust.TopicT
    dead_letters: faust.TopicT
    backoff: float = 0.5  # first retry delay, doubled up to 30 s
    progress: Progress | None = None  # told when a batch finishes or waits on a service
    _done: set[Key] = field(default_factory=set, repr=False)
    gaps: Gaps = field(default_factory=Gaps, repr=False)  # reset by the rebalance signals

    def _check_gaps(self, stage: str, batch: Sequence[EventT]) -> None:
        """Log offsets a partition skipped within its current assignment (see ``Gaps``)."""
        for event in batch:
            agent, topic, partition, offset = key_of(event)
            skipped = self.gaps.seen(agent, topic, partition, offset)
            if skipped is not None:
                SKIPPED.labels(stage).inc(skipped[1] - skipped[0] + 1)
                log.error("%s: the consumer skipped offsets %d-%d of %s[%d]", stage,
                          skipped[0], skipped[1], topic, partition)

    def pending(self, events: Sequence[EventT]) -> list[EventT]:
        """The events of a batch whose output is not yet delivered (nor dead-lettered)."""
        return [e for e in events if key_of(e) not in self._done]

    def finish(self, event: EventT) -> None:
        self._done.add(key_of(event))

    async def dead_letter(self, stage: DeadLetterStage, exc: BaseException,
                          event: EventT, article_id: str | None = None) -> None:
        """Send the message to the dead-letter topic (once: it is then finished)."""
        msg = event.message
        payload = msg.value if isinstance(msg.value, bytes) else str(msg.value).encode()
        max_payload = min(self.settings.dead_letter_max_payload, SAFE_PAYLOAD)
        letter = DeadLetter.of(stage=stage, exc=exc, payload=payload, article_id=article_id,
                               topic=msg.topic, partition=msg.partition, offset=msg.offset,
                               max_payload=max_payload)
        key = (article_id or "").encode()[:200] or None
        try:
            await (await self.dead_letters.send(key=key, value=letter.to_bytes()))
        except Exception as send_exc:
            if not too_large(send_exc):
                raise
            letter = letter.model_copy(update={"payload_b64": "", "truncated": True})
            await (await self.dead_letters.send(key=key, value=letter.to_bytes()))
        self.finish(event)
        metrics.DEAD_LETTERS.labels(stage).inc()
        metrics.ERRORS.labels(stage, type(exc).__name__).inc()
        log.warning("dead-lettered %s at %s[%s]@%s: %s", article_id, msg.topic, msg.partition,
                    msg.offset, str(exc)[:500])

    async def until_ready(self, stage: str, step: Callable[[], Awaitable[None]], *,
                          places: Sequence[Any] = ()) -> None:
        """Run an idempotent step (index setup, a last-resort dead letter) until it succeeds.

        Waiting on a service (:func:`transient`) is progress; a step that fails for any
        other reason (a plain index squatting an alias, a mapping that cannot be
        extended) is retried but is not progress, so the watchdog sees the stage stuck.
        ``places``: the topics or partitions the step is for (none: all)."""
        attempt = 0
        while True:
            try:
                await step()
                return
            except Exception as exc:  # noqa: BLE001 - setup waits for the services
                attempt += 1
                await self._wait(stage, exc, attempt, "setup", progress=transient(exc),
                                 places=places)

    async def _wait(self, stage: str, exc: BaseException, attempt: int, what: str, *,
                    progress: bool = True, places: Sequence[Any] = ()) -> None:
        delay = min(self.backoff * 2 ** min(attempt - 1, 16), 30.0)
        if self.progress is not None and progress:
            self.progress.made(*places)  # waiting on a service is not a stall
        metrics.BACKPRESSURE.labels(stage).set(1)
        metrics.ERRORS.labels(stage, type(exc).__name__).inc()
        log.warning("%s %s failed (%s: %s); retrying in %.1fs", stage, what,
                    type(exc).__name__, str(exc)[:500], delay)
        with timed("backoff", stage):
            await asyncio.sleep(delay)

    async def attempts(self, stage: str, run: Callable[[], Awaitable[None]],
                       what: str = "batch", places: Sequence[Any] = ()
                       ) -> BaseException | None:
        """Run until it succeeds (None) or fails ``batch_retries + 1`` times for a reason
        that is not transient (that error). Transient failures are waited out, uncounted."""
        failures = waits = 0
        while True:
            try:
                await run()
                metrics.BACKPRESSURE.labels(stage).set(0)
                return None
            except Exception as exc:  # noqa: BLE001 - sorted below: transient or not
                if transient(exc):
                    waits += 1
                    await self._wait(stage, exc, waits, what, places=places)
                    continue
                failures += 1
                if failures > self.settings.batch_retries:
                    return exc
                await self._wait(stage, exc, failures, what, places=places)

    async def settle(self, stage: DeadLetterStage, events: list[EventT],
                     handler: Handler) -> None:
        """Handle a batch until each of its messages is delivered or dead-lettered."""
        places = partitions(events)
        exc = await self.attempts(stage, lambda: handler(events), places=places)
        if exc is None:
            return
        rest = self.pending(events)
        log.warning("%s batch keeps failing (%s: %s); trying its %d unfinished messages one "
                    "by one", stage, type(exc).__name__, exc, len(rest))
        for event in rest:
            one = [event]
            error = await self.attempts(stage, lambda: handler(one), "message",  # noqa: B023
                                        places)
            if error is not None and key_of(event) not in self._done:
                await self.until_ready(stage, lambda: self.dead_letter(stage, error, event),  # noqa: B023
                                       places=places)

    async def decode(self, events: list[EventT], parse: Callable[[bytes], M]
                     ) -> list[tuple[EventT, M]]:
        """Parse each message with its contract; poison goes to the dead-letter topic."""
        good: list[tuple[EventT, M]] = []
        bad: list[tuple[EventT, ContractError]] = []
        with timed("decode"):
            for event in events:
                try:
                    good.append((event, parse(event.value)))
                except ContractError as exc:
                    bad.append((event, exc))
        for event, error in bad:
            await self.dead_letter("decode", error, event)
        return good

    async def enrich(self, events: list[EventT], enricher: Enriches,
                     parse: Callable[[bytes], Incoming] = RawArticle.from_bytes) -> None:
        """Decode, enrich (in a thread: the event loop keeps heart-beating), produce.

        Articles over ``max_article_chars`` are dead-lettered, not enriched; the others go
        to spaCy in groups of at most ``max_enrich_batch_chars`` characters.
        """
        events = self.pending(events)
        metrics.MESSAGES_IN.labels("enrich").inc(len(events))
        fit: list[tuple[EventT, Incoming]] = []
        limit = self.settings.max_article_chars
        for event, raw in await self.decode(events, parse):
            if len(raw.text) > limit:
                await self.dead_letter("enrich", TooLarge(
                    f"article {raw.id}: text has {len(raw.text):,} characters, over "
                    f"NEWSFLOW_MAX_ARTICLE_CHARS ({limit:,})"), event, raw.id)
            else:
                fit.append((event, raw))
        loop = asyncio.get_running_loop()
        for group in by_chars(fit, self.settings.max_enrich_batch_chars):
            with timed("work"):
                results = await loop.run_in_executor(None, enricher.enrich,
                                                     [a for _, a in group])
            t0 = time.perf_counter()
            sent = []
            for (event, raw), result in zip(group, results, strict=True):
                if isinstance(result, EnrichmentError):
                    await self.dead_letter("enrich", result, event, raw.id)
                    continue
                try:
                    data, cut = bounded(result, self.settings)
                    fut = await self.enriched.send(key=raw.id.encode(), value=data)
                except Exception as exc:
                    if not too_large(exc):
                        raise
                    await self.dead_letter("enrich", exc, event, raw.id)
                    continue
                for what in cut:
                    CUT.labels(what.split()[0]).inc()
                    log.warning("article %s: cut %s", raw.id, what)
                sent.append((event, raw, fut))
            await self._delivered("enrich", sent)
            observe("produce", time.perf_counter() - t0)

    async def _delivered(self, stage: DeadLetterStage,
                         sent: list[tuple[EventT, Incoming, Awaitable[Any]]]) -> None:
        """Wait for each send; a message the broker refuses for its size is dead-lettered,
        any other failure is raised once all sends are settled (the batch is retried)."""
        failed: BaseException | None = None
        for event, raw, fut in sent:
            try:
                await fut  # delivered to Kafka before the raw offsets are acknowledged
            except Exception as exc:  # noqa: BLE001 - sorted: too large, or raised below
                if too_large(exc):
                    await self.dead_letter(stage, exc, event, raw.id)
                else:
                    failed = failed or exc
                continue
            self.finish(event)
            metrics.MESSAGES_OUT.labels(stage).inc()
        if failed is not None:
            raise failed

    async def index(self, events: list[EventT], indexer: Indexer) -> None:
        """Decode and bulk-index; Elasticsearch rejections go to the dead-letter topic."""
        events = self.pending(events)
        metrics.MESSAGES_IN.labels("index").inc(len(events))
        good = await self.decode(events, EnrichedArticle.from_bytes)
        event_of = {id(art): ev for ev, art in good}
        with timed("write"):
            rejected = await indexer.index([a for _, a in good])
        for art, rejection in rejected:
            await self.dead_letter("index", rejection, event_of[id(art)], art.id)
        for event, _ in good:
            self.finish(event)
        metrics.MESSAGES_OUT.labels("index").inc(len(good) - len(rejected))

    async def consume(self, stage: DeadLetterStage, stream: faust.StreamT, size: int,
                      handler: Handler, *, within: float | None = None) -> None:
        """Batches of ``size`` (or what came within ``within`` s, default
        ``batch_within``), acked after writes.

        ``noack_take``: offsets are acknowledged here, after the batch's writes, and never
        by a cancelled or failed batch (``take()`` would acknowledge those too).
        """
        _STAGE.set(stage)  # this agent's task: its finished messages are its own
        idle = time.perf_counter()
        async for events in stream.noack_take(  # type: ignore[attr-defined]
                size, within=self.settings.batch_within if within is None else within):
            t0 = time.perf_counter()
            observe("wait", t0 - idle, stage)
            batch = list(events)
            self._check_gaps(stage, batch)
            await self.settle(stage, batch, handler)
            for event in batch:
                await stream.ack(event)
            self._done.difference_update(key_of(e) for e in batch)
            if self.progress is not None:
                self.progress.made(*partitions(batch))
            idle = time.perf_counter()
            metrics.BATCH_SECONDS.labels(stage).observe(idle - t0)
            observe("batch", idle - t0, stage)
