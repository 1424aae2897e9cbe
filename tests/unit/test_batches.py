"""The batch steps of the worker (pipeline.stream.batches) with stand-ins for Kafka.

The topics below refuse messages over 16 MiB as aiokafka's producer does, and can fail a
number of sends as a broker that is away does; the stream hands over fixed batches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from pipeline.core.contracts import DeadLetter, EnrichedArticle, Entity, Provenance, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.stream.batches import Batches

MiB = 1024 * 1024


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass
class Event:
    message: Message

    @property
    def value(self) -> bytes:
        return self.message.value


class Topic:
    """A topic: keeps what was sent; refuses > 16 MiB; fails the first ``fail`` sends."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []
        self.fail = fail

    async def send(self, *, key: bytes | None, value: bytes) -> Awaitable[Any]:
        if len(value) > MAX_MESSAGE_BYTES:
            try:
                raise MessageSizeTooLargeError(f"The message is {len(value)} bytes")
            except MessageSizeTooLargeError as exc:
                raise ProducerSendError(f"Error while sending: {exc!r}") from exc
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail > 0:
            self.fail -= 1
            fut.set_exception(KafkaTimeoutError())
        else:
            self.sent.append((key, value))
            fut.set_result(None)
        return fut

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for _, v in self.sent]


class Stream:
    def __init__(self, batches: list[list[Event]]) -> None:
        self.batches, self.acked = batches, []  # type: list[list[Event]], list[Event]
        self.within: list[float] = []

    async def noack_take(self, size: int, within: float):  # type: ignore[no-untyped-def]
        self.within.append(within)
        for batch in self.batches:
            yield batch

    async def ack(self, event: Event) -> None:
        self.acked.append(event)


class Enricher:
    """Turns a raw article into an enriched one; ``make`` may add entities or raise."""

    def __init__(self, make: Callable[[RawArticle], EnrichedArticle] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.make = make or (lambda raw: EnrichedArticle(id=raw.id, text=raw.text))

    def enrich(self, items: list[RawArticle]) -> list[EnrichedArticle]:
        self.calls.append([raw.id for raw in items])
        return [self.make(raw) for raw in items]


def raw(i: int, text: str = "The minister said the talks had failed.") -> RawArticle:
    return RawArticle.new(url=f"https://unit.example.org/{i}", text=text,
                          provenance=Provenance(connector="test", source="unit"))


def events(values: list[bytes], topic: str = "u.raw.v1") -> list[Event]:
    return [Event(Message(topic, 0, offset, v)) for offset, v in enumerate(values)]


def setup(**env: str) -> tuple[Batches, Topic, Topic]:
    settings = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "u", **env})
    enriched, dead = Topic(), Topic()
    batches = Batches(settings, enriched, dead)  # type: ignore[arg-type]
    batches.backoff = 0.01
    return batches, enriched, dead


def consume(batches: Batches, batch: list[Event], enricher: Enricher, *,
            timeout: float = 20) -> Stream:
    stream = Stream([batch])

    async def run() -> None:
        await asyncio.wait_for(batches.consume(
            "enrich", stream, 32,  # type: ignore[arg-type]
            lambda evs: batches.enrich(evs, enricher)), timeout)  # type: ignore[arg-type]

    asyncio.run(run())
    return stream


def test_oversized_raw_message_is_dead_lettered_once_and_the_partition_goes_on() -> None:
    batches, enriched, dead = setup()
    huge = b"x" * (12 * MiB + 512 * 1024)  # fits the topic; its base64 would not
    good = raw(1)
    batch = events([huge, good.to_bytes()])
    stream = consume(batches, batch, Enricher())
    [letter] = dead.letters()
    assert len(dead.sent[0][1]) <= MAX_MESSAGE_BYTES
    assert letter.stage == "decode" and letter.truncated and not letter.replayable
    assert letter.payload_size == len(huge)
    assert letter.payload_sha256 == hashlib.sha256(huge).hexdigest()
    assert huge.startswith(letter.payload())
    assert (letter.topic, letter.partition, letter.offset) == ("u.raw.v1", 0, 0)
    assert [json.loads(v)["id"] for _, v in enriched.sent] == [good.id]
    assert stream.acked == batch


