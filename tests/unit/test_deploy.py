"""What can be tested of the compose path without a Docker engine: the wiring of
docker-compose.yml and of the secure profile (docker-compose.yml + deploy/docker-compose.secure.yml,
merged as `docker compose -f ... -f ...` does), and the Kibana objects."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from pipeline.core.settings import Settings
from pipeline.index.mapping import mappings
from pipeline.index.quotes_mapping import quotes_mappings
from pipeline.ops.kibana import ndjson
from pipeline.ops.stack.resources import read_versions, text
from tests.unit.compose_files import BASE, ROOT, load, secure

NDJSON = ROOT / "deploy" / "kibana" / "newsflow.ndjson"
LOOPBACK = {"127.0.0.1", "::1", "[::1]"}
NEWSFLOW = ("setup", "worker", "connectors")
ES_USERS = ("setup", "worker")  # the newsflow services that use Elasticsearch


def compose() -> dict[str, Any]:
    return load(BASE)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def interpolated(value: str) -> set[str]:
    """The variables compose substitutes in ``value`` (``$$`` is a literal ``$``)."""
    value = value.replace("$$", "")
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", value))


def host_ip(port: Any) -> str | None:
    """The host address a `ports` entry publishes on; None means every interface."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).rsplit("/", 1)[0].split(":")
    return ":".join(parts[:-2]) or None if len(parts) >= 3 else None


def mounted(service: dict[str, Any], path: str) -> str | None:
    """The volume of ``service`` under which ``path`` lies, if any."""
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        if PurePosixPath(path).is_relative_to(target):
            return source
    return None


