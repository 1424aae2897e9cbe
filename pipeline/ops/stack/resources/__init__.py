"""Files the local stack needs at run time, shipped inside the package (wheel included).

* ``versions.env``: the one place the service versions are pinned (docker-compose.yml
  uses the same versions; a test compares them);
* ``pom.xml``: the Maven project that resolves the Kafka jars from Maven Central;
* ``log4j2.properties``: Kafka's logging configuration.

    >>> read_versions()["KAFKA_VERSION"]
    '4.1.1'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def text(name: str) -> str:
    """The text of one bundled resource file."""
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


def read_versions() -> dict[str, str]:
    """The pinned service versions shared by the local stack and docker-compose."""
    out: dict[str, str] = {}
    for line in text("versions.env").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def materialize(name: str, directory: Path) -> Path:
    """Write a bundled file into ``directory`` (a real path that Java tools can read)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    content = text(name)
    if not target.exists() or target.read_text(encoding="utf-8") != content:
        target.write_text(content, encoding="utf-8")
    return target
