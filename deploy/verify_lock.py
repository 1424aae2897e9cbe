"""Check that an environment holds exactly its locks: nothing missing, nothing else, no drift.

Run with the environment's own interpreter (standard library only), after installing::

    .venv/bin/python deploy/verify_lock.py requirements-dev.lock requirements-bootstrap.lock \\
        --allow newsflow

Every pin of the locks whose marker applies must be installed at exactly its version,
every installed distribution must be a pin of the locks (or named by ``--allow``), and every
requirement of every installed distribution must be met, *the extras it asks for included*
(``weasel`` needs ``smart-open[http]``, so ``requests``): ``pip check`` does not follow
extras. Exit 0 with one line when it holds; exit 1 listing each difference otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;([^\\]*))?",
                 re.MULTILINE)


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``canonical("Smart_Open") == "smart-open"``."""
    return re.sub(r"[-_.]+", "-", name).lower()


try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
except ImportError:  # a bare environment: pip carries packaging
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]


def _applies(marker: str | None) -> bool:
    if not marker or not marker.strip():
        return True
    return bool(Marker(marker.strip()).evaluate())


def locked(text: str) -> dict[str, str]:
    """The pins of one lock that apply here, by canonical name.

    >>> locked("pip==26.3 \\\\\\n    --hash=sha256:ab\\nFoo_Bar[x]==1.0 ; python_version < '3'\\n")
    {'pip': '26.3'}
    """
    return {canonical(n): v for n, v, marker in PIN.findall(text) if _applies(marker)}


def installed() -> dict[str, str]:
    """Every distribution this interpreter sees, by canonical name."""
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}


def unmet(have: dict[str, str]) -> list[str]:
    """Requirements of installed distributions that are not met, following requested extras.

    ``weasel`` asks for ``smart-open[http]``, so the requirements of smart-open's ``http``
    extra must be installed too, at versions their specifiers accept.
    """
    out = []
    todo = [(canonical(d.metadata["Name"]), "", r) for d in metadata.distributions()
            for r in d.requires or []]
    seen = set()
    while todo:
        owner, extra, line = todo.pop()
        if (owner, extra, line) in seen:
            continue
        seen.add((owner, extra, line))
        req = Requirement(line)
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonical(req.name)
        who = f"{owner}[{extra}]" if extra else owner
        if name not in have:
            out.append(f"{name}: required by {who} ({line}), not installed")
            continue
        if not req.specifier.contains(have[name], prereleases=True):
            out.append(f"{name}: installed {have[name]}, {who} requires {req.specifier}")
        if req.extras:
            dist = metadata.distribution(name)
            todo += [(name, x, r) for x in req.extras for r in dist.requires or []]
    return sorted(set(out))


def differences(want: dict[str, str], have: dict[str, str], *, allow: set[str]) -> list[str]:
    """What differs between the locks and the environment, one line each.

    >>> differences({"a": "1", "b": "2"}, {"a": "1.1", "c": "3"}, allow=set())
    ['a: installed 1.1, locked 1', 'b: locked 2, not installed', 'c: installed 3, in no lock']
    """
    out = []
    for name in sorted(want.keys() | have.keys()):
        if name in allow:
            continue
        if name not in have:
            out.append(f"{name}: locked {want[name]}, not installed")
        elif name not in want:
            out.append(f"{name}: installed {have[name]}, in no lock")
        elif have[name] != want[name]:
            out.append(f"{name}: installed {have[name]}, locked {want[name]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="+", type=Path)
    parser.add_argument("--allow", action="append", default=[],
                        help="a distribution that may be installed outside the locks")
    args = parser.parse_args(argv)
    want: dict[str, str] = {}
    for lock in args.locks:
        for name, version in locked(lock.read_text(encoding="utf-8")).items():
            if want.get(name, version) != version:
                print(f"verify-lock: {name} is pinned at {want[name]} and {version} in "
                      f"different locks: run 'make lock'", file=sys.stderr)
                return 1
            want[name] = version
    have = installed()
    diff = differences(want, have, allow={canonical(a) for a in args.allow}) + unmet(have)
    if diff:
        print("verify-lock: this environment is not what the locks say:", file=sys.stderr)
        for line in diff:
            print(f"  {line}", file=sys.stderr)
        print("  (a fresh venv installed with deploy/install-locked.sh holds exactly the locks)",
              file=sys.stderr)
        return 1
    print(f"verify-lock: {len(want)} distributions, each at its locked version "
          f"({', '.join(p.name for p in args.locks)}), nothing else, every requirement and "
          f"extra met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
