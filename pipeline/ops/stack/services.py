"""Start, health-check and stop one local service (Kafka or Elasticsearch).

Each service is a background process with a pid file, a log file and a data
directory under the stack's home (``NEWSFLOW_HOME``).
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pipeline.core.errors import StackError
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.ops.stack.fetch import es_dir, kafka_dir
from pipeline.ops.stack.resources import materialize

ES_USER = "newsflow"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def kafka_endpoint(settings: Settings) -> Endpoint:
    first = settings.kafka_bootstrap.split(",")[0]
    host, _, port = first.rpartition(":")
    return Endpoint(host or "localhost", int(port or 9092))


def es_endpoint(settings: Settings) -> Endpoint:
    url = urlparse(settings.es_url)
    return Endpoint(url.hostname or "localhost", url.port or 9200)


def port_open(ep: Endpoint, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def stop_pid(pidfile: Path, *, timeout: float = 30.0) -> bool:
    """SIGTERM, wait, then SIGKILL. True when a process was running."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and read_pid(pidfile) is not None:
        time.sleep(0.2)
    if read_pid(pidfile) is not None:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


def java_major(java_home: Path) -> int:
    release = java_home / "release"
    if release.exists():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
        if m:
            return int(m.group(1))
    return 0


def find_java(minimum: int) -> Path:
    """A JDK of at least ``minimum``: ES_JAVA_HOME, JAVA_HOME, then /usr/lib/jvm."""
    candidates = [os.environ.get("ES_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += [str(p) for p in sorted(jvm.iterdir(), reverse=True)]
    java = shutil.which("java")
    if java:
        candidates.append(str(Path(os.path.realpath(java)).parent.parent))
    for cand in candidates:
        if cand and (Path(cand) / "bin" / "java").exists() and java_major(Path(cand)) >= minimum:
            return Path(cand)
    raise StackError(
        f"No JDK {minimum} or newer found (looked at ES_JAVA_HOME, JAVA_HOME, /usr/lib/jvm). "
        f"Install one (e.g. a Temurin JDK) or point ES_JAVA_HOME at it."
    )


# ---------------------------------------------------------------- Kafka

def kafka_paths(settings: Settings) -> dict[str, Path]:
    base = settings.home / "kafka"
    return {"base": base, "data": base / "data", "pid": base / "kafka.pid",
            "conf": base / "server.properties", "logs": settings.home / "logs"}


def _sasl_properties(settings: Settings) -> list[str]:
    """SASL/PLAIN on the client listener, with the configured user (secure profile)."""
    if not settings.kafka_sasl_mechanism:
        return []
    if settings.kafka_sasl_mechanism != "PLAIN":
        raise StackError("the local stack supports SASL mechanism PLAIN only; docker-compose "
                         "(deploy/docker-compose.secure.yml) documents SCRAM")
    user, password = settings.kafka_sasl_username, settings.kafka_sasl_password
    jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{user}" password="{password}" user_{user}="{password}";')
    return ["sasl.enabled.mechanisms=PLAIN",
            f"listener.name.client.plain.sasl.jaas.config={jaas}"]


def _kafka_properties(settings: Settings, data: Path) -> str:
    ep = kafka_endpoint(settings)
    controller = ep.port + 1
    client = "SASL_PLAINTEXT" if settings.kafka_sasl_mechanism else "PLAINTEXT"
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@{ep.host}:{controller}",
        f"listeners=CLIENT://{ep.host}:{ep.port},CONTROLLER://{ep.host}:{controller}",
        f"advertised.listeners=CLIENT://{ep.host}:{ep.port}",
        "controller.listener.names=CONTROLLER",
        f"listener.security.protocol.map=CLIENT:{client},CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=CLIENT",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        *_sasl_properties(settings),
        f"log.dirs={data}",
        f"num.partitions={settings.partitions}",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=8",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        f"message.max.bytes={MAX_MESSAGE_BYTES}",
        "log.retention.hours=168",
        "",
    ])


