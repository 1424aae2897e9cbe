"""Read the dead-letter topic and replay what it holds.

A letter keeps the original message (unless it was truncated: see
:class:`~pipeline.core.contracts.DeadLetter`) and the topic it came from; replaying
produces that message again to that topic (this pipeline's raw or enriched topic), so
poison that has since been fixed for (a raised limit, a corrected contract) is re-ingested::

    newsflow deadletters list --stage enrich --since 2h
    newsflow deadletters replay --stage enrich --since 2h

    >>> parse_since("90m", now=datetime(2025, 1, 1, 12, 0, tzinfo=UTC)).isoformat()
    '2025-01-01T10:30:00+00:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.core.contracts import DeadLetter
from pipeline.core.errors import ConfigError
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``7d`` (ago) or an ISO 8601 time (UTC when it has no zone)."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if m:
        return (now or datetime.now(UTC)) - timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: give a duration (30m, 2h, 7d) or an ISO time"
                          ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """A dead letter and where it is in the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter


def read(settings: Settings, *, stage: str | None = None, since: datetime | None = None,
         timeout_ms: int = 10000) -> list[Stored]:
    """The letters of the dead-letter topic, oldest first, filtered by stage and time."""
    consumer = KafkaConsumer(**settings.kafka_client_config(), enable_auto_commit=False,
                             max_partition_fetch_bytes=2 * MAX_MESSAGE_BYTES,
                             fetch_max_bytes=4 * MAX_MESSAGE_BYTES,
                             client_id="newsflow-deadletters")
    try:
        parts = consumer.partitions_for_topic(settings.dead_letter_topic) or set()
        tps = [TopicPartition(settings.dead_letter_topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Stored] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            batch = consumer.poll(timeout_ms=timeout_ms)
            if not batch:
                break
            for records in batch.values():
                for rec in records:
                    letter = DeadLetter.model_validate_json(rec.value)
                    if (stage is None or letter.stage == stage) and \
                            (since is None or letter.at >= since):
                        out.append(Stored(rec.partition, rec.offset, letter))
        return sorted(out, key=lambda s: (s.letter.at, s.partition, s.offset))
    finally:
        consumer.close()


@dataclass
class Replay:
    """What a replay did: letters re-produced, and those skipped with the reason."""

    replayed: list[Stored] = field(default_factory=list)
    skipped: list[tuple[Stored, str]] = field(default_factory=list)


def why_not(settings: Settings, letter: DeadLetter) -> str | None:
    """Why a letter cannot be replayed, or None when it can."""
    topics = (settings.raw_topic, settings.enriched_topic,
              settings.stories_topic, settings.assigned_topic)  # the story agents' inputs
    if letter.topic not in topics:
        return f"came from {letter.topic or 'no topic'}, not {', '.join(topics)}"
    if not letter.replayable:
        return f"payload truncated ({letter.payload_size:,} bytes originally)"
    return None


def replay(settings: Settings, letters: list[Stored]) -> Replay:
    """Produce each replayable letter's original message to the topic it came from, once
    per original message (letters for the same topic/partition/offset count once)."""
    result = Replay()
    seen: set[tuple[str | None, int | None, int | None, str | None]] = set()
    producer: KafkaProducer | None = None
    sends = []
    try:
        for stored in letters:
            letter = stored.letter
            reason = why_not(settings, letter)
            origin = (letter.topic, letter.partition, letter.offset, letter.payload_sha256)
            if reason is None and origin in seen:
                reason = "the same message was already replayed from an earlier letter"
            if reason is not None:
                result.skipped.append((stored, reason))
                continue
            seen.add(origin)
            if producer is None:
                producer = KafkaProducer(**settings.kafka_client_config(), acks="all",
                                         max_request_size=MAX_MESSAGE_BYTES,
                                         client_id="newsflow-deadletters")
            sends.append(producer.send(str(letter.topic), value=letter.payload(),
                                       key=letter.article_id.encode() if letter.article_id
                                       else None))
            result.replayed.append(stored)
        for fut in sends:
            fut.get(timeout=60)  # raises when Kafka did not take it
    finally:
        if producer is not None:
            producer.close()
    return result