def healthcheck_tests(model: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, svc in model["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        if test is not None:
            out[name] = test if isinstance(test, str) else " ".join(map(str, test))
    return out


def test_compose_services_and_versions_match_local_stack() -> None:
    services = compose()["services"]
    assert {"kafka", "elasticsearch", "kibana", "setup", "worker", "connectors"} <= set(services)
    v = read_versions()
    assert services["kafka"]["image"] == f"apache/kafka:{v['KAFKA_VERSION']}"
    es_image = services["elasticsearch"]["image"]
    assert es_image.endswith(f"elasticsearch:{v['ELASTICSEARCH_VERSION']}")
    assert services["kibana"]["image"].endswith(f"kibana:{v['KIBANA_VERSION']}")
    assert secure()["services"]["certs"]["image"] == es_image  # certutil of the same version
    pom = text("pom.xml")
    assert f"<kafka.version>{v['KAFKA_VERSION']}</kafka.version>" in pom


def test_compose_wiring() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    for name in NEWSFLOW:
        svc = services[name]
        env = env_of(svc)
        host, port = env["NEWSFLOW_KAFKA_BOOTSTRAP"].split(":")
        assert host == "kafka" and f"kafka:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (ROOT / svc["build"]["dockerfile"]).exists()
    for name in ES_USERS:
        assert env_of(services[name])["NEWSFLOW_ES_URL"] == "http://elasticsearch:9200"
    assert not any(k.startswith(("NEWSFLOW_ES_", "NEWSFLOW_KIBANA", "NEWSFLOW_INDEX"))
                   for k in env_of(services["connectors"]))
    for name in ("kafka", "elasticsearch", "kibana"):
        assert "healthcheck" in services[name], name
    assert services["setup"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "connectors"):
        assert services[name]["depends_on"]["setup"]["condition"] == \
            "service_completed_successfully"
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N works
    assert "127.0.0.1:9200:9200" in services["elasticsearch"]["ports"]
    assert "127.0.0.1:9092:9092" in services["kafka"]["ports"]
    assert "127.0.0.1:5601:5601" in services["kibana"]["ports"]
    volume = services["connectors"]["volumes"][0].split(":")[0]
    assert (ROOT / volume).exists()


def test_host_ip_reads_every_ports_syntax() -> None:
    assert host_ip("9200:9200") is None and host_ip(9200) is None and host_ip("9200") is None
    assert host_ip("0.0.0.0:9200:9200") == "0.0.0.0"
    assert host_ip("127.0.0.1:9200:9200/tcp") == "127.0.0.1"
    assert host_ip("[::1]:9200:9200") == "[::1]"
    assert host_ip({"target": 9200, "published": 9200}) is None
    assert host_ip({"target": 9200, "host_ip": "127.0.0.1"}) == "127.0.0.1"


def test_ports_are_published_on_loopback_only() -> None:
    """Security is off in docker-compose.yml: nothing may listen on 0.0.0.0 (every interface)."""
    for model in (compose(), secure()):
        for name, svc in model["services"].items():
            for port in svc.get("ports", []):
                assert host_ip(port) in LOOPBACK, f"{name} publishes {port!r} on every interface"
    advertised = compose()["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    external = re.search(r"EXTERNAL://([^:,]+):9092", advertised)
    assert external and external.group(1) in LOOPBACK | {"localhost"}


def test_healthchecks_carry_no_credentials() -> None:
    """No password in a healthcheck: not literal, not substituted by compose (which would put it
    in `docker inspect`), and not `$$VAR` either: the container's shell expands that into the
    probe's argv (curl -u elastic:...), readable in the process table every interval."""
    secrets: set[str] = set()
    for model in (compose(), secure()):
        for svc in model["services"].values():
            for key, value in env_of(svc).items():
                if "PASSWORD" in key.upper() and not key.endswith("_FILE") \
                        and not interpolated(value):
                    secrets.add(value)  # a password written into the file
    for model in (compose(), secure()):
        for name, test in healthcheck_tests(model).items():
            assert not interpolated(test), f"{name}: compose substitutes {interpolated(test)}"
            assert "PASSWORD" not in test.upper(), f"{name}: {test}"
            assert not re.search(r"(^|\s)(-u|--user|-H|--header)\s|Authorization|@",
                                 test), f"{name}: {test}"
            assert not any(secret in test for secret in secrets), name
    assert healthcheck_tests(secure()).keys() >= {"kafka", "elasticsearch", "kibana"}


def test_secure_elasticsearch_is_https_and_clients_trust_its_ca() -> None:
    services = secure()["services"]
    es = services["elasticsearch"]
    env = env_of(es)
    assert env["xpack.security.http.ssl.enabled"] == "true"
    config = "/usr/share/elasticsearch/config"
    for key in ("key", "certificate", "certificate_authorities"):
        assert mounted(es, f"{config}/{env[f'xpack.security.http.ssl.{key}']}") == "es-certs"
    assert es["depends_on"]["certs"]["condition"] == "service_completed_successfully"
    assert "https://localhost:9200" in " ".join(es["healthcheck"]["test"])
    assert "--cacert" in " ".join(es["healthcheck"]["test"])
    users = 0
    for name, svc in services.items():
        svc_env = env_of(svc)
        if "NEWSFLOW_ES_URL" in svc_env:
            users += 1
            assert svc_env["NEWSFLOW_ES_URL"].startswith("https://"), name
            assert mounted(svc, svc_env["NEWSFLOW_ES_CA_CERTS"]) == "ca", name
    assert users == 3  # setup-security, setup, worker
    kibana = services["kibana"]
    hosts = json.loads(env_of(kibana)["ELASTICSEARCH_HOSTS"])
    assert hosts and all(h.startswith("https://") for h in hosts)
    assert mounted(kibana, env_of(kibana)["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"]) == "ca"


def test_secure_ca_key_stays_in_the_certs_service() -> None:
    services = secure()["services"]
    certs = services["certs"]
    assert certs["restart"] == "no" and "elasticsearch-certutil" in " ".join(certs["command"])
    script = certs["command"][-1]
    for volume in ("certs", "es-certs", "ca"):
        assert volume in secure()["volumes"]
    holders = {volume: {name for name, svc in services.items()
                        for entry in svc.get("volumes", []) if entry.split(":")[0] == volume}
               for volume in ("certs", "es-certs", "ca")}
    assert holders["certs"] == {"certs"}  # the CA key
    assert holders["es-certs"] == {"certs", "elasticsearch"}
    assert holders["ca"] == {"certs", "kibana", "setup-security", "setup", "worker"}
    copies = [line for line in script.splitlines() if line.strip().startswith(("cp ", "mv "))]
    assert copies and not any("ca.key" in line or "/certs/ca " in line for line in copies)
    for name in (holders["ca"] | {"elasticsearch"}) - {"certs"}:
        assert all(e.endswith(":ro") for e in services[name]["volumes"]
                   if e.split(":")[0] in ("ca", "es-certs")), name


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
    assert committed == ndjson(Settings()), \
        "regenerate: newsflow kibana export --output deploy/kibana/newsflow.ndjson"
    objects = [json.loads(line) for line in committed.splitlines()]
    ids = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, ref
    fields = {"news-articles": _mapped_fields(mappings()["properties"]),
              "news-quotes": _mapped_fields(quotes_mappings()["properties"])}
    title = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    used: dict[str, set[str]] = {name: set() for name in fields}
    for o in objects:
        attrs = o["attributes"]
        views = [r["id"] for r in o["references"] if r["type"] == "index-pattern"]
        view = title[o["id"]] if o["type"] == "index-pattern" else \
            title[views[0]] if views else None
        if o["type"] == "visualization":
            for agg in json.loads(attrs["visState"])["aggs"]:
                if "field" in agg["params"]:
                    used[view].add(agg["params"]["field"])
        if o["type"] == "search":
            used[view] |= set(attrs["columns"]) | {s[0] for s in attrs["sort"]}
        if o["type"] == "index-pattern":
            used[view].add(attrs["timeFieldName"])
    for name, names in used.items():
        assert names and names <= fields[name], (name, names - fields[name])
    types = {o["type"] for o in objects}
    assert {"index-pattern", "search", "visualization", "dashboard"} <= types
