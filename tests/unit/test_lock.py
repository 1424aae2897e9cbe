"""The locks pin every dependency within pyproject's ranges; every install uses them one way.

That way is ``deploy/install-locked.sh``: a pinned, hash-checked pip first
(``requirements-bootstrap.lock``), then the lock with ``--no-deps``, then the guard
``deploy/verify_lock.py``, which these tests also run against the environment they run in.
"""

from __future__ import annotations

import importlib.util
import re
import sys
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


LOCKS = ("requirements.lock", "requirements-dev.lock", "requirements-bootstrap.lock")


def test_every_pin_has_hashes_and_runtime_agrees_with_dev() -> None:
    for lock in LOCKS:
        text = (ROOT / lock).read_text()
        assert len(PIN.findall(text)) == text.count("==") , lock
        for block in re.split(r"\n(?=[A-Za-z0-9])", text):
            if "==" in block:
                assert "--hash=sha256:" in block, block.splitlines()[0]
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {n: dev.get(n) for n in runtime} == runtime
    boot = pins("requirements-bootstrap.lock")
    shared = boot.keys() & dev.keys()
    assert {n: dev[n] for n in shared} == {n: boot[n] for n in shared}, "make lock"


def test_bootstrap_pins_an_installer_that_keeps_extras_at_their_pins() -> None:
    """pip < 23.3 resolves ``smart-open[http]`` past a pinned smart-open; the bootstrap pin
    is the one in deploy/bootstrap.in, and the build backend is the locks' setuptools."""
    from packaging.version import Version
    boot = pins("requirements-bootstrap.lock")
    assert set(boot) == {"pip", "setuptools"}
    assert Version(boot["pip"]) >= Version("23.3")
    wanted = (ROOT / "deploy" / "bootstrap.in").read_text()
    assert f"pip=={boot['pip']}" in wanted.splitlines(), "deploy/bootstrap.in changed: make lock"
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert all(Requirement(r).specifier.contains(boot["setuptools"]) for r in backend)


def test_every_install_goes_through_the_one_installer() -> None:
    """Makefile, the wheel smoke and both image stages; no other `pip install -r` anywhere."""
    for path, lock in [("Makefile", "requirements-dev.lock"),
                       (".ci/smoke-wheel", "requirements.lock"),
                       (".ci/smoke-wheel", "requirements-bootstrap.lock"),
                       ("deploy/Dockerfile", "requirements.lock"),
                       ("deploy/Dockerfile", "requirements-bootstrap.lock")]:
        text = (ROOT / path).read_text()
        assert "install-locked.sh" in text and lock in text, (path, lock)
        assert not re.search(r"pip install[^\n]* -r ", text), path
        assert "build-isolation" not in text or "--no-build-isolation" in text, path
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/uv pip compile" in makefile and "requirements-bootstrap.lock" in makefile


def test_lxml_cleaner_is_declared_directly() -> None:
    names = {canonicalize_name(r.name) for r in declared(dev=False)}
    assert "lxml-html-clean" in names


def test_image_installs_the_wheel_with_the_lock() -> None:
    docker = (ROOT / "deploy" / "Dockerfile").read_text()
    final = docker.rsplit("FROM ", 1)[1]
    assert "requirements.lock --wheel /tmp/install/newsflow-*.whl" in final
    assert "pip install -e" not in docker and "--editable" not in docker
    final = docker.rsplit("FROM ", 1)[1]
    assert "COPY pipeline" not in final and "COPY connectors" not in final


def _verify_lock():  # deploy/verify_lock.py runs before newsflow is installed: not a package
    spec = importlib.util.spec_from_file_location("verify_lock", ROOT / "deploy" / "verify_lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_this_environment_is_exactly_the_dev_lock(capsys: pytest.CaptureFixture[str]) -> None:
    """The guard itself, on the venv the suite runs in (installed by deploy/install-locked.sh)."""
    if not (Path(sys.prefix) / "pyvenv.cfg").exists():
        pytest.skip("not running in a venv made from the locks")
    locks = [str(ROOT / "requirements-dev.lock"), str(ROOT / "requirements-bootstrap.lock")]
    assert _verify_lock().main([*locks, "--allow", "newsflow"]) == 0, capsys.readouterr().err


def test_the_guard_names_every_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pin that is not what is installed, a pin that is missing, and an installed
    distribution in no lock are each named; so is an extra's requirement that is absent."""
    verify = _verify_lock()
    have = verify.installed()
    assert "pyyaml" in have and "requests" in have
    drifted = {**have, "pyyaml": "0.0.1", "no-such-dist": "1.0"}
    del drifted["requests"]
    lock = tmp_path / "drifted.lock"
    lock.write_text("".join(f"{n}=={v} \\\n    --hash=sha256:00\n" for n, v in drifted.items()))
    assert verify.main([str(lock)]) == 1
    err = capsys.readouterr().err
    assert f"pyyaml: installed {have['pyyaml']}, locked 0.0.1" in err
    assert "no-such-dist: locked 1.0, not installed" in err
    assert f"requests: installed {have['requests']}, in no lock" in err
    assert verify.differences({"a": "1"}, {"a": "1", "b": "2"}, allow={"b"}) == []


def test_the_guard_follows_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    """weasel asks for smart-open[http]; without requests that extra is unmet (pip check
    misses it: it does not follow extras)."""
    verify = _verify_lock()
    have = verify.installed()
    assert verify.unmet(have) == []
    without = {n: v for n, v in have.items() if n != "requests"}
    lines = verify.unmet(without)
    assert any(line.startswith("requests: required by smart-open[http]") for line in lines), lines


def test_conflicting_pins_across_locks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.lock").write_text("pip==26.3 \\\n")
    (tmp_path / "b.lock").write_text("pip==23.2.1 \\\n")
    assert _verify_lock().main([str(tmp_path / "a.lock"), str(tmp_path / "b.lock")]) == 1
    assert "pip is pinned at 26.3 and 23.2.1" in capsys.readouterr().err


def test_image_copies_only_files_that_exist() -> None:
    """No engine runs here to build the image: every COPY from the build context must at
    least name files of the repository (the compose build context is the repository root)."""
    docker = (ROOT / "deploy" / "Dockerfile").read_text()
    for line in docker.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _dest = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"the image copies {source}: not in the repo"
