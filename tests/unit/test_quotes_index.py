"""The quote groups' index and searches without services: documents fit the strict
mapping, writes are versioned, queries take user input as values only; `newsflow group`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bench.quote_groups import load
from pipeline.cli.main import app
from pipeline.core.contracts import Attribution, EnrichedArticle, Provenance, Source, Span
from pipeline.core.settings import Settings
from pipeline.group.quotes import QuoteGroups
from pipeline.index.quotes_mapping import (
    quotes_index_name,
    quotes_mappings,
    quotes_template_body,
    write_actions,
)
from pipeline.search.quotes import QuotesRequest, build_query


def _unmapped(doc: dict[str, Any], props: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in doc.items():
        spec = props.get(key)
        if spec is None:
            out.append(prefix + key)
        elif spec.get("enabled") is False:
            continue
        elif "properties" in spec and isinstance(value, dict):
            out += _unmapped(value, spec["properties"], f"{prefix}{key}.")
    return out


def test_group_documents_fit_the_strict_mapping() -> None:
    quotes, _ = load()
    groups = QuoteGroups()
    for q in quotes[:80]:
        groups.add(q)
    props = quotes_mappings()["properties"]
    assert quotes_mappings()["dynamic"] == "strict"
    for group in groups.store.groups():
        doc = group.to_doc()
        assert _unmapped(doc, props) == [], doc["group"]
        assert json.loads(json.dumps(doc)) == doc  # plain JSON


def test_names_follow_the_settings() -> None:
    s = Settings.from_env({"NEWSFLOW_INDEX": "t9-articles"})
    assert quotes_index_name(s) == "t9-quotes-v1"
    assert quotes_template_body(s, english=False)["index_patterns"] == ["t9-quotes-v*"]
    assert Settings.from_env({"NEWSFLOW_QUOTES_INDEX": "q"}).quotes_index_alias == "q"


def test_writes_are_versioned_by_seq_and_merged_groups_deleted() -> None:
    ops = write_actions("news-quotes", [{"group": "g1", "seq": 12}], [("g2", 12)])
    assert ops[0] == {"index": {"_index": "news-quotes", "_id": "g1", "version": 12,
                                "version_type": "external"}}
    assert ops[2] == {"delete": {"_index": "news-quotes", "_id": "g2", "version": 12,
                                 "version_type": "external"}}


def test_quote_queries_take_input_as_values() -> None:
    hostile = 'Putin" OR * {"script": 1}'
    q = build_query(QuotesRequest(text=hostile, said_by=hostile, publisher="BBC",
                                  since="2026-01-01", until="2026-12-31", contested=True,
                                  limit=5000))
    assert q["size"] == 1000 and q["sort"][0] == "_score"
    assert q["query"]["bool"]["must"][0]["simple_query_string"]["query"] == hostile
    said = q["query"]["bool"]["filter"][0]["bool"]["should"]
    assert {"term": {"speakers": hostile}} in said
    assert {"match_phrase": {"speakers.text": hostile}} in said
    assert {"term": {"publishers": "BBC"}} in q["query"]["bool"]["filter"]
    assert {"range": {"published_at": {"gte": "2026-01-01", "lte": "2026-12-31"}}} in \
        q["query"]["bool"]["filter"]
    assert {"term": {"contested": True}} in q["query"]["bool"]["filter"]


def _article(i: int, publisher: str) -> EnrichedArticle:
    text = "“We will not back down now, or ever, whatever they say,” Maria Okafor said."
    end = text.index("Maria") - 1
    att = Attribution(kind="direct", cue=Span(text="said", start=len(text) - 5,
                                              end=len(text) - 1),
                      source=Source(text="Maria Okafor", start=end + 1, end=end + 13,
                                    canonical="Maria Okafor", type="person"),
                      content=Span(text=text[:end], start=0, end=end))
    return EnrichedArticle(id=f"a{i}", text=text, attributions=[att],
                           provenance=Provenance(connector="x", source="s",
                                                 publisher=publisher))


def test_newsflow_group_writes_one_line_per_article_and_reports_bad_lines(tmp_path: Path
                                                                          ) -> None:
    src = tmp_path / "enriched.jsonl"
    src.write_text(_article(1, "Wire").model_dump_json() + "\n{broken\n\n"
                   + _article(2, "Daily").model_dump_json() + "\n")
    out, groups = tmp_path / "groups.jsonl", tmp_path / "quote-groups.jsonl"
    result = CliRunner().invoke(app, ["group", "-i", str(src), "-o", str(out),
                                      "--quote-groups", str(groups)])
    assert result.exit_code == 2 and "line 2" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a1", "a2"]
    assert lines[0]["story"] == "a1" and lines[0]["copy_of"] is None
    assert lines[0]["quotes"] == lines[1]["quotes"] and lines[0]["quotes"][0]["index"] == 0
    [group] = [json.loads(line) for line in groups.read_text().splitlines()]
    assert group["reports"] == 2 and group["publishers"] == ["Wire", "Daily"]
    assert "state" not in group


def test_the_quotes_agent_makes_each_quote_a_message_with_its_keys() -> None:
    from pipeline.core.contracts import Quote
    from pipeline.group.quotes import quote_keys
    from pipeline.stream.quotes import records

    made = records(_article(7, "Wire").to_bytes())
    assert made is not None
    article_id, messages = made
    [(value, keys)] = messages
    quote = Quote.from_bytes(value)
    assert article_id == "a7" and quote.article.id == "a7"
    assert keys == quote_keys(quote.content).encode()
    assert records(b'{"id": 1}') is None  # not an enriched article: the index agent's
