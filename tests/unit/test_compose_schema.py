"""The compose files against the official Compose Specification schema (deploy/schema/)."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.unit.compose_files import BASE, SCHEMA, load, merged, overrides


def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"].rstrip("#/").endswith("draft-07/schema")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def errors(model: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator().iter_errors(model)]


def test_there_is_an_override_to_check() -> None:
    assert [p.name for p in overrides()] == ["docker-compose.cluster.yml",
                                            "docker-compose.secure.yml"]


@pytest.mark.parametrize("path", [BASE, *overrides()], ids=lambda p: p.name)
def test_compose_file_is_valid(path: Path) -> None:
    assert errors(load(path)) == []


@pytest.mark.parametrize("override", overrides(), ids=lambda p: p.name)
def test_merged_base_and_override_is_valid(override: Path) -> None:
    model = merged(BASE, override)
    assert set(load(override)["services"]) <= set(model["services"])
    assert errors(model) == []


@pytest.mark.parametrize("broken", [
    lambda m: m["services"]["worker"].update(restart_policy="always"),   # unknown service key
    lambda m: m["services"]["kafka"].update(ports="9092:9092"),          # not a list
    lambda m: m["services"]["kibana"]["depends_on"]["elasticsearch"].update(
        condition="service_started_eventually"),                         # not an enum value
    lambda m: m.update(service={}),                                      # unknown top-level key
], ids=["unknown-service-key", "ports-not-a-list", "bad-depends-on-condition",
        "unknown-top-level-key"])
def test_schema_rejects_an_invalid_file(broken: Any) -> None:
    model = copy.deepcopy(load(BASE))
    broken(model)
    assert errors(model), "the schema accepted an invalid compose file"


SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|JAAS|CREDENTIAL", re.I)
# what a password or a JAAS line with one looks like inside a value
SECRET_VALUE = re.compile(r'password\s*=|user_\w+\s*=|://[^/@\s:]+:[^/@\s]+@', re.I)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def literal_secrets(model: dict[str, Any]) -> list[str]:
    """Every environment entry that holds a secret itself rather than naming its file: a
    secret-looking name that is not ``*_FILE`` pointing into ``/run/secrets/`` at a secret
    the service mounts, a value shaped like a password or a JAAS entry, or a value compose
    would fill in from the host's environment (``${VAR}``: it lands in ``docker inspect``)."""
    found = []
    for name, svc in model["services"].items():
        mounted = {s if isinstance(s, str) else s.get("target") or s["source"]
                   for s in svc.get("secrets", [])}
        for key, value in _environment(svc).items():
            where = f"{name}: {key}={value}"
            if SECRET_KEY.search(key):
                secret = value.removeprefix("/run/secrets/")
                if not key.endswith("_FILE") or secret == value or secret not in mounted:
                    found.append(where)
            if SECRET_VALUE.search(value) or re.search(r"(?<!\$)\$\{?[A-Za-z_]", value):
                found.append(where)
    return found


@pytest.mark.parametrize("override", [None, *overrides()],
                         ids=lambda p: "base" if p is None else p.name)
def test_no_service_environment_holds_a_password(override: Path | None) -> None:
    model = load(BASE) if override is None else merged(BASE, override)
    assert literal_secrets(model) == []
    declared = set(model.get("secrets", {}))
    for name, svc in model["services"].items():
        used = {s if isinstance(s, str) else s["source"] for s in svc.get("secrets", [])}
        assert used <= declared, (name, used - declared)


@pytest.mark.parametrize("leak", [
    lambda m: m["services"]["worker"]["environment"].update(NEWSFLOW_ES_PASSWORD="hunter2"),
    lambda m: m["services"]["worker"]["environment"].update(
        NEWSFLOW_KAFKA_SASL_PASSWORD="${KAFKA_PASSWORD:?}"),
    lambda m: m["services"]["worker"]["environment"].update(
        NEWSFLOW_ES_PASSWORD_FILE="/run/secrets/elastic_password"),      # not its secret
    lambda m: m["services"]["worker"]["environment"].update(
        NEWSFLOW_ES_PASSWORD_FILE="/etc/pw"),                            # not a secret
    lambda m: m["services"]["kafka"]["environment"].update(
        KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG='... user_worker="pw";'),
    lambda m: m["services"]["connectors"]["environment"].update(
        NEWSFLOW_PROXY="http://bob:pw@proxy:3128"),
], ids=["literal", "interpolated", "another-service's-secret", "not-under-run-secrets",
        "jaas-line", "url-credentials"])
def test_the_password_check_finds_a_leak(leak: Any) -> None:
    from tests.unit.compose_files import secure

    model = secure()
    assert literal_secrets(model) == []
    leak(model)
    assert literal_secrets(model), "a password in the environment went unnoticed"


def test_the_secure_file_substitutes_nothing_from_the_host() -> None:
    """No ``${VAR}`` anywhere in the secure override: passwords come from secret files."""
    from tests.unit.compose_files import SECURE

    raw = yaml.safe_dump(load(SECURE))
    assert not re.search(r"(?<!\$)\$\{?[A-Za-z_]", raw.replace("$$", ""))


def _compose_v2() -> list[str] | None:
    """`docker compose` (v2) if this machine has it: `config` needs no Docker engine."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if not shutil.which(cmd[0]):
            continue
        try:
            out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True,
                                 timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip().lstrip("v").startswith("2"):
            return cmd
    return None


@pytest.mark.parametrize("override", overrides(), ids=lambda p: p.name)
def test_docker_compose_config_agrees_when_available(override: Path) -> None:
    """Where Docker Compose v2 is installed, it accepts the files and merges them as
    compose_files.merged does (environment names, volume targets, ports, dependencies)."""
    cmd = _compose_v2()
    if cmd is None:
        pytest.skip("no Docker Compose v2 on this machine")
    env = dict(os.environ)
    out = subprocess.run([*cmd, "-f", str(BASE), "-f", str(override), "config", "--format",
                          "json"], capture_output=True, text=True, env=env, timeout=120,
                         cwd=BASE.parent)
    assert out.returncode == 0, out.stderr
    real = json.loads(out.stdout)["services"]
    ours = merged(BASE, override)["services"]
    assert set(real) == set(ours)
    for name, svc in ours.items():
        assert set(real[name].get("environment") or {}) == set(svc.get("environment", {})), name
        assert sorted(v["target"] for v in real[name].get("volumes", [])) == \
            sorted(e.split(":")[1] for e in svc.get("volumes", [])), name
        assert [p.get("host_ip") for p in real[name].get("ports", [])] == \
            [str(p).rsplit(":", 2)[0] for p in svc.get("ports", [])], name
        assert set(real[name].get("depends_on") or {}) == set(svc.get("depends_on", {})), name