def test_article_over_max_chars_is_dead_lettered_not_enriched() -> None:
    batches, enriched, dead = setup(NEWSFLOW_MAX_ARTICLE_CHARS="1000")
    long, short = raw(1, "Word and word. " * 100), raw(2)
    enricher = Enricher()
    consume(batches, events([long.to_bytes(), short.to_bytes()]), enricher)
    assert enricher.calls == [[short.id]]
    [letter] = dead.letters()
    assert letter.stage == "enrich" and letter.article_id == long.id
    assert "NEWSFLOW_MAX_ARTICLE_CHARS" in letter.error and letter.replayable
    assert [json.loads(v)["id"] for _, v in enriched.sent] == [short.id]


def test_enrichment_goes_to_spacy_in_groups_bounded_by_characters() -> None:
    batches, enriched, _ = setup(NEWSFLOW_MAX_ENRICH_BATCH_CHARS="2500")
    arts = [raw(i, "Some text here. " * 60) for i in range(5)]  # 960 characters each
    enricher = Enricher()
    consume(batches, events([a.to_bytes() for a in arts]), enricher)
    assert [len(c) for c in enricher.calls] == [2, 2, 1]
    assert len(enriched.sent) == 5


def _explode(raw: RawArticle) -> EnrichedArticle:
    """What a 1 MB article gave: 111k entity mentions, a 16+ MiB message."""
    ents = [Entity(text="Maria Okafor", label="PERSON", start=i, end=i + 12,
                   canonical="Maria Okafor", key="person:maria okafor")
            for i in range(111_000)]
    return EnrichedArticle(id=raw.id, text="x" * 1_000_000, entities=ents)


def test_enriched_message_is_bounded_by_entity_cap_and_size() -> None:
    batches, enriched, dead = setup()
    art = raw(1)
    consume(batches, events([art.to_bytes()]), Enricher(_explode))
    assert dead.sent == []
    [(_, value)] = enriched.sent
    assert len(value) <= batches.settings.max_output_bytes
    out = EnrichedArticle.from_bytes(value)
    assert 0 < len(out.entities) <= batches.settings.max_entities


def test_enriched_message_over_output_bytes_loses_mentions_until_it_fits() -> None:
    batches, enriched, _ = setup(NEWSFLOW_MAX_ENTITIES="200000",
                                 NEWSFLOW_MAX_OUTPUT_BYTES=str(4 * MiB))
    consume(batches, events([raw(1).to_bytes()]), Enricher(_explode))
    [(_, value)] = enriched.sent
    assert len(value) <= 4 * MiB
    assert 1000 < len(EnrichedArticle.from_bytes(value).entities) < 111_000


def test_poison_is_dead_lettered_once_when_the_batch_is_retried() -> None:
    batches, enriched, dead = setup()
    enriched.fail = 3  # the broker is away for three sends: the batch is retried
    good = raw(1)
    stream = consume(batches, events([b"{not json", good.to_bytes()]), Enricher())
    assert len(dead.sent) == 1
    assert [json.loads(v)["id"] for _, v in enriched.sent] == [good.id]
    assert len(stream.acked) == 2


def test_transient_failures_wait_and_never_dead_letter() -> None:
    batches, enriched, dead = setup(NEWSFLOW_BATCH_RETRIES="1")
    enriched.fail = 8
    consume(batches, events([raw(i).to_bytes() for i in range(3)]), Enricher())
    assert dead.sent == []
    assert len(enriched.sent) == 3


def test_unexplained_failure_is_isolated_to_its_message() -> None:
    batches, enriched, dead = setup(NEWSFLOW_BATCH_RETRIES="2")
    arts = [raw(i) for i in range(4)]

    def make(r: RawArticle) -> EnrichedArticle:
        if r.id == arts[2].id:
            raise RuntimeError("spaCy fell over")
        return EnrichedArticle(id=r.id, text=r.text)

    stream = consume(batches, events([a.to_bytes() for a in arts]), Enricher(make))
    [letter] = dead.letters()
    assert letter.stage == "enrich" and letter.error_type == "RuntimeError"
    assert letter.payload() == arts[2].to_bytes() and letter.offset == 2
    assert sorted(json.loads(v)["id"] for _, v in enriched.sent) == \
        sorted(a.id for a in arts if a is not arts[2])
    assert len(stream.acked) == 4


@pytest.mark.parametrize("size", [0, 100, 12 * MiB + 1, 16 * MiB - 1])
def test_dead_letter_always_fits_a_message(size: int) -> None:
    batches, _, dead = setup()
    [event] = events([b"\xff" * size])

    async def run() -> None:
        await batches.dead_letter("decode", ValueError("bad " * 2000), event, "id" * 500)

    asyncio.run(run())
    [(_, value)] = dead.sent
    assert len(value) <= MAX_MESSAGE_BYTES
    letter = DeadLetter.model_validate_json(value)
    assert letter.payload_size == size and letter.replayable == (size <= 8 * MiB)


