"""The compose files against the official Compose Specification schema (deploy/schema/)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
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
    env = {**os.environ, **{v: "x-dummy-secret" for v in (
        "ELASTIC_PASSWORD", "KIBANA_PASSWORD", "NEWSFLOW_PASSWORD", "KAFKA_PASSWORD")}}
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
