"""`newsflow worker --processes 2`: two real Faust processes share the partitions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient

from pipeline.core.settings import Settings
from pipeline.stream.topics import ensure_topics
from tests.conftest import ROOT, settings_env, wait_for

pytestmark = pytest.mark.integration


def _members(settings: Settings) -> int:
    admin = KafkaAdminClient(**settings.kafka_client_config())
    try:
        group = admin.describe_groups([settings.app_id])[settings.app_id]
        return len(group.get("members", [])) if group.get("group_state") == "Stable" else 0
    finally:
        admin.close()


def test_two_worker_processes_join_one_group(isolated: Settings) -> None:
    ensure_topics(isolated)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "worker", "--processes", "2",
                             "--loglevel", "warn"], env=settings_env(isolated), cwd=ROOT,
                            start_new_session=True)
    try:
        wait_for(lambda: _members(isolated) == 2 or proc.poll() is not None, timeout=180,
                 what="two members in the consumer group")
        assert proc.poll() is None, "the worker supervisor exited"
        assert _members(isolated) == 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    time.sleep(1)
