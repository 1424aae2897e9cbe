"""Download (once, cached) the Kafka jars and the Elasticsearch distribution.

Both come from Maven Central through Maven, so they land in Maven's local
repository (``~/.m2``) and are reused by every later run::

    from pipeline.ops.stack.fetch import fetch_all
    kafka_home, es_home = fetch_all(Settings.from_env())
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from pipeline.core.errors import StackError
from pipeline.core.settings import Settings
from pipeline.ops.stack.resources import materialize, read_versions


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise StackError(f"'{tool}' is not on PATH: {hint}")
    return path


def _mvn(args: list[str]) -> None:
    mvn = _require("mvn", "install Maven (Debian: apt-get install maven).")
    cmd = [mvn, "-B", "-q", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise StackError("Maven failed: " + " ".join(cmd) + "\n" + "\n".join(tail))


def kafka_dir(settings: Settings) -> Path:
    return settings.home / "dist" / f"kafka-{read_versions()['KAFKA_VERSION']}"


def es_dir(settings: Settings) -> Path:
    version = read_versions()["ELASTICSEARCH_VERSION"]
    return settings.home / "dist" / f"elasticsearch-{version}"


def fetch_kafka(settings: Settings) -> Path:
    """Resolve ``kafka_2.13`` and a log4j2 backend into ``<home>/dist/kafka-V/libs``."""
    target = kafka_dir(settings)
    libs = target / "libs"
    if (target / ".complete").exists():
        return target
    version = read_versions()["KAFKA_VERSION"]
    libs.mkdir(parents=True, exist_ok=True)
    pom = materialize("pom.xml", settings.home / "conf")
    _mvn(["-f", str(pom), f"-Dkafka.version={version}", "dependency:copy-dependencies",
          f"-DoutputDirectory={libs}"])
    if not list(libs.glob(f"kafka_2.13-{version}.jar")):
        raise StackError(f"Maven did not deliver kafka_2.13-{version}.jar into {libs}")
    (target / ".complete").touch()
    return target


def fetch_elasticsearch(settings: Settings) -> Path:
    """Resolve the official integ-test-zip distribution and unpack it."""
    target = es_dir(settings)
    if (target / ".complete").exists():
        return target
    version = read_versions()["ELASTICSEARCH_VERSION"]
    artifact = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
    _mvn(["dependency:get", f"-Dartifact={artifact}", "-Dtransitive=false"])
    m2 = Path(os.environ.get("MAVEN_REPO", Path.home() / ".m2" / "repository"))
    zip_path = (m2 / "org/elasticsearch/distribution/integ-test-zip/elasticsearch"
                / version / f"elasticsearch-{version}.zip")
    if not zip_path.exists():
        raise StackError(f"Elasticsearch zip not found at {zip_path} after Maven ran")
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(target.parent)
        for info in zf.infolist():  # zipfile drops the executable bits: restore them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(target.parent / info.filename, mode & 0o7777)
    (target / ".complete").touch()
    return target


def fetch_all(settings: Settings) -> tuple[Path, Path]:
    return fetch_kafka(settings), fetch_elasticsearch(settings)
