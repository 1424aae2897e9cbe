"""The runner: schedules sources, dedups, produces to Kafka, keeps health.

    runner = Runner(sources, settings=settings, state=StateStore(path))
    await runner.run(once=True)      # one pass over every source

Producing uses an idempotent kafka-python producer with ``acks=all``. Nothing is
remembered before Kafka confirmed it: an article is marked as sent, a failed item
recorded as reported, and the connector's progress (its state as it stood when it
yielded an item) saved only once Kafka has acknowledged that item and everything the
source yielded before it. So a crash re-sends rather than loses (the article id, from
the canonical URL, makes the re-send harmless downstream), and resumes where Kafka's
confirmations had got to, not at the start of the pass.

While Kafka is away the runner waits, logging, and retries with capped backoff; the
unconfirmed messages are kept and sent again. At most ``in_flight`` messages (and
``in_flight_bytes``) of a pass are unconfirmed at once: a long backfill holds bounded
memory, and the connector is not asked for more while Kafka does not keep up.

A bad item (one the connector could not read, an article too large for Kafka, an item
whose transient failures used up their attempts) is recorded per item
(``StateStore.item_failures``) and reported once to the dead-letter topic as a
``DeadLetter`` of stage "connector"; the source goes on and the pass is not a failure.
An item that failed transiently is recorded with the time of its next attempt, which
the connector gets back from ``context.items.due()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.alarm import note_pass
from connectors.base import Context, item_info, transient, with_source
from connectors.delivery import KafkaDelivery
from connectors.errors import ConnectorError, Skipped
from connectors.http import Fetcher
from connectors.journal import Journal, Op, TrackedDict
from connectors.passes import PassResult, PassState, PendingItem
from connectors.schedule import SeenPolicy, next_interval
from connectors.sources import Source
from connectors.state import Health, ItemLedger, RetryPolicy, StateStore
from pipeline.core import metrics
from pipeline.core.contracts import RawArticle, article_id, canonicalize_url
from pipeline.core.settings import Settings

log = logging.getLogger("newsflow.connectors")

COMMIT_EVERY = 0.5  # seconds between state commits while a pass is running


class Runner(KafkaDelivery):
    """Schedules sources, dedups, keeps health; produces through :class:`KafkaDelivery`."""

    def __init__(self, sources: list[Source], *, settings: Settings, state: StateStore,
                 producer: KafkaProducer | None = None, fetcher: Fetcher | None = None,
                 on_result: Callable[[PassResult], None] | None = None,
                 in_flight: int = 1000, in_flight_bytes: int = 64 * 1024 * 1024,
                 kafka_backoff_max: float = 30.0, seen: SeenPolicy | None = None) -> None:
        self.sources = sources
        self.settings = settings
        self.state = state
        self._producer: KafkaProducer | None = producer  # else made on first use
        self.fetcher = fetcher or Fetcher()
        self.on_result = on_result or (lambda r: None)
        self.in_flight, self.in_flight_bytes = in_flight, in_flight_bytes
        self.kafka_backoff_max = kafka_backoff_max
        # one thread talks to the producer: send() blocks while Kafka is away
        self._kafka = ThreadPoolExecutor(1, thread_name_prefix="newsflow-kafka")
        self._unconfirmed: dict[str, tuple[str, int]] = {}  # canonical url -> (hash, version)
        self._kafka_failing = False
        self.seen_policy = seen or SeenPolicy()
        self._pruned_at = -float("inf")

    @property
    def producer(self) -> KafkaProducer | None:
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(timeout=30)
            except KafkaError as exc:
                log.warning("Kafka did not confirm every message before closing (%s); "
                            "unconfirmed items are sent again by the next run", exc)
            with contextlib.suppress(KafkaError):
                self._producer.close(timeout=5)
        self._kafka.shutdown(wait=False)

    async def run(self, *, once: bool = False) -> list[PassResult]:
        """Poll every enabled source when due; with ``once``, one pass each and return
        their results. Otherwise each source runs in its own task, started when it is
        due: a slow source or a long backfill never delays another, and nothing is kept
        per pass (results go to ``on_result``), so memory stays bounded."""
        if once:
            ready = [s for s in self.sources if self._runnable(s)]
            return list(await asyncio.gather(*(self.run_source(s) for s in ready)))
        tasks = [asyncio.create_task(self._keep_polling(s), name=f"source:{s.spec.name}")
                 for s in self.sources if s.spec.enabled]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return []

    def _runnable(self, source: Source) -> bool:
        return source.spec.enabled and not self.state.health(source.spec.name).disabled

    async def _keep_polling(self, source: Source) -> None:
        """One source's schedule: a pass, then its interval (counted from the pass's
        end); a disabled source is looked at again every second (``--enable``)."""
        while True:
            if not self._runnable(source):
                await asyncio.sleep(1.0)
                continue
            await self.run_source(source)
            await asyncio.sleep(self._interval(source))

    def _interval(self, source: Source) -> float:
        name = source.spec.name
        return next_interval(source.spec.interval,
                             failures=self.state.health(name).consecutive_failures,
                             asked=self.state.conn_state(name).get("min_interval"))

    # ---------------------------------------------------------------- one pass

    async def run_source(self, source: Source) -> PassResult:
        name = source.spec.name
        result = PassResult(name)
        health = self.state.health(name)
        health.connector = source.spec.type
        journal = Journal()
        conn_state = TrackedDict(self.state.conn_state(name), journal)
        ledger = ItemLedger(self.state, name, RetryPolicy(attempts=source.spec.retry_attempts,
                                                          backoff=source.spec.retry_backoff))
        ps = PassState(source, result, ledger, conn_state, {f.item for f in ledger.all()},
                       journal=journal)
        ctx = Context(source=name, fetcher=self.fetcher, state=conn_state, items=ledger)
        try:
            connector = source.cls(source.config, ctx)
            async for item in connector.fetch():
                snapshot = ps.journal.drain()  # the state's changes up to this item
                if isinstance(item, Skipped):  # the source's own filter: not an error
                    result.skipped += 1
                    ps.queue.append(PendingItem(label=item.url or "?", snapshot=snapshot))
                elif isinstance(item, ConnectorError):
                    await self._item_error(ps, item, snapshot)
                elif isinstance(item, RawArticle):
                    result.seen += 1
                    await self._article(ps, item, snapshot)
                else:
                    raise TypeError(f"the connector yielded a {type(item).__name__}, "
                                    "not a RawArticle or ConnectorError")
                await self._settle(ps, block=False)
                if time.monotonic() - ps.yielded_at > 0.02:  # let the other sources run
                    await asyncio.sleep(0)
                    ps.yielded_at = time.monotonic()
            await self._settle(ps, block=True)
            self._commit(ps, final_state=json.dumps(conn_state))
            health.last_success = time.time()
            health.consecutive_failures = 0
        except ConnectorError as exc:
            await self._finish_quietly(ps)
            result.failed = str(with_source(exc, name))
            result.wall(exc)
            self._failure(health, source, result.failed)
        except Exception as exc:
            await self._finish_quietly(ps)
            result.failed = f"source '{name}': {type(exc).__name__}: {exc}"
            log.exception("connector %s crashed", name)
            self._failure(health, source, result.failed)
        health.items_seen += result.seen
        health.items_new += result.new
        health.items_changed += result.changed
        health.item_errors += len(result.errors)
        health.items_dead_lettered += result.dead_lettered
        health.items_skipped += result.skipped
        if result.walls:
            health.walls += result.walls
            health.last_wall, health.last_wall_at = result.last_wall, time.time()
        health.items_retrying = sum(1 for f in ledger.all() if not f.final)
        note_pass(health, new=result.new, interval=source.spec.interval,
                  gaps=source.spec.alarm_gaps, floor=source.spec.alarm_floor)
        self.state.save_health(health)
        metrics.SOURCE_ITEMS.labels(name, "seen").inc(result.seen)
        metrics.SOURCE_ITEMS.labels(name, "new").inc(result.new)
        metrics.SOURCE_ITEMS.labels(name, "dead_lettered").inc(result.dead_lettered)
        metrics.SOURCE_FAILURES.labels(name).set(health.consecutive_failures)
        self._prune_seen()
        self.on_result(result)
        return result

    def _prune_seen(self) -> None:
        policy = self.seen_policy
        if time.monotonic() - self._pruned_at < policy.every:
            return
        self._pruned_at = time.monotonic()
        gone = self.state.prune_seen(max_age=policy.max_age, max_rows=policy.max_rows)
        if gone:
            log.info("forgot %d article(s) sent long ago (seen: max_age %s s, max_rows %s)",
                     gone, policy.max_age, policy.max_rows)

    def _failure(self, health: Health, source: Source, message: str) -> None:
        health.consecutive_failures += 1
        health.last_error, health.last_error_at = message, time.time()
        log.warning("%s (failure %d of %d)", message, health.consecutive_failures,
                    source.spec.max_failures)
        if health.consecutive_failures >= source.spec.max_failures:
            health.disabled = True
            log.error("source '%s' disabled after %d consecutive failures; fix it and run "
                      "`newsflow connect --enable %s`", source.spec.name,
                      health.consecutive_failures, source.spec.name)

    async def _finish_quietly(self, ps: PassState) -> None:
        """After a failed pass: confirm and record what was sent before it failed."""
        try:
            await self._settle(ps, block=True)
            self._commit(ps, force=True)
        except Exception:
            log.exception("source '%s': could not record the items sent before the failure",
                          ps.name)

    # ---------------------------------------------------------------- items

    def _classify(self, art: RawArticle) -> tuple[str, int]:
        known = self._unconfirmed.get(art.canonical_url)  # sent, Kafka has not confirmed
        if known is None:
            return self.state.classify(art.canonical_url, art.content_hash)
        if known[0] == art.content_hash:
            return "unchanged", known[1]
        return "changed", known[1] + 1

    async def _article(self, ps: PassState, art: RawArticle, snapshot: list[Op]) -> None:
        status, version = self._classify(art)
        msg = PendingItem(label=art.url, snapshot=snapshot, status=status)
        if art.url in ps.failing:
            known = ps.ledger.get(art.url)
            if known is not None:
                msg.resolve, msg.resolve_upto = art.url, known.last_at
        if status != "unchanged":
            art = art.model_copy(update={"version": version})
            msg.article = art
            msg.topic, msg.key = self.settings.raw_topic, art.id.encode()
            msg.value = art.to_bytes()
            self._unconfirmed[art.canonical_url] = (art.content_hash, version)
            await self._send(ps, msg)
        ps.queue.append(msg)

    async def _item_error(self, ps: PassState, err: ConnectorError, snapshot: list[Op]
                          ) -> None:
        err = with_source(err, ps.name)
        info = item_info(err)
        key = info.key or err.url or err.reason[:300]
        is_transient = transient(err) if info.transient is None else info.transient
        ps.result.errors.append(str(err))
        ps.result.wall(err)
        log.warning("%s", err)
        failure = ps.ledger.failure(key, error_type=type(err).__name__, error=str(err),
                                    transient=is_transient, payload=info.retry,
                                    retry_after=info.retry_after)
        ps.failing.add(key)
        msg = PendingItem(label=key, snapshot=snapshot, status="error")
        prev = ps.ledger.get(key)
        if failure.final and (prev is None or not prev.final):  # newly final: report it
            raw = info.raw if info.raw is not None else json.dumps(
                {"source": ps.name, "item": key, "url": err.url, "retry": info.retry}).encode()
            aid = article_id(canonicalize_url(err.url)) if err.url and key == err.url \
                else None
            self._dead_letter(msg, err, raw, aid, failure)
            await self._send(ps, msg)
        else:  # a retry scheduled, or one more failure of an item already reported
            ps.ledger.record(failure)
            if not failure.final:
                log.info("source '%s': %s is attempted again after %s (attempt %d of %d)",
                         ps.name, key, time.strftime("%H:%M:%S",
                                                     time.localtime(failure.next_at)),
                         failure.attempts + 1, ps.ledger.policy.attempts)
        ps.queue.append(msg)

    def _commit(self, ps: PassState, *, force: bool = False, final_state: str | None = None
                ) -> None:
        """Record what Kafka confirmed: articles as sent, failures, cleared retries and the
        connector's progress, in one transaction (at most every COMMIT_EVERY s)."""
        if not (force or final_state is not None) \
                and time.monotonic() - ps.last_commit < COMMIT_EVERY:
            return
        done, ps.confirmed = ps.confirmed, []
        changes = [op for m in done for op in m.snapshot]  # the state up to the last one
        with self.state.transaction():
            self.state.mark_sent_many(
                (m.article.canonical_url, m.article.content_hash, m.article.version)
                for m in done if m.article is not None)
            for m in done:
                if m.failure is not None:
                    ps.ledger.record(m.failure)
                if m.resolve is not None:
                    ps.ledger.resolve(m.resolve, upto=m.resolve_upto)
            if final_state is not None:
                self.state.save_conn_state(ps.name, final_state)
            else:
                self.state.log_conn_state(ps.name, changes)
        ps.last_commit = time.monotonic()
        for m in done:
            if m.article is not None:
                art = m.article
                if self._unconfirmed.get(art.canonical_url) == (art.content_hash, art.version):
                    del self._unconfirmed[art.canonical_url]
                if m.status == "new":
                    ps.result.new += 1
                elif m.status == "changed":
                    ps.result.changed += 1
            elif m.failure is not None:
                ps.result.dead_lettered += 1
                metrics.DEAD_LETTERS.labels("connector").inc()
                metrics.ERRORS.labels("connector", m.failure.error_type).inc()
