"""The locks pin every dependency within pyproject's ranges, and the image uses them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {canonicalize_name(n): v for n, v in PIN.findall(text)}


def declared(*, dev: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    if dev:
        reqs += project["optional-dependencies"]["dev"]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize(("lock", "dev"), [("requirements.lock", False),
                                           ("requirements-dev.lock", True)])
def test_lock_satisfies_pyproject(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    for req in declared(dev=dev):
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is declared but not locked in {lock}: make lock"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {req.name}=={pinned[name]}, outside {req.specifier}: make lock")


def test_every_pin_has_hashes_and_runtime_agrees_with_dev() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        assert len(PIN.findall(text)) == text.count("==") , lock
        for block in re.split(r"\n(?=[A-Za-z0-9])", text):
            if "==" in block:
                assert "--hash=sha256:" in block, block.splitlines()[0]
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {n: dev.get(n) for n in runtime} == runtime


def test_lxml_cleaner_is_declared_directly() -> None:
    names = {canonicalize_name(r.name) for r in declared(dev=False)}
    assert "lxml-html-clean" in names


def test_image_installs_the_wheel_with_the_lock() -> None:
    docker = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install -r /tmp/requirements.lock" in docker
    assert "--no-deps /tmp/*.whl" in docker
    assert "pip install -e" not in docker
    final = docker.rsplit("FROM ", 1)[1]
    assert "COPY pipeline" not in final and "COPY connectors" not in final
