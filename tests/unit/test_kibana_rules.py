"""The Kibana objects against the rules Kibana enforces (tests/unit/kibana_rules.py,
docs/kibana.md): the generated objects pass, for the default and for other settings,
and each broken copy fails on its own rule. Also: the README's KQL examples, ``newsflow
kibana export`` and the import's HTTP errors."""

from __future__ import annotations

import copy
import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.errors import NewsflowError
from pipeline.core.settings import Settings
from pipeline.index.mapping import mappings
from pipeline.index.quotes_mapping import quotes_mappings
from pipeline.ops.kibana import import_saved_objects, saved_objects
from tests.unit.compose_files import ROOT
from tests.unit.kibana_rules import Problem, check, kql_fields

Objects = list[dict[str, Any]]


def readme_examples() -> list[str]:
    """The KQL examples of the README's "Searching in Kibana" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Searching in Kibana", 1)[1].split("\n## ", 1)[0]
    return [q for q in re.findall(r"^- `([^`]+)`", section, re.M) if ":" in q]


def problems(objects: Objects, settings: Settings, examples: list[str] | None = None
             ) -> list[Problem]:
    return check(objects, views={"newsflow-articles": settings.index_alias,
                                 "newsflow-quotes": settings.quotes_index_alias},
                 mappings={settings.index_alias: mappings()["properties"],
                           settings.quotes_index_alias: quotes_mappings()["properties"]},
                 examples=readme_examples() if examples is None else examples)


@pytest.mark.parametrize("settings", [
    Settings(), Settings(index_alias="t1-articles"),
    Settings(index_alias="t2-articles", quotes_alias="other-quotes")], ids=str)
def test_generated_objects_follow_kibanas_rules(settings: Settings) -> None:
    objects = saved_objects(settings)
    assert problems(objects, settings) == []
    types = {o["type"] for o in objects}
    assert {"index-pattern", "search", "visualization", "dashboard", "map"} <= types


def test_readme_has_examples_and_each_names_mapped_fields() -> None:
    examples = readme_examples()
    assert len(examples) >= 6
    assert any("attributions : {" in q for q in examples)  # nested syntax is shown


def _obj(objects: Objects, oid: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == oid)


def _state(objects: Objects, oid: str, change: Callable[[dict[str, Any]], None]) -> None:
    attrs = _obj(objects, oid)["attributes"]
    state = json.loads(attrs["visState"])
    change(state)
    attrs["visState"] = json.dumps(state)


def _layers(objects: Objects, change: Callable[[list[dict[str, Any]]], None]) -> None:
    attrs = _obj(objects, "newsflow-places-map")["attributes"]
    layers = json.loads(attrs["layerListJSON"])
    change(layers)
    attrs["layerListJSON"] = json.dumps(layers)


def _query(objects: Objects, oid: str, query: str) -> None:
    meta = _obj(objects, oid)["attributes"]["kibanaSavedObjectMeta"]
    source = json.loads(meta["searchSourceJSON"])
    source["query"]["query"] = query
    meta["searchSourceJSON"] = json.dumps(source)


WIRES = "newsflow-wire-share-per-outlet"
BROKEN: dict[str, tuple[str, Callable[[Objects], None]]] = {
    "dashboard attribute outside its schema": ("attributes", lambda o: _obj(
        o, "newsflow-dashboard")["attributes"].update(panels=[])),
    "visualization without title": ("attributes", lambda o: _obj(
        o, "newsflow-top-persons")["attributes"].pop("title")),
    "dashboard panel reference missing": ("references", lambda o: _obj(
        o, "newsflow-dashboard")["references"].pop()),
    "reference to no object": ("references", lambda o: _obj(
        o, "newsflow-who-said-what")["references"][0].update(id="news-articles")),
    "map layer by data view id": ("references", lambda o: _layers(o, lambda ls: ls[1][
        "sourceDescriptor"].update(indexPatternId="newsflow-articles"))),
    "series mode percentage": ("xy_series_mode", lambda o: _state(
        o, WIRES, lambda s: s["params"]["seriesParams"][0].update(mode="percentage"))),
    "value axis mode unknown": ("xy_axis_mode", lambda o: _state(
        o, WIRES, lambda s: s["params"]["valueAxes"][0]["scale"].update(mode="percent"))),
    "no categoryAxes": ("xy_vis_type", lambda o: _state(
        o, WIRES, lambda s: s["params"].pop("categoryAxes"))),
    "horizontal bar with a bottom category axis": ("xy_vis_type", lambda o: _state(
        o, WIRES, lambda s: s["params"]["categoryAxes"][0].update(position="bottom"))),
    "terms on a text field": ("aggregatable", lambda o: _state(
        o, "newsflow-top-persons", lambda s: s["aggs"][1]["params"].update(field="text"))),
    "terms on an unmapped field": ("aggregatable", lambda o: _state(
        o, "newsflow-top-persons", lambda s: s["aggs"][1]["params"].update(field="nope"))),
    "date histogram on a keyword": ("aggregatable", lambda o: _state(
        o, "newsflow-articles-over-time",
        lambda s: s["aggs"][1]["params"].update(field="language"))),
    "terms through a nested field": ("nested_terms", lambda o: _state(
        o, "newsflow-top-persons",
        lambda s: s["aggs"][1]["params"].update(field="attributions.source.canonical"))),
    "saved query on a nested field without nested syntax": ("nested_kql", lambda o: _query(
        o, "newsflow-who-said-what", "attributions.source.anonymous : true")),
    "saved query naming an unmapped field": ("kql_fields", lambda o: _query(
        o, "newsflow-quotes-contested", "disputed : true")),
    "data view title not the settings' index": ("index_title", lambda o: _obj(
        o, "newsflow-articles")["attributes"].update(title="news-articles")),
    "vega on another index": ("index_title", lambda o: _state(
        o, "newsflow-anonymous-sourcing", lambda s: s["params"].update(spec=s["params"][
            "spec"].replace('"t1-articles"', '"news-articles"')))),
    "map point layer on a keyword": ("map_layers", lambda o: _layers(
        o, lambda ls: ls[1]["sourceDescriptor"].update(geoField="main_place.name"))),
    "map layer type of before 8.1": ("map_layers", lambda o: _layers(
        o, lambda ls: ls[1].update(type="VECTOR"))),
    "map join on a nested field": ("nested_terms", lambda o: _layers(
        o, lambda ls: ls[2]["joins"][0]["right"].update(term="entities.place.country"))),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_copy_fails_on_its_rule(name: str) -> None:
    settings = Settings(index_alias="t1-articles")
    objects = copy.deepcopy(saved_objects(settings))
    rule, breaks = BROKEN[name]
    breaks(objects)
    found = problems(objects, settings)
    assert rule in {p.rule for p in found}, found


@pytest.mark.parametrize(("example", "rule"), [
    ("attributions.stance : \"distancing\"", "nested_kql"),
    ("provenance : { publisher : \"BBC News\" }", "nested_kql"),
    ("attributions : { source.nickname : \"X\" }", "kql_fields")])
def test_a_broken_readme_example_fails(example: str, rule: str) -> None:
    settings = Settings()
    assert rule in {p.rule for p in problems(saved_objects(settings), settings, [example])}


def test_kql_fields_read_nested_blocks_and_skip_quoted_text() -> None:
    q = 'attributions : { source.canonical : "a : b" and kind : x } and language : en'
    assert list(kql_fields(q)) == [("attributions", None),
                                   ("attributions.source.canonical", "attributions"),
                                   ("attributions.kind", "attributions"), ("language", None)]


def test_kibana_export_follows_the_index(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("NEWSFLOW_INDEX", "t9-articles")
    out = tmp_path / "objects.ndjson"
    result = CliRunner().invoke(app, ["kibana", "export", "--output", str(out)])
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in out.read_text().splitlines()]
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == {"t9-articles", "t9-quotes"}
    assert problems(objects, Settings(index_alias="t9-articles")) == []
    stdout = CliRunner().invoke(app, ["kibana", "export"])
    assert stdout.exit_code == 0 and stdout.stdout == out.read_text()


@pytest.fixture
def kibana_answering() -> Iterator[Callable[[int], str]]:
    """A real HTTP server on a free port answering every POST with the given status."""
    status = {"code": 401}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"statusCode": status["code"], "message": "unauthorized"})
            self.send_response(status["code"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def url(code: int) -> str:
        status["code"] = code
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield url
    server.shutdown()


@pytest.mark.parametrize("code", [401, 403, 500])
def test_import_http_errors_are_clear(kibana_answering: Callable[[int], str],
                                      code: int) -> None:
    settings = Settings(kibana_url=kibana_answering(code))
    with pytest.raises(NewsflowError) as info:
        import_saved_objects(settings)
    assert str(code) in str(info.value)
    if code in (401, 403):
        assert "NEWSFLOW_ES_USERNAME" in str(info.value)


def test_import_unreachable_kibana_is_clear() -> None:
    with pytest.raises(NewsflowError, match="not reachable"):
        import_saved_objects(Settings(kibana_url="http://127.0.0.1:9"))
