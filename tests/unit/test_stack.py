"""The local stack's pure parts: Kafka cluster ids, bundled resources."""

from __future__ import annotations

import base64

from pipeline.ops.stack.resources import materialize, read_versions
from pipeline.ops.stack.services import kafka_cluster_id


def test_cluster_ids_never_look_like_options() -> None:
    ids = [kafka_cluster_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert not cid.startswith("-") and len(cid) == 22
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_a_dash_or_reserved_draw_is_drawn_again() -> None:
    draws = iter([b"\xf8" + bytes(15), bytes(16), bytes(15) + b"\x01", b"\x01" * 16])
    assert kafka_cluster_id(random_bytes=draws.__next__) == base64.urlsafe_b64encode(
        b"\x01" * 16).decode().rstrip("=")


def test_resources_are_package_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    versions = read_versions()
    assert set(versions) == {"KAFKA_VERSION", "ELASTICSEARCH_VERSION", "KIBANA_VERSION"}
    pom = materialize("pom.xml", tmp_path)
    assert f"<kafka.version>{versions['KAFKA_VERSION']}</kafka.version>" in pom.read_text()


def test_a_killed_child_is_gone_not_a_zombie(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A node this process started and then killed is reaped: the pid file's process is
    gone at once (a stop or a fault test does not wait out its timeout on a zombie)."""
    import signal
    import subprocess
    import time

    from pipeline.ops.stack.process import read_pid, stop_pid

    proc = subprocess.Popen(["sleep", "60"])
    pidfile = tmp_path / "node.pid"
    pidfile.write_text(str(proc.pid))
    assert read_pid(pidfile) == proc.pid
    proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while read_pid(pidfile) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_pid(pidfile) is None
    other = subprocess.Popen(["sleep", "60"])
    pidfile.write_text(str(other.pid))
    started = time.monotonic()
    assert stop_pid(pidfile, timeout=20)  # SIGTERM: gone without waiting 20 s
    assert time.monotonic() - started < 10
    assert read_pid(pidfile) is None


def test_a_node_that_exits_while_starting_fails_at_once() -> None:
    import time

    import pytest

    from pipeline.core.errors import StackError
    from pipeline.ops.stack import _wait

    started = time.monotonic()
    with pytest.raises(StackError, match="Kafka broker 2 exited while starting; see logs/"):
        _wait(lambda: False, what="Kafka broker 2", timeout=60, logs="logs/",
              alive=lambda: False)
    assert time.monotonic() - started < 30
    _wait(lambda: True, what="ok", timeout=1, logs="logs/", alive=lambda: False)
