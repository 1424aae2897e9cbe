"""The compose files against the official Compose Specification schema (deploy/schema/)."""

from __future__ import annotations

import copy
import json
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
    assert [p.name for p in overrides()] == ["docker-compose.secure.yml"]


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
