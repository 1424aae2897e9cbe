"""Copy detection (pipeline.group.copies): what a syndicated copy goes through must join its
original's story, in either order; follow-ups and other stories on the topic must not."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from pipeline.group.copies import Body, StoryIndex, comparable
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE

PARAS = WIRE.split("\n\n")
STORY = PARAS[:-1]  # without the credit line
DATELINE = "BUDAPEST (AFP) — "


def _join(paras: list[str]) -> str:
    return "\n\n".join(paras)


def no_dateline(t: str) -> str:
    return t.replace(DATELINE, "", 1)


def other_dateline(t: str) -> str:
    return t.replace(DATELINE, "BUDAPEST, Nov 24 (Reuters) - ", 1)


def no_credit(t: str) -> str:
    return t.replace("\n\n© 2026 AFP", "")


def other_credit(t: str) -> str:
    return no_credit(t) + ("\n\nCopyright 2026 The Riverside Post. All rights reserved. "
                           "This material may not be published, broadcast or redistributed.")


def truncated(t: str) -> str:
    return _join(t.split("\n\n")[:2])


def merged(t: str) -> str:
    p = t.split("\n\n")
    return _join([p[0] + " " + p[1], p[2] + " " + p[3] + " " + p[4], *p[5:]])


def split(t: str) -> str:
    return t.replace(" police said. ", " police said.\n\n").replace("directorate. ",
                                                                    "directorate.\n\n")


def copy_edited(t: str) -> str:
    for a, b in (("fertiliser", "fertilizer"), ("30 percent", "30%"), ("110-metre", "110-meter"),
                 ("shallowest", "most shallow"), ("Tuesday evening", "Tuesday night"),
                 ("Hungary's", "Hungary’s")):
        t = t.replace(a, b)
    return t


def paragraph_removed(t: str) -> str:
    p = t.split("\n\n")
    return _join(p[:4] + p[5:])


def editors_note(t: str) -> str:
    return ("Editor's note: This story was updated with comment from Hungary's water "
            "directorate.\n\n" + t)


def related_links(t: str) -> str:
    p = t.split("\n\n")
    return _join([*p[:3], "Related:", "Hungary declares drought emergency in four counties",
                  "Rhine shipping hit by record low water", *p[3:]])


def combined(t: str) -> str:
    return related_links(copy_edited(truncated(merged(other_dateline(t))) + "\n\n— AFP"))


def combined_long(t: str) -> str:
    return editors_note(split(paragraph_removed(other_credit(copy_edited(no_dateline(t))))))


TRANSFORMS: list[Callable[[str], str]] = [
    no_dateline, other_dateline, no_credit, other_credit, truncated, merged, split,
    copy_edited, paragraph_removed, editors_note, related_links, combined, combined_long]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda f: f.__name__)
def test_a_copy_joins_its_original(transform: Callable[[str], str]) -> None:
    index = StoryIndex()
    assert index.assign(Body("wire", WIRE)) == ("wire", None, None)
    story, copy_of, similarity = index.assign(Body("copy", transform(WIRE)))
    assert (story, copy_of) == ("wire", "wire")
    assert similarity is not None and 0.5 <= similarity <= 1.0


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda f: f.__name__)
def test_the_original_joins_a_copy_that_came_first(transform: Callable[[str], str]) -> None:
    index = StoryIndex()
    index.assign(Body("copy", transform(WIRE)))
    assert index.assign(Body("wire", WIRE))[:2] == ("copy", "copy")


def test_copies_of_copies_share_the_story_and_point_at_the_earliest() -> None:
    index = StoryIndex()
    index.assign(Body("a", WIRE))
    index.assign(Body("b", copy_edited(WIRE)))
    assert index.assign(Body("c", truncated(copy_edited(WIRE))))[:2] == ("a", "a")


@pytest.mark.parametrize("text", [FOLLOW_UP, SAME_TOPIC], ids=["follow-up", "same-topic"])
def test_other_stories_stay_apart(text: str) -> None:
    index = StoryIndex()
    index.assign(Body("wire", WIRE))
    assert index.assign(Body("other", text)) == ("other", None, None)


def test_a_follow_up_that_came_first_stays_apart_too() -> None:
    index = StoryIndex()
    index.assign(Body("follow", FOLLOW_UP))
    assert index.assign(Body("wire", WIRE)) == ("wire", None, None)


def test_a_short_brief_reusing_one_paragraph_is_not_a_copy() -> None:
    brief = _join(["River police said on Thursday that convoys of barges would pass Vac "
                   "overnight, with priority given to ships carrying food and fuel.", PARAS[5]])
    index = StoryIndex()
    index.assign(Body("wire", WIRE))
    assert index.assign(Body("brief", brief))[1] is None


def test_shared_boilerplate_makes_no_copy() -> None:
    footer = ("\n\nRelated:\n\nHungary declares drought emergency\n\nRhine shipping hit by "
              "record low water\n\nCopyright 2026 AFP. All rights reserved.")
    index = StoryIndex()
    index.assign(Body("a", "Hungary's parliament approved the budget on Monday." + footer))
    assert index.assign(Body("b", "Floods closed roads in the south of Austria." + footer)
                        )[1] is None


def test_replays_are_idempotent_and_ids_deterministic() -> None:
    docs = [Body("a", WIRE), Body("b", combined(WIRE)), Body("c", FOLLOW_UP),
            Body("d", SAME_TOPIC), Body("e", truncated(WIRE))]
    first, second = StoryIndex(), StoryIndex()
    out = [first.assign(d) for d in docs]
    assert [first.assign(d) for d in docs] == out  # seen before: the stored assignment
    assert [second.assign(d) for d in docs] == out  # another index, same order: same ids
    assert [s for s, _, _ in out] == ["a", "a", "c", "d", "a"]


def test_restore_rebuilds_the_index_from_records() -> None:
    index = StoryIndex()
    for d in (Body("a", WIRE), Body("c", FOLLOW_UP)):
        index.assign(d)
    rebuilt = StoryIndex()
    assert rebuilt.restore(index.record(i) for i in ("c", "a")) == 2
    assert rebuilt.assign(Body("b", truncated(WIRE))) == index.assign(Body("b", truncated(WIRE)))
    assert rebuilt.next_seq == index.next_seq


def test_the_wire_of_a_copy_without_credit_is_its_originals() -> None:
    index = StoryIndex()
    assert index.place(Body("a", WIRE)).wire == "AFP"
    assert index.place(Body("b", no_credit(no_dateline(WIRE)))).wire == "AFP"
    assert index.place(Body("c", FOLLOW_UP)).wire is None
    assert index.place(Body("d", SAME_TOPIC, authors=["Reuters"])).wire == "Reuters"


def test_empty_and_tiny_texts() -> None:
    index = StoryIndex()
    assert index.assign(Body("a", "")) == ("a", None, None)
    assert index.assign(Body("b", "")) == ("b", None, None)
    assert index.assign(Body("c", "Police said.")) == ("c", None, None)
    assert index.assign(Body("d", "Police said."))[:2] == ("c", "c")


def test_comparable_drops_what_copies_add() -> None:
    text = comparable(related_links(editors_note(other_credit(WIRE))))
    assert text == _join([re.sub(r"^BUDAPEST \(AFP\) — ", "", STORY[0]), *STORY[1:]])


def test_the_demo_samples_make_one_wire_story_in_any_order() -> None:
    from itertools import permutations

    from pipeline.ops.feedserver import load_samples

    samples = load_samples()
    danube = [s for s in samples if s["slug"].startswith("danube-ship-")
              and s["slug"] != "danube-ship-refloated"]
    follow = next(s for s in samples if s["slug"] == "danube-ship-refloated")
    others = [s for s in samples if not s["slug"].startswith("danube-ship-")]
    assert len(danube) == 4 and len({s["publisher"] for s in danube}) == 4
    for order in permutations(danube):
        index = StoryIndex()
        placed = [index.place(Body(s["slug"], s["text"], s["authors"]))
                  for s in [*others, *order, follow]]
        stories = {p.id: p.story for p in placed}
        assert {stories[s["slug"]] for s in danube} == {order[0]["slug"]}
        assert stories[follow["slug"]] == follow["slug"]
        assert not {stories[s["slug"]] for s in others} & {s["slug"] for s in danube}
        assert {p.wire for p in placed if p.id.startswith("danube-ship-")} == {"AFP"}


def test_a_bulk_restore_finds_the_same_candidates_as_inserts() -> None:
    from pipeline.group.copies import Signature

    texts = [t(WIRE) for t in TRANSFORMS] + [FOLLOW_UP, SAME_TOPIC, WIRE]
    online = StoryIndex()
    for i, t in enumerate(texts):
        online.assign(Body(f"d{i}", t))
    bulk = StoryIndex()
    bulk.restore([online.record(f"d{i}") for i in range(len(texts))], chunk=4)
    for t in texts:
        sig = Signature.of(t)
        assert [e.id for e in bulk.candidates(sig)] == [e.id for e in online.candidates(sig)]
        assert bulk.candidates(sig)


EARNINGS = ("{org} said on Tuesday that its third-quarter net profit rose {p} percent to {n} "
            "million euros, beating analysts' forecasts, as demand held up in Asia.\n\n"
            "Revenue climbed to {m} billion euros from {k} billion a year earlier, the "
            "Munich-based group said in a statement. Chief executive {ceo} said the company "
            "expected growth of about 4 percent for the full year.")


@pytest.mark.parametrize(("first", "second"), [
    ({"org": "Nordwerk", "ceo": "Anna Keller", "p": 6, "n": 29, "m": 18, "k": 9},
     {"org": "Alvara", "ceo": "Marco Silva", "p": 6, "n": 29, "m": 18, "k": 9}),
    ({"org": "Nordwerk", "ceo": "Anna Keller", "p": 6, "n": 29, "m": 18, "k": 9},
     {"org": "Nordwerk", "ceo": "Anna Keller", "p": 11, "n": 41, "m": 21, "k": 18}),
], ids=["other company", "other quarter's figures"])
def test_a_templated_story_about_others_is_not_a_copy(first: dict[str, object],
                                                      second: dict[str, object]) -> None:
    index = StoryIndex()
    index.assign(Body("a", EARNINGS.format(**first)))
    assert index.assign(Body("b", EARNINGS.format(**second)))[1] is None
    assert index.assign(Body("c", "BERLIN (dpa) - " + EARNINGS.format(**first)))[1] == "a"
