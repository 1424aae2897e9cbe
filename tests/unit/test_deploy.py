"""What can be tested of the compose path without a Docker engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pipeline.index.mapping import mappings
from pipeline.ops.kibana import ndjson
from pipeline.ops.stack.resources import read_versions, text

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "deploy" / "kibana" / "newsflow.ndjson"


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services_and_versions_match_local_stack() -> None:
    services = compose()["services"]
    assert {"kafka", "elasticsearch", "kibana", "setup", "worker", "connectors"} <= set(services)
    v = read_versions()
    assert services["kafka"]["image"] == f"apache/kafka:{v['KAFKA_VERSION']}"
    es_image = services["elasticsearch"]["image"]
    assert es_image.endswith(f"elasticsearch:{v['ELASTICSEARCH_VERSION']}")
    assert services["kibana"]["image"].endswith(f"kibana:{v['KIBANA_VERSION']}")
    pom = text("pom.xml")
    assert f"<kafka.version>{v['KAFKA_VERSION']}</kafka.version>" in pom


def test_compose_wiring() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    for name in ("setup", "worker", "connectors"):
        svc = services[name]
        env = svc["environment"]
        host, port = env["NEWSFLOW_KAFKA_BOOTSTRAP"].split(":")
        assert host == "kafka" and f"kafka:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
        assert env["NEWSFLOW_ES_URL"] == "http://elasticsearch:9200"
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (ROOT / svc["build"]["dockerfile"]).exists()
    for name in ("kafka", "elasticsearch", "kibana"):
        assert "healthcheck" in services[name], name
    assert services["setup"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "connectors"):
        assert services[name]["depends_on"]["setup"]["condition"] == \
            "service_completed_successfully"
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N works
    assert "9200:9200" in services["elasticsearch"]["ports"]
    assert "9092:9092" in services["kafka"]["ports"]
    volume = services["connectors"]["volumes"][0].split(":")[0]
    assert (ROOT / volume).exists()


def test_secure_override_references_existing_services() -> None:
    base = set(compose()["services"])
    secure = yaml.safe_load((ROOT / "deploy" / "docker-compose.secure.yml").read_text())
    assert set(secure["services"]) - {"setup-security"} <= base
    services = secure["services"]
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    kafka = services["kafka"]["environment"]
    assert "INTERNAL:SASL_PLAINTEXT" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    for name in ("setup", "worker", "connectors", "setup-security"):
        env = services[name]["environment"]
        assert env["NEWSFLOW_KAFKA_SASL_MECHANISM"] == kafka["KAFKA_SASL_ENABLED_MECHANISMS"]
        user = env["NEWSFLOW_KAFKA_SASL_USERNAME"]
        assert f'user_{user}="{env["NEWSFLOW_KAFKA_SASL_PASSWORD"]}"' in \
            kafka["KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG"]
        assert env["NEWSFLOW_ES_PASSWORD"].startswith("${ELASTIC_PASSWORD")


def _mapped_fields(props: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, spec in props.items():
        path = f"{prefix}{name}"
        out.add(path)
        for sub in spec.get("fields", {}):
            out.add(f"{path}.{sub}")
        if "properties" in spec:
            out |= _mapped_fields(spec["properties"], f"{path}.")
    return out


def test_kibana_objects_parse_resolve_and_use_mapped_fields() -> None:
    committed = NDJSON.read_text()
    assert committed == ndjson(), \
        "regenerate: python -m pipeline.ops.kibana > deploy/kibana/newsflow.ndjson"
    objects = [json.loads(line) for line in committed.splitlines()]
    ids = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, ref
    fields = _mapped_fields(mappings()["properties"])
    used = set()
    for o in objects:
        attrs = o["attributes"]
        if o["type"] == "visualization":
            for agg in json.loads(attrs["visState"])["aggs"]:
                if "field" in agg["params"]:
                    used.add(agg["params"]["field"])
        if o["type"] == "search":
            used |= set(attrs["columns"]) | {s[0] for s in attrs["sort"]}
        if o["type"] == "index-pattern":
            used.add(attrs["timeFieldName"])
    assert used and used <= fields, used - fields
    types = {o["type"] for o in objects}
    assert {"index-pattern", "search", "visualization", "dashboard"} <= types
