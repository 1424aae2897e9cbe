"""Read the dead-letter topic and replay what it holds.

A letter keeps the original message (unless it was truncated: see
:class:`~pipeline.core.contracts.DeadLetter`) and the topic it came from; replaying
produces that message again to that topic (any input topic of this pipeline's stages: raw,
stories, assigned, enriched, quotes), so poison that has since been fixed for (a raised
limit, a corrected contract) is re-ingested. A replayed message carries the header
``newsflow-replay`` (JSON: the letter's place in the dead-letter topic, its stage, its
original place and the time of the replay), and the replay reports where each one went::

    newsflow deadletters list --stage enrich --since 2h
    newsflow deadletters replay --stage enrich --since 2h

    >>> parse_since("90m", now=datetime(2025, 1, 1, 12, 0, tzinfo=UTC)).isoformat()
    '2025-01-01T10:30:00+00:00'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.core.contracts import DeadLetter
from pipeline.core.errors import ConfigError
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``7d`` (ago) or an ISO 8601 time (UTC when it has no zone); a
    duration longer than the calendar goes back to its start.

    >>> parse_since("999999999999d", now=datetime(2025, 1, 1, tzinfo=UTC)).year
    1
    """
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if m:
        try:
            return (now or datetime.now(UTC)) - timedelta(
                **{UNITS[m.group(2)]: int(m.group(1))})
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)
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


@dataclass(frozen=True)
class Replayed:
    """A letter replayed, and where its message now is."""

    stored: Stored
    topic: str
    partition: int
    offset: int

    def record(self) -> dict[str, object]:
        """The JSON record of the replay (also the ``newsflow-replay`` header's content,
        without the destination)."""
        x = self.stored.letter
        return {"dlq_partition": self.stored.partition, "dlq_offset": self.stored.offset,
                "stage": x.stage, "article_id": x.article_id,
                "from": {"topic": x.topic, "partition": x.partition, "offset": x.offset},
                "to": {"topic": self.topic, "partition": self.partition,
                       "offset": self.offset}}


@dataclass
class Replay:
    """What a replay did: letters re-produced, and those skipped with the reason."""

    replayed: list[Replayed] = field(default_factory=list)
    skipped: list[tuple[Stored, str]] = field(default_factory=list)


REPLAY_HEADER = "newsflow-replay"


def header(stored: Stored, *, now: datetime | None = None) -> bytes:
    """The ``newsflow-replay`` header of a replayed message."""
    x = stored.letter
    return json.dumps({"dlq_partition": stored.partition, "dlq_offset": stored.offset,
                       "stage": x.stage, "topic": x.topic, "partition": x.partition,
                       "offset": x.offset,
                       "replayed_at": (now or datetime.now(UTC)).isoformat()}).encode()


def replayable_topics(settings: Settings) -> tuple[str, ...]:
    """The input topics of the stages (where a letter's message can go back to)."""
    return (settings.raw_topic, settings.stories_topic, settings.assigned_topic,
            settings.enriched_topic, settings.quotes_topic)


def why_not(settings: Settings, letter: DeadLetter) -> str | None:
    """Why a letter cannot be replayed, or None when it can."""
    topics = replayable_topics(settings)
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
    sends: list[tuple[Stored, Any]] = []
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
            sends.append((stored, producer.send(
                str(letter.topic), value=letter.payload(),
                key=letter.article_id.encode() if letter.article_id else None,
                headers=[(REPLAY_HEADER, header(stored))])))
        for stored, fut in sends:
            meta = fut.get(timeout=60)  # raises when Kafka did not take it
            result.replayed.append(Replayed(stored, meta.topic, meta.partition, meta.offset))
    finally:
        if producer is not None:
            producer.close()
    return result
