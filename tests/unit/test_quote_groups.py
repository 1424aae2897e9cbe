"""Quote records and quote groups: the contract, normalisation, speakers, grouping rules,
determinism and the measured quality on the labelled set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bench.quote_groups import MENTIONS, evaluate, load
from pipeline.core.contracts import (
    Attribution,
    EnrichedArticle,
    Provenance,
    Quote,
    QuoteArticle,
    QuoteSpeaker,
    Source,
    Span,
    quote_id,
)
from pipeline.core.errors import ContractError
from pipeline.group.bounded import QuoteGroup
from pipeline.group.grouper import Grouper
from pipeline.group.quotes import MemoryStore, QuoteGroups
from pipeline.group.records import quotes_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PUTIN = ("Vladimir Putin", "person")


def quote(n: int, content: str, who: str | None = "Vladimir Putin", type_: str = "person",
          *, hours: float = 0, publisher: str | None = None,
          cited_via: list[str] | None = None) -> Quote:
    return Quote(id=f"q{n:03d}", index=0, kind="direct", content=content,
                 cited_via=cited_via or [],
                 article=QuoteArticle(id=f"a{n:03d}", publisher=publisher or f"Outlet {n}",
                                      url=f"https://outlet{n}.example/a",
                                      published_at=T0 + timedelta(hours=hours)),
                 speaker=QuoteSpeaker(text=who, canonical=who,
                                      type=type_ if who else "unnamed"))


FULL = ("“Russia will never abandon its allies in the region, whatever the pressure from "
        "Washington and Brussels,”")


def test_quote_contract_round_trip_and_rejects_unknown_fields() -> None:
    q = quote(1, FULL)
    assert Quote.from_bytes(q.to_bytes()) == q
    data = json.loads(q.to_bytes())
    data["surprise"] = 1
    with pytest.raises(ContractError, match="Quote v1"):
        Quote.from_bytes(json.dumps(data))
    with pytest.raises(ContractError):
        Quote.from_bytes(json.dumps({**json.loads(q.to_bytes()), "schema_version": 2}))
    assert quote_id("a", "w") == quote_id("a", "w") != quote_id("a", "v") != quote_id("b", "w")


def test_quotes_of_an_article_one_per_attribution() -> None:
    text = ("“We are ready,” Mr Putin said. “Talks can start tomorrow.” "
            "Syria’s Al-Watan, citing Vendamasti, reported that the talks would be long.")
    cue, who, second = text.index("said"), text.index("Mr Putin"), text.index("“Talks")
    end = text.index("Syria") - 1
    split = Attribution(kind="direct", cue=Span(text="said", start=cue, end=cue + 4),
                        source=Source(text="Mr Putin", start=who, end=who + 8,
                                      canonical="Vladimir Putin", type="person"),
                        content=Span(text=text[:end], start=0, end=end,
                                     spans=[[0, who - 1], [second, end]]))
    start = text.index("that the talks")
    chain = Attribution(kind="mixed", cue=None, cited_via=["Vendamasti"],
                        source=Source(text="Syria’s Al-Watan", start=58, end=74,
                                      canonical="Al-Watan", type="outlet"),
                        content=Span(text=text[start:-1], start=start, end=len(text) - 1))
    article = EnrichedArticle(
        id="art1", url="https://x.example/1", title="T", text=text,
        published_at=T0, language="en", attributions=[split, chain],
        provenance=Provenance(connector="rss.v1", source="s", publisher="Wire"))
    first, second = quotes_of(article)
    assert (first.index, second.index) == (0, 1)
    assert first.id == quote_id("art1", "we are ready talks can start tomorrow",
                                "Vladimir Putin")
    assert second.id == quote_id("art1", "that the talks would be long", "Al-Watan")
    assert first.content == "“We are ready,” … “Talks can start tomorrow.”"
    assert first.speaker.canonical == "Vladimir Putin" and first.cue == "said"
    assert first.article.publisher == "Wire" and first.article.published_at == T0
    assert second.cited_via == ["Vendamasti"] and second.sentence.startswith("Syria’s Al-Watan")
    assert second.sentence.endswith("long.")


def test_typography_case_punctuation_and_ellipses_join() -> None:
    groups = QuoteGroups()
    ids = {groups.add(quote(1, FULL)),
           groups.add(quote(2, FULL.replace("“", '"').replace("”", '"').upper())),
           groups.add(quote(3, "Russia will never abandon its allies in the region … whatever "
                               "the pressure")),
           groups.add(quote(4, "'Russia will never abandon its allies in the region...'")),
           groups.add(quote(5, "Russia will never abandon [Moscow’s] allies in the region, "
                               "whatever the pressure from Washington"))}
    assert len(ids) == 1


def test_speaker_forms_join_and_an_incompatible_speaker_contests() -> None:
    groups = QuoteGroups()
    g = groups.add(quote(1, FULL, "Vladimir Putin"))
    assert groups.add(quote(2, FULL, "Putin")) == g
    assert groups.add(quote(3, FULL, "the Russian president", "unnamed")) == g
    assert groups.add(quote(4, FULL, None)) == g
    assert not groups.get(g).contested
    assert groups.add(quote(5, FULL, "Dmitry Peskov")) == g  # the same long words
    group = groups.get(g)
    assert group.contested and group.speakers[:2] == ["Vladimir Putin", "Putin"]
    assert group.speaker.canonical == "Vladimir Putin"


def test_hard_negatives_stay_apart() -> None:
    groups = QuoteGroups()
    a = groups.add(quote(1, "“We are not going back until the company puts a fair offer on the "
                            "table,”", "Maria Okafor"))
    b = groups.add(quote(2, "“The company has had three weeks to put a fair offer on the table "
                            "and it has not moved an inch,”", "Maria Okafor"))
    c = groups.add(quote(3, "“We will not back down.”", "Maria Okafor"))
    d = groups.add(quote(4, "“We will not back down,”", "Peter Lindqvist"))  # stock phrase
    e = groups.add(quote(5, "“This is a sad day for the port and for every family that depends "
                            "on it.”", "Peter Lindqvist"))
    f = groups.add(quote(6, "“This is a sad day for the port.”", "Maria Okafor"))
    assert len({a, b, c, d, e, f}) == 6


def test_one_article_crediting_two_sources_does_not_contest() -> None:
    words = "that most Americans want Congress to investigate the president's dealings abroad"
    same = Quote(id="n1", index=1, kind="mixed", content=words,
                 article=QuoteArticle(id="a1"), speaker=QuoteSpeaker(
                     canonical="Reuters", type="outlet"))
    groups = QuoteGroups()
    g = groups.add(quote(1, words, "Ipsos", "organization"))
    assert groups.add(same.model_copy(update={"article": QuoteArticle(id="a001")})) == g
    assert not groups.get(g).contested  # "Reuters reported that ... , an Ipsos poll found"
    other = same.model_copy(update={"id": "n2"})  # another article credits Reuters
    assert groups.add(other) == g and groups.get(g).contested


def test_chain_credits_do_not_contest() -> None:
    groups = QuoteGroups()
    words = "that the two presidents would discuss trade, energy and the reconstruction of Aleppo"
    g = groups.add(quote(1, words, "TASS", "outlet", cited_via=["Kremlin"]))
    assert groups.add(quote(2, words, "Kremlin", "organization")) == g
    assert not groups.get(g).contested


def test_fragments_join_and_a_full_quote_merges_fragments_reported_apart() -> None:
    groups = QuoteGroups()
    a = groups.add(quote(1, "never abandon its allies in the region", None, hours=5))
    b = groups.add(quote(2, "whatever the pressure from Washington and Brussels", "Putin",
                         hours=3))
    assert a != b  # two fragments with nothing in common
    full = groups.add(quote(3, FULL, hours=4))
    assert full == a  # the oldest group survives, with its id
    group = groups.get(a)
    assert group.merged == [b] and groups.store.get(b) is None
    assert groups.store.group_of("q002") == a and group.reports == 3
    assert group.first.article == "a002"  # earliest published_at
    assert groups.add(quote(4, "allies in the region, whatever the pressure from Washington",
                            "Putin")) == a


def test_first_report_ties_go_to_arrival() -> None:
    groups = QuoteGroups()
    g = groups.add(quote(1, FULL, hours=2))
    groups.add(quote(2, FULL, hours=1))
    groups.add(quote(3, FULL, hours=1))
    assert groups.get(g).first.article == "a002"
    doc = groups.get(g).to_doc()
    assert doc["first_seen"]["article_id"] == "a002" and doc["reports"] == 3
    assert doc["publishers"] == ["Outlet 1", "Outlet 2", "Outlet 3"]


def _stream() -> list[Quote]:
    quotes, _ = load()
    return quotes[:120]


def test_replay_is_deterministic_and_idempotent() -> None:
    quotes = _stream()
    first, second = QuoteGroups(), QuoteGroups()
    ids = [first.add(q) for q in quotes]
    assert [second.add(q) for q in quotes] == ids
    assert [first.add(q) for q in quotes] == [first.store.group_of(q.id) for q in quotes]
    assert all(first.store.group_of(q.id) in {g.id for g in first.store.groups()}
               for q in quotes)


def test_a_state_rebuilt_from_its_documents_continues_like_the_original() -> None:
    quotes = _stream()
    whole = QuoteGroups()
    for q in quotes:
        whole.add(q)
    part = QuoteGroups()
    for q in quotes[:60]:
        part.add(q)
    docs = [json.loads(json.dumps(g.to_doc())) for g in part.store.groups()]
    reloaded = QuoteGroups(MemoryStore(QuoteGroup.from_doc(d) for d in docs))
    for q in quotes[40:]:  # a replay from an older offset, then new quotes
        reloaded.add(q)
    assert sorted(g.to_doc()["group"] for g in reloaded.store.groups()) == \
        sorted(g.id for g in whole.store.groups())
    assert all(reloaded.store.group_of(q.id) == whole.store.group_of(q.id) for q in quotes)


def test_changes_are_reported_for_the_store() -> None:
    store = MemoryStore()
    groups = QuoteGroups(store)
    a = groups.add(quote(1, "never abandon its allies in the region", None))
    b = groups.add(quote(2, "whatever the pressure from Washington and Brussels", None))
    changed, removed = store.take_changes()
    assert [g.id for g in changed] == [a, b] and removed == []
    groups.add(quote(3, FULL))
    changed, removed = store.take_changes()
    assert [g.id for g in changed] == [a] and removed == [b]
    assert changed[0].seq == 3


def test_grouper_lines_and_copies_share_quote_groups() -> None:
    class Copies:
        def assign(self, article: EnrichedArticle) -> tuple[str, str | None, float | None]:
            return ("s1", "a1", 0.97) if article.id == "a2" else (article.id, None, None)

    text = "“We will not back down now, or ever, whatever they say,” the minister said."
    att = Attribution(kind="direct", source=None, cue=None,
                      content=Span(text=text[:57], start=0, end=57))
    grouper = Grouper(stories=Copies())
    one = grouper.add(EnrichedArticle(id="a1", text=text, attributions=[att]))
    two = grouper.add(EnrichedArticle(id="a2", text=text, attributions=[att]))
    assert one.to_json()["story"] == "a1" and one.copy_of is None
    assert two.to_json() == {"id": "a2", "story": "s1", "copy_of": "a1", "similarity": 0.97,
                             "quotes": [{"index": 0, "group": one.quotes[0].group}]}


@pytest.mark.skipif(not MENTIONS.exists(), reason="labelled set not built")
def test_grouping_quality_on_the_labelled_set_meets_the_targets() -> None:
    quotes, gold = load()
    assert len(quotes) >= 300 and len(set(gold)) >= 60
    score, _ = evaluate(quotes, gold)
    assert score["precision"] >= 0.97, score
    assert score["recall"] >= 0.90, score


def _said(article: str, *said: str) -> EnrichedArticle:
    text = " ".join(said)
    atts = [Attribution(kind="direct", cue=None, content=Span(
                text=s, start=text.index(s), end=text.index(s) + len(s)),
                source=Source(text="Putin", start=0, end=0, canonical="Vladimir Putin",
                              type="person")) for s in said]
    return EnrichedArticle(id=article, text=text, published_at=T0, attributions=atts,
                           provenance=Provenance(connector="rss.v1", source="s",
                                                 publisher="Wire"))


def test_a_corrected_article_groups_its_new_words_and_duplicates_nothing() -> None:
    unchanged = "“Talks with every neighbour will begin on Monday in Geneva.”"
    v1 = _said("art9", "“We are ready.”", unchanged)
    v2 = _said("art9", "“We are ready to sign the agreement with everyone, today.”", unchanged)
    groups = QuoteGroups()
    for q in quotes_of(v1) + quotes_of(v2) + quotes_of(v2):  # v2 is also replayed
        groups.add(q)
    every = list(groups.store.groups())
    texts = [v for g in every for v in g.variants]
    assert any("sign the agreement" in t for t in texts)  # the correction's words landed
    [talks] = [g for g in every if unchanged in g.variants]
    assert len(talks.members) == 1  # the unchanged quote is not counted again
    assert sum(len(g.members) for g in every) == 3
