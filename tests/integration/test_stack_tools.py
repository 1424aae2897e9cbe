"""The real Kafka tools accept every cluster id newsflow generates."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from pipeline.core.settings import Settings
from pipeline.ops.stack.fetch import kafka_dir
from pipeline.ops.stack.services import find_java


@pytest.mark.integration
def test_kafka_storage_tool_accepts_a_dash_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real Kafka StorageTool formats with an id that starts with '-' when it is passed
    as ``--cluster-id=<id>`` (the form start_kafka uses): the 1-in-64 failure is gone twice."""
    libs = kafka_dir(Settings.from_env()) / "libs"
    if not libs.is_dir():
        pytest.fail(f"{libs} is missing: run `newsflow stack up` first (make test does)")
    conf = tmp_path / "server.properties"
    conf.write_text("process.roles=broker,controller\nnode.id=1\n"
                    "controller.quorum.voters=1@127.0.0.1:19093\n"
                    "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n"
                    "controller.listener.names=CONTROLLER\n"
                    f"log.dirs={tmp_path / 'data'}\n")
    dash_id = base64.urlsafe_b64encode(b"\xfb" + os.urandom(15)).decode().rstrip("=")
    assert dash_id.startswith("-")
    java = find_java(17) / "bin" / "java"
    proc = subprocess.run([str(java), "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
                           f"--cluster-id={dash_id}", "-c", str(conf)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert dash_id in (tmp_path / "data" / "meta.properties").read_text()