def test_one_agent_finishing_a_message_does_not_make_another_skip_it() -> None:
    """The index and quotes agents both read the enriched topic: when quotes finished a
    message while index was retrying it (Elasticsearch away), index took it as its own
    and acknowledged it unwritten (25 articles lost in a fault run). Finished messages
    are now kept per agent."""
    import contextvars

    from pipeline.stream.batches import _STAGE

    settings = Settings()
    batches = Batches(settings, Topic(), Topic())  # type: ignore[arg-type]
    event = Event(Message("news.enriched.v1", 1, 427, b"{}"))

    def as_agent(stage: str, step):  # type: ignore[no-untyped-def]
        ctx = contextvars.copy_context()
        return ctx.run(lambda: (_STAGE.set(stage), step())[1])

    as_agent("quotes", lambda: batches.finish(event))  # type: ignore[arg-type]
    assert as_agent("index", lambda: batches.pending([event])) == [event]  # type: ignore[list-item]
    assert as_agent("quotes", lambda: batches.pending([event])) == []  # type: ignore[list-item]


def _skipped(stage: str) -> float:
    from pipeline.stream.batches import SKIPPED

    return SKIPPED.labels(stage)._value.get()  # type: ignore[attr-defined,no-any-return]


def test_offsets_another_worker_handled_are_not_gaps(tmp_path: Any) -> None:
    """A partition that went to another worker and came back continues past what that
    worker committed: no offsets were skipped. Within one assignment a jump still is."""
    from faust.types import TP

    from pipeline.stream.app import create_app

    settings = Settings.from_env({"NEWSFLOW_HOME": str(tmp_path), "NEWSFLOW_TOPIC_PREFIX": "u"})
    pipe = create_app(settings, replication=1)  # no broker to ask in a unit test
    batches = pipe.batches
    before = _skipped("gapunit")
    batches._check_gaps("gapunit", [Event(Message("u.quotes.v1", 0, o, b"")) for o in (0, 1)])
    batches._check_gaps("gapunit", [Event(Message("u.quotes.v1", 0, 5, b""))])
    assert _skipped("gapunit") == before + 3  # 2, 3 and 4 within one assignment

    async def rebalance() -> None:  # the partition moved away, then came back
        await pipe.app.on_partitions_revoked.send({TP("u.quotes.v1", 0)})
        await pipe.app.on_partitions_assigned.send({TP("u.quotes.v1", 0)})

    asyncio.run(rebalance())
    batches._check_gaps("gapunit", [Event(Message("u.quotes.v1", 0, 900, b""))])
    assert _skipped("gapunit") == before + 3


def test_the_worker_shutdown_closes_every_elasticsearch_client(tmp_path: Any) -> None:
    """The indexer's, the story state's (both) and the quote groups' writer and lookups:
    Faust's before-shutdown signal closes them (none is left to the garbage collector)."""
    from pipeline.stream.app import create_app

    settings = Settings.from_env({"NEWSFLOW_HOME": str(tmp_path), "NEWSFLOW_TOPIC_PREFIX": "u"})
    pipe = create_app(settings, replication=1)
    state, group = pipe.closing
    closed: list[str] = []

    async def shutdown() -> None:
        state.writer()
        clients = [pipe.indexer().es, state.client(), state.aes,
                   group.writer().es, group.search_client()]
        for c in clients:
            close = c.close

            def spy(close: Any = close, name: str = type(c).__name__) -> Any:
                closed.append(name)
                return close()
            c.close = spy
        await pipe.app.on_before_shutdown.send()

    asyncio.run(shutdown())
    assert sorted(closed) == ["AsyncElasticsearch"] * 3 + ["Elasticsearch"] * 2
    assert pipe._indexer is None and state.es is None and state.aes is None


def test_a_stage_waits_for_a_partial_batch_as_long_as_its_setting_says() -> None:
    batches, _, _ = setup(NEWSFLOW_BATCH_WITHIN="0.07", NEWSFLOW_QUOTE_BATCH_WITHIN="0.9")
    assert consume(batches, events([raw(1).to_bytes()]), Enricher()).within == [0.07]
    stream = Stream([])

    async def quotes() -> None:
        await batches.consume("quotes", stream, 256, lambda evs: asyncio.sleep(0),  # type: ignore[arg-type]
                              within=batches.settings.quote_batch_within)

    asyncio.run(quotes())
    assert stream.within == [0.9]
    assert Settings().batch_within < Settings().quote_batch_within  # off the article path