def start_kafka(settings: Settings) -> None:
    p = kafka_paths(settings)
    if read_pid(p["pid"]) is not None:
        return
    ep = kafka_endpoint(settings)
    if port_open(ep):
        raise StackError(f"Port {ep.port} is taken by another process: stop it or set "
                         "NEWSFLOW_KAFKA_BOOTSTRAP to a free host:port.")
    java = find_java(17) / "bin" / "java"
    for key in ("base", "data", "logs"):
        p[key].mkdir(parents=True, exist_ok=True)
    p["conf"].write_text(_kafka_properties(settings, p["data"]))
    classpath = str(kafka_dir(settings) / "libs" / "*")
    log4j = materialize("log4j2.properties", settings.home / "conf")
    jvm = [str(java), "-Xms256m", "-Xmx768m", f"-Dlog4j2.configurationFile={log4j}",
           f"-Dkafka.logs.dir={p['logs']}", "-cp", classpath]
    if not (p["data"] / "meta.properties").exists():
        fmt = subprocess.run([*jvm, "kafka.tools.StorageTool", "format",
                              f"--cluster-id={kafka_cluster_id()}",
                              "-c", str(p["conf"]), "--ignore-formatted"],
                             capture_output=True, text=True, check=False)
        if fmt.returncode != 0:
            raise StackError("Formatting Kafka storage failed:\n" + fmt.stdout + fmt.stderr)
    with open(p["logs"] / "kafka.out", "ab") as out:
        proc = subprocess.Popen([*jvm, "kafka.Kafka", str(p["conf"])], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    p["pid"].write_text(str(proc.pid))


def kafka_cluster_id(*, random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes
                     ) -> str:
    """A cluster id made as Kafka's ``Uuid.randomUuid()`` makes it: 16 random bytes in
    URL-safe base64 without padding, drawn again while it is reserved (all zeros, or the
    metadata topic's id 0…01) or starts with ``-`` (Kafka's tools would read it as an option).

    >>> kafka_cluster_id(random_bytes=iter([b"\\xfb" + bytes(15), bytes(15) + b"\\x07"]).__next__)
    'AAAAAAAAAAAAAAAAAAAABw'
    """
    reserved = {bytes(16), bytes(15) + b"\x01"}
    while True:
        raw = random_bytes()
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if raw not in reserved and not text.startswith("-"):
            return text


def kafka_healthy(settings: Settings) -> bool:
    from pipeline.stream.topics import kafka_problem

    return port_open(kafka_endpoint(settings)) and kafka_problem(settings,
                                                                 timeout_ms=3000) is None


# ---------------------------------------------------------------- Elasticsearch

def es_paths(settings: Settings) -> dict[str, Path]:
    base = settings.home / "elasticsearch"
    return {"base": base, "data": base / "data", "pid": base / "es.pid",
            "logs": settings.home / "logs" / "elasticsearch"}


def system_tool(name: str) -> str:
    """An administration tool by absolute path: PATH first, then the sbin directories a
    non-login shell may leave out (``runuser`` and ``useradd`` live in /usr/sbin)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if not found:
        raise StackError(f"'{name}' is not installed; Elasticsearch refuses to run as root, "
                         "so the stack needs it to start Elasticsearch as the 'newsflow' user "
                         "(Debian: apt-get install util-linux passwd), or run as a normal user.")
    return found


def _check_reachable(home: Path, user: str) -> None:
    """The unprivileged user must be able to walk down to ``home`` (a ``mktemp -d`` parent,
    mode 700, would make Elasticsearch fail with a bare "Permission denied")."""
    for directory in reversed(home.resolve().parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise StackError(f"Elasticsearch runs as the user '{user}' (it refuses root), who "
                             f"cannot enter {directory} (mode {stat.filemode(mode)}): "
                             f"`chmod o+x {directory}` or choose a NEWSFLOW_HOME elsewhere.")


def _ensure_es_user() -> str | None:
    """Elasticsearch refuses to run as root: create and use an unprivileged user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run([system_tool("useradd"), "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", ES_USER], check=True, capture_output=True)
    return ES_USER


def start_elasticsearch(settings: Settings) -> None:
    p = es_paths(settings)
    if read_pid(p["pid"]) is not None:
        return
    ep = es_endpoint(settings)
    if port_open(ep):
        raise StackError(f"Port {ep.port} is taken by another process: stop it or set "
                         "NEWSFLOW_ES_URL to a free port.")
    java_home = find_java(21)
    home = es_dir(settings)
    for key in ("base", "data", "logs"):
        p[key].mkdir(parents=True, exist_ok=True)
    config = [f"-Ehttp.port={ep.port}", f"-Etransport.port={ep.port + 100}",
              f"-Enetwork.host={ep.host}", "-Ediscovery.type=single-node",
              f"-Epath.data={p['data']}", f"-Epath.logs={p['logs']}",
              "-Expack.security.enabled=false", "-Ecluster.name=newsflow-local",
              "-Ecluster.routing.allocation.disk.threshold_enabled=false",
              "-Eaction.destructive_requires_name=false"]
    env = {**os.environ, "ES_JAVA_HOME": str(java_home),
           "ES_JAVA_OPTS": settings.es_java_opts}
    env.pop("JAVA_HOME", None)
    cmd = [str(home / "bin" / "elasticsearch"), "-d", "-p", str(p["pid"]), *config]
    user = _ensure_es_user()
    if user:
        _check_reachable(settings.home, user)
        for path in (home, p["base"], p["logs"]):
            subprocess.run([system_tool("chown"), "-R", f"{user}:{user}", str(path)], check=True)
        os.chmod(settings.home, 0o755)
        cmd = [system_tool("runuser"), "-u", user, "--", *cmd]
    with open(settings.home / "logs" / "elasticsearch.out", "ab") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise StackError(f"Elasticsearch failed to start (exit {proc.returncode}); "
                         f"see {settings.home / 'logs'}")


def es_health(settings: Settings) -> dict[str, object] | None:
    url = f"{settings.es_url}/_cluster/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            body: dict[str, object] = json.load(resp)
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


def es_healthy(settings: Settings) -> bool:
    health = es_health(settings)
    return bool(health and health.get("status") in ("green", "yellow"))
