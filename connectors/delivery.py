"""Delivery to Kafka for the runner: one producer thread, sends in order, confirmations
taken in the order items were yielded, backoff while Kafka is away, and messages Kafka
refuses for their size turned into dead letters.

:class:`KafkaDelivery` is the half of :class:`~connectors.runner.Runner` that talks to
the producer; the runner owns the sources, the state and ``_commit``::

    class Runner(KafkaDelivery): ...
    await runner._send(ps, msg)          # queue one message (never raises for Kafka away)
    await runner._settle(ps, block=True) # wait for every confirmation, then commit
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from kafka import KafkaProducer
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)

from connectors.errors import TooLarge
from connectors.passes import PassState, PendingItem, make_producer
from connectors.state import ItemFailure
from pipeline.core import metrics
from pipeline.core.contracts import DeadLetter
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings

log = logging.getLogger("newsflow.connectors")

TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)
DEAD_LETTER_MAX_PAYLOAD = (MAX_MESSAGE_BYTES - 256 * 1024) * 3 // 4
"""The most of an item a dead letter carries: base64 grows it by 4/3, and the letter must
fit in one Kafka message with its JSON envelope and a 2,000-character error."""


class KafkaDelivery:
    """Sending and confirming (the runner's Kafka half; see the module docstring)."""

    settings: Settings
    kafka_backoff_max: float
    in_flight: int
    in_flight_bytes: int
    _producer: KafkaProducer | None
    _kafka: ThreadPoolExecutor
    _kafka_failing: bool
    _unconfirmed: dict[str, tuple[str, int]]

    def _commit(self, ps: PassState, *, force: bool = False,
                final_state: str | None = None) -> None:
        raise NotImplementedError  # the runner records what Kafka confirmed

    def _dead_letter(self, msg: PendingItem, exc: BaseException, raw: bytes, aid: str | None,
                     failure: ItemFailure) -> None:
        letter = DeadLetter.of(stage="connector", exc=exc, payload=raw, article_id=aid,
                               max_payload=DEAD_LETTER_MAX_PAYLOAD)
        msg.letter, msg.failure, msg.status = letter, failure, "error"
        msg.topic, msg.key = self.settings.dead_letter_topic, (aid or failure.item).encode()
        msg.value = letter.to_bytes()

    def _too_large(self, ps: PassState, msg: PendingItem, exc: KafkaError) -> None:
        """Kafka refused a message for its size: an article becomes a bad item (reported
        on the dead-letter topic); a dead letter is cut down to a small payload."""
        if msg.letter is not None:
            kept = msg.letter.payload()[:64 * 1024]
            msg.letter = msg.letter.model_copy(
                update={"payload_b64": base64.b64encode(kept).decode("ascii")})
            msg.value = msg.letter.to_bytes()
            return
        art = msg.article
        assert art is not None and msg.value is not None
        if self._unconfirmed.get(art.canonical_url) == (art.content_hash, art.version):
            del self._unconfirmed[art.canonical_url]
        err = TooLarge(f"article of {len(msg.value):,} bytes refused by Kafka: {exc}",
                       source=ps.name, url=art.url)
        ps.result.errors.append(str(err))
        log.warning("%s", err)
        failure = ps.ledger.failure(art.url, error_type=type(exc).__name__, error=str(err),
                                    transient=False)
        ps.failing.add(art.url)
        prev = ps.ledger.get(art.url)
        msg.article, msg.resolve, msg.status = None, None, "error"
        if prev is None or not prev.final:
            self._dead_letter(msg, err, msg.value, art.id, failure)
        else:
            ps.ledger.record(failure)
            msg.topic = msg.key = msg.value = None



    async def _in_kafka_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._kafka, partial(fn, *args, **kwargs))

    async def _kafka_wait(self, exc: BaseException, delay: float, what: str) -> float:
        """Kafka is away or refusing: log it, wait ``delay``, return the next delay."""
        metrics.BACKPRESSURE.labels("connector").set(1)
        metrics.ERRORS.labels("connector", type(exc).__name__).inc()
        log.warning("Kafka is not taking messages (%s: %s) %s; retrying in %.1f s",
                    type(exc).__name__, exc, what, delay)
        await asyncio.sleep(delay)
        return min(delay * 2, self.kafka_backoff_max)

    async def _ready_producer(self) -> KafkaProducer:
        delay = 0.5
        while self._producer is None:
            try:
                self._producer = await self._in_kafka_thread(make_producer, self.settings)
            except KafkaError as exc:
                delay = await self._kafka_wait(exc, delay, "(connecting)")
        return self._producer

    def _send_now(self, producer: KafkaProducer, msg: PendingItem) -> Any:
        """In the Kafka thread: ``producer.send`` (which blocks while Kafka is away). Once
        a send has failed, the ones queued behind it fail at once instead of each
        blocking; the next attempt after a backoff tries for real again."""
        if self._kafka_failing:
            raise KafkaTimeoutError("not sent: Kafka was not taking messages")
        try:
            return producer.send(msg.topic, key=msg.key, value=msg.value)
        except TOO_LARGE:
            raise
        except KafkaError:
            self._kafka_failing = True
            raise

    async def _send(self, ps: PassState, msg: PendingItem) -> None:
        """Queue ``msg`` for the producer (in the Kafka thread, in order); ``_settle`` takes
        the outcome. Never raises for Kafka being away."""
        if msg.topic is None:
            return
        producer = await self._ready_producer()
        msg.submitted = self._kafka.submit(self._send_now, producer, msg)
        ps.in_flight_bytes += len(msg.value or b"")

    async def _resend(self, ps: PassState, msg: PendingItem, exc: BaseException | None) -> None:
        """``msg`` failed with ``exc``: turn it into a dead letter if Kafka refused its
        size, and send it (again)."""
        ps.in_flight_bytes -= len(msg.value or b"")
        msg.submitted = msg.future = None
        if isinstance(exc, TOO_LARGE):
            self._too_large(ps, msg, exc)
        await self._send(ps, msg)

    @staticmethod
    def _outcome(msg: PendingItem) -> tuple[bool, BaseException | None]:
        """(done, exception) of a message's send: queued, then confirmed by Kafka."""
        if msg.submitted is not None:
            if not msg.submitted.done():
                return False, None
            exc = msg.submitted.exception()
            if exc is not None:
                return True, exc
            msg.future, msg.submitted = msg.submitted.result(), None
        fut = msg.future
        if fut is None or fut.succeeded():
            return True, None
        return (True, fut.exception) if fut.is_done else (False, None)

    async def _settle(self, ps: PassState, *, block: bool) -> None:
        """Take Kafka's confirmations in the order the items were yielded; with ``block``
        wait for all, else only while too many are unconfirmed. Failed sends are sent
        again after a backoff; messages Kafka refuses for their size become dead letters."""
        delay, poll = 0.5, 0.002
        waiting_since = time.monotonic()
        while ps.queue:
            msg = ps.queue[0]
            done, exc = self._outcome(msg)
            if done and exc is None:
                ps.queue.popleft()
                ps.in_flight_bytes -= len(msg.value or b"") if msg.topic is not None else 0
                ps.confirmed.append(msg)
                waiting_since, poll = time.monotonic(), 0.002
                continue
            if done:
                if isinstance(exc, TOO_LARGE):
                    await self._resend(ps, msg, exc)
                    continue
                assert exc is not None
                delay = await self._kafka_wait(
                    exc, delay, f"(source '{ps.name}', {len(ps.queue)} unconfirmed)")
                self._kafka_failing = False  # the next send tries for real
                for m in list(ps.queue):
                    m_done, m_exc = self._outcome(m)
                    if m_done and m_exc is not None:
                        await self._resend(ps, m, m_exc)
                continue
            if not block and len(ps.queue) <= self.in_flight \
                    and ps.in_flight_bytes <= self.in_flight_bytes:
                break
            if time.monotonic() - waiting_since > 30:
                log.warning("source '%s': waiting for Kafka to confirm %d message(s)",
                            ps.name, len(ps.queue))
                metrics.BACKPRESSURE.labels("connector").set(1)
                waiting_since = time.monotonic()
            if ps.confirmed:  # record what is confirmed while waiting for the rest
                self._commit(ps)
            await asyncio.sleep(poll)
            poll = min(poll * 2, 0.05)
        metrics.BACKPRESSURE.labels("connector").set(0)
        self._commit(ps, force=block)
