"""The story index's memory is a window of event time; older articles stay durable and
are still found: a copy 30 days after its original joins its story, a backfill of an old
archive groups as the live stream did, the offline twin runs the same bounded state."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.contracts import EnrichedArticle
from pipeline.group.copies import Body, StoryIndex
from pipeline.group.durable import SqliteState
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE
from tests.unit.test_copies import combined, truncated

DAY = 86400.0
START = datetime(2025, 3, 1, tzinfo=UTC)


def filler(i: int) -> str:
    rng = random.Random(i)
    words = [f"w{rng.randrange(10**6)}" for _ in range(120)]
    return " ".join(words[:60]) + ".\n\n" + " ".join(words[60:]) + "."


def at(day: float) -> datetime:
    return START + timedelta(days=day)


def placed(index: StoryIndex, store: SqliteState | None, body: Body
           ) -> tuple[str, str | None, float | None]:
    got = index.assign(body)
    if store is not None and body.id in index:
        store.write([index.record(body.id)])
    return got


def test_articles_older_than_the_window_are_evicted_by_event_time() -> None:
    index = StoryIndex(window=7 * DAY)
    for day in range(40):
        index.assign(Body(f"f{day}", filler(day), published_at=at(day)))
    assert 7 <= len(index) <= 9  # the window and at most one segment of slack
    oldest = index.hot.oldest()
    assert oldest is not None and oldest >= at(39).timestamp() - 7 * DAY - DAY
    assert "f0" not in index and "f39" in index
    # arrival order is not event order: an old article arriving late is not kept
    index.assign(Body("late", filler(99), published_at=at(1)))
    assert "late" not in index


def test_a_copy_30_days_after_its_original_joins_its_story() -> None:
    store = SqliteState()
    index = StoryIndex(window=7 * DAY, durable=store)
    placed(index, store, Body("wire", WIRE, published_at=at(0)))
    for day in range(1, 30):
        placed(index, store, Body(f"f{day}", filler(day), published_at=at(day)))
    assert "wire" not in index  # out of the window, in the durable state
    assert placed(index, store, Body("copy", combined(WIRE), published_at=at(30)))[:2] \
        == ("wire", "wire")
    assert index.cold_hits == 1
    assert placed(index, store, Body("other", SAME_TOPIC, published_at=at(30)))[:2] \
        == ("other", None)
    # without the durable state the window alone misses it
    alone = StoryIndex(window=7 * DAY)
    for b in [Body("wire", WIRE, published_at=at(0)),
              *(Body(f"f{d}", filler(d), published_at=at(d)) for d in range(1, 30))]:
        alone.assign(b)
    assert alone.assign(Body("copy", combined(WIRE), published_at=at(30)))[1] is None


def test_a_replay_of_an_evicted_article_gets_its_stored_assignment() -> None:
    store = SqliteState()
    index = StoryIndex(window=7 * DAY, durable=store)
    placed(index, store, Body("wire", WIRE, published_at=at(0)))
    placed(index, store, Body("copy", truncated(WIRE), published_at=at(0.5)))
    for day in range(1, 20):
        placed(index, store, Body(f"f{day}", filler(day), published_at=at(day)))
    assert index.assign(Body("copy", truncated(WIRE), published_at=at(0.5)))[:2] \
        == ("wire", "wire")


def archive() -> list[Body]:
    """Two months of an archive: a story a day, two wire stories and their copies days
    and weeks later."""
    bodies: list[Body] = []
    for day in range(60):
        bodies.append(Body(f"f{day}", filler(day), published_at=at(day)))
        if day in (3, 20):
            bodies.append(Body(f"wire{day}", WIRE if day == 3 else FOLLOW_UP,
                               published_at=at(day)))
        if day in (5, 33, 50):
            bodies.append(Body(f"copy{day}", combined(WIRE), published_at=at(day)))
        if day in (21, 45):
            bodies.append(Body(f"fcopy{day}", truncated(FOLLOW_UP), published_at=at(day)))
    return bodies


def test_a_backfill_of_an_old_archive_groups_as_the_live_stream_did() -> None:
    bodies = archive()
    live = StoryIndex()  # everything in memory
    expected = [live.assign(b) for b in bodies]
    store = SqliteState()
    bounded = StoryIndex(window=7 * DAY, durable=store)
    got = [placed(bounded, store, b) for b in bodies]
    assert got == expected
    assert len(bounded) < len(live) / 4
    assert {s for s, _, _ in got if s.startswith("wire")} == {"wire3", "wire20"}


def test_a_staged_batch_is_kept_only_on_commit() -> None:
    index = StoryIndex(window=7 * DAY)
    index.assign(Body("a", WIRE, published_at=at(0)))
    index.begin()
    assert index.assign(Body("b", combined(WIRE), published_at=at(0)))[1] == "a"
    assert index.assign(Body("c", truncated(WIRE), published_at=at(0)))[1] in {"a", "b"}
    index.rollback()
    assert "b" not in index and len(index) == 1 and index.next_seq == 1
    index.begin()
    index.assign(Body("b", combined(WIRE), published_at=at(0)))
    index.commit()
    assert "b" in index and index.next_seq == 2


def test_the_offline_twin_finds_a_copy_after_its_window(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def line(aid: str, text: str, day: float) -> str:
        return EnrichedArticle(id=aid, text=text, published_at=at(day)).model_dump_json()

    lines = [line("wire", WIRE, 0), *(line(f"f{d}", filler(d), d) for d in range(1, 30)),
             line("copy", combined(WIRE), 30)]
    out = CliRunner().invoke(app, ["group", "--hot-window", "7d",
                                   "--state", str(tmp_path / "stories.db")],
                             input="\n".join(lines) + "\n")
    assert out.exit_code == 0, out.output
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert rows[-1]["story"] == "wire" and rows[-1]["copy_of"] == "wire"
    bad = CliRunner().invoke(app, ["group", "--hot-window", "soon"], input="")
    assert bad.exit_code == 2 and "no duration" in bad.output


def test_the_offline_twin_prunes_the_durable_state_by_retention(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pipeline.group.durable as durable

    monkeypatch.setattr(durable, "PRUNE_EVERY", 5)
    lines = [EnrichedArticle(id=f"f{d}", text=filler(d), published_at=at(d)).model_dump_json()
             for d in range(20)]
    db = tmp_path / "stories.db"

    def run(*options: str) -> int:
        out = CliRunner().invoke(app, ["group", "--hot-window", "2d", "--state", str(db),
                                       *options], input="\n".join(lines) + "\n")
        assert out.exit_code == 0, out.output
        return len(SqliteState(str(db)))

    assert run("--retention", "off") == 20
    db.unlink()
    assert run("--retention", "3d") == 4  # the last pass, at day 19, keeps days 16 to 19
    bad = CliRunner().invoke(app, ["group", "--retention", "soon"], input="")
    assert bad.exit_code == 2 and "--retention" in bad.output
