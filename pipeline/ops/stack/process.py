"""Processes of the local stack: ports, pid files, the JDK and the tools to run as another
user. Shared by the Kafka and Elasticsearch services (:mod:`pipeline.ops.stack.services`)."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import StackError

ES_USER = "newsflow"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def port_open(ep: Endpoint, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process runs. A child of this process that has
    exited (a zombie, e.g. a broker this process started and then killed) is reaped
    and counts as gone."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    except ChildProcessError:
        pass  # not our child: its parent reaps it
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
