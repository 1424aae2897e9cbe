"""The compose files of the repository, loaded and merged the way `docker compose -f a -f b` does.

Only the merge rules these files need (Compose Specification, "Merge and override"): mappings
merge key by key, ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced, ``volumes``
are unique by target and ``ports`` by their text, other sequences are appended. Anything else
(``!reset``, long volume syntax) raises rather than merging wrongly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "docker-compose.yml"
SECURE = ROOT / "deploy" / "docker-compose.secure.yml"
SCHEMA = ROOT / "deploy" / "schema" / "compose-spec.json"
REPLACED = {"command", "entrypoint", "test"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def overrides() -> list[Path]:
    """Every compose override kept in deploy/."""
    return sorted(p for p in (ROOT / "deploy").glob("docker-compose*.y*ml"))


def _volume_target(entry: Any) -> str:
    if not isinstance(entry, str):
        raise NotImplementedError(f"long volume syntax is not merged here: {entry!r}")
    parts = entry.split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _merge_unique(base: list[Any], over: list[Any], key: Any) -> list[Any]:
    out = {key(e): e for e in base}
    for e in over:
        out[key(e)] = e
    return list(out.values())


def merge(base: Any, over: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    if key in REPLACED or not (isinstance(base, list) and isinstance(over, list)):
        return copy.deepcopy(over)
    if key == "volumes":
        return _merge_unique(base, over, _volume_target)
    if key == "ports":
        return _merge_unique(base, over, str)
    return base + over


def merged(*paths: Path) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for path in paths:
        model = merge(model, load(path))
    return model


def secure() -> dict[str, Any]:
    """The secure profile: docker-compose.yml + deploy/docker-compose.secure.yml."""
    return merged(BASE, SECURE)
