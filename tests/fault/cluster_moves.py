"""The faults of the cluster fault test, each a function of a :class:`Run` that does it
and says when it began and when the cluster (or the worker) was whole again::

    run = Run(settings, workers=[worker], make_worker=worker_factory)
    began, back, node = FAULTS["pause"](run)

Every node is found by its role at the time of the fault (the leader of the stories
partition, the group coordinator, the Elasticsearch node with the articles primary).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from pipeline.core.settings import Settings
from pipeline.ops import stack
from pipeline.ops.stack import services
from pipeline.stream.topics import under_replicated
from tests.conftest import wait_for
from tests.fault.cluster_kit import BROKERS, coordinator_of, kill, leader_of, primary_node

AWAY = float(os.environ.get("CLUSTER_FAULT_AWAY", "20"))  # a killed node is away this long
PAUSE = float(os.environ.get("CLUSTER_FAULT_PAUSE", "30"))  # SIGSTOP: past the 15 s session


@dataclass
class Run:
    """What the faults act on: the cluster's settings and the worker processes."""

    settings: Settings
    workers: list[Any]
    make_worker: Callable[[Settings], Any]
    retired: list[Any] = field(default_factory=list)  # workers the faults killed

    def broker_pid(self, node: int) -> Path:
        return services.kafka_paths(self.settings, node)["pid"]


def _restart(run: Run) -> float:
    stack.up(run.settings, say=lambda m: None, timeout=240)
    return time.monotonic()


def _stories_node(run: Run) -> tuple[int, str]:
    s = run.settings
    node = leader_of(s, s.stories_topic)
    also = " and quotes" if leader_of(s, s.quotes_topic) == node else ""
    return node, f"kafka-{node} (stories{also})"


def _coordinator_node(run: Run) -> tuple[int, str]:
    node = coordinator_of(run.settings, run.settings.app_id)
    leads = leader_of(run.settings, run.settings.stories_topic) == node
    return node, f"kafka-{node}" + (" (also stories leader)" if leads else "")


def _kill_broker(run: Run, node: int, name: str) -> tuple[float, float, str]:
    """SIGKILL broker ``node``; started again after AWAY s."""
    began = time.monotonic()
    kill(run.broker_pid(node))
    time.sleep(AWAY)
    return began, _restart(run), name


def kill_stories_leader(run: Run) -> tuple[float, float, str]:
    """SIGKILL the broker leading the stories partition; started again after AWAY s."""
    return _kill_broker(run, *_stories_node(run))


def kill_coordinator(run: Run) -> tuple[float, float, str]:
    """SIGKILL the broker coordinating the workers' group; started again after AWAY s."""
    return _kill_broker(run, *_coordinator_node(run))


def pause_coordinator(run: Run) -> tuple[float, float, str]:
    """SIGSTOP the group coordinator's broker for PAUSE s (past the workers' 15 s session
    and the brokers' 9 s session with the controllers), then SIGCONT: a broker that
    comes back by itself, its leaderships and the coordinator long moved away."""
    node, name = _coordinator_node(run)
    pid = services.read_pid(run.broker_pid(node))
    assert pid is not None, f"kafka-{node} is not running"
    began = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(PAUSE)
    finally:
        os.kill(pid, signal.SIGCONT)
    back = time.monotonic()
    wait_for(lambda: in_sync(run.settings), timeout=180, every=2,
             what=f"kafka-{node} back in sync after SIGCONT")
    return began, back, f"{name}, stopped {PAUSE:g} s"


def rolling_restart(run: Run) -> tuple[float, float, str]:
    """Every broker in turn: SIGTERM (a clean shutdown), started again, and the next only
    when every partition has all its replicas in sync again."""
    began = time.monotonic()
    for node in range(1, BROKERS + 1):
        assert services.stop_pid(run.broker_pid(node), timeout=60), f"kafka-{node} not running"
        _restart(run)
        wait_for(lambda: in_sync(run.settings), timeout=240, every=2,
                 what=f"every partition in sync after kafka-{node}'s restart")
    return began, time.monotonic(), f"kafka-1..{BROKERS}, one by one"


def kill_es_primary(run: Run) -> tuple[float, float, str]:
    """SIGKILL the Elasticsearch node holding the articles index's primary; started again
    after AWAY s."""
    from pipeline.index.mapping import index_name

    node = primary_node(run.settings, index_name(run.settings))
    roles = es_roles(run.settings, f"newsflow-{node}")
    began = time.monotonic()
    kill(services.es_paths(run.settings, node)["pid"])
    time.sleep(AWAY)
    return began, _restart(run), f"elasticsearch-{node}" + (f" ({roles})" if roles else "")


def es_roles(settings: Settings, name: str) -> str:
    """Whether node ``name`` is the elected master and holds the voting configuration's
    vote(s) (with two master-eligible nodes, one of them holds the only vote)."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(settings.es_hosts, request_timeout=10)
    try:
        ids = {nid: n["name"] for nid, n in es.nodes.info()["nodes"].items()}
        state = es.cluster.state(metric="master_node,metadata",
                                 filter_path="master_node,metadata.cluster_coordination")
        voting = state["metadata"]["cluster_coordination"]["last_committed_config"]
        out = []
        if ids.get(state["master_node"]) == name:
            out.append("elected master")
        if name in {ids.get(v) for v in voting}:
            out.append(f"in the voting configuration of {len(voting)}")
        return ", ".join(out)
    except Exception as exc:  # noqa: BLE001 - a description only
        return f"roles unknown: {exc!r}"[:120]
    finally:
        es.close()


def handover(run: Run) -> tuple[float, float, str]:
    """A second worker joins the group; once it holds partitions, the first worker is
    SIGKILLed and the second takes all of them (after the 15 s session timeout)."""
    from dataclasses import replace

    first = run.workers[0]
    alone = wait_for(lambda: group_members(run.settings), timeout=120, every=2,
                     what="the consumer group stable")
    second = run.make_worker(replace(run.settings, worker_index=len(run.retired)
                                     + len(run.workers))).start()
    run.workers.append(second)
    wait_for(lambda: group_members(run.settings) > alone, timeout=240, every=2,
             what="the second worker in the consumer group")
    time.sleep(15)  # both work: partitions spread, the second past its first batches
    began = time.monotonic()
    first.kill()
    run.workers.remove(first)
    run.retired.append(first)
    wait_for(lambda: group_members(run.settings) == alone, timeout=120, every=1,
             what="the killed worker out of the group")
    return began, time.monotonic(), "worker 1 killed, worker 2 takes over"


FAULTS: dict[str, Callable[[Run], tuple[float, float, str]]] = {
    "stories partition leader": kill_stories_leader,
    "group coordinator": kill_coordinator,
    "coordinator paused (SIGSTOP)": pause_coordinator,
    "rolling restart of the brokers": rolling_restart,
    "articles primary (Elasticsearch)": kill_es_primary,
    "worker killed, another takes over": handover,
}
SHORT = {"leader": "stories partition leader", "coordinator": "group coordinator",
         "pause": "coordinator paused (SIGSTOP)", "rolling": "rolling restart of the brokers",
         "es": "articles primary (Elasticsearch)", "worker": "worker killed, another takes over"}
CI = ("leader", "pause")


def chosen(value: str | None) -> list[str]:
    """The faults ``CLUSTER_FAULTS`` selects: ``ci`` (default, a small form), ``full``
    (all, in order) or short names separated by commas.

    >>> chosen(None), chosen("es,leader")
    (['stories partition leader', 'coordinator paused (SIGSTOP)'], \
['articles primary (Elasticsearch)', 'stories partition leader'])
    """
    value = (value or "ci").strip()
    names = list(SHORT) if value == "full" else list(CI) if value == "ci" \
        else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SHORT]
    if unknown:
        raise ValueError(f"CLUSTER_FAULTS: unknown {unknown}; use ci, full or some of "
                         f"{', '.join(SHORT)}")
    return [SHORT[n] for n in names]


def in_sync(settings: Settings) -> bool:
    """Every partition of the pipeline's topics and of the group offsets has all its
    replicas in sync (and a leader)."""
    try:
        admin = KafkaAdminClient(**settings.kafka_client_config(), request_timeout_ms=5000)
    except Exception:  # noqa: BLE001 - a broker still away
        return False
    try:
        described = admin.describe_topics([*settings.topics, "__consumer_offsets"])
        parts = [p for t in described for p in t.get("partitions", [])]
        return bool(parts) and not under_replicated(described) \
            and all(p.get("leader_id", -1) >= 0 for p in parts) \
            and not any(t.get("error_code") for t in described)
    except Exception:  # noqa: BLE001 - metadata not yet there
        return False
    finally:
        admin.close()


def group_members(settings: Settings) -> int:
    """Members of the workers' consumer group in a stable state (0 while it rebalances)."""
    try:
        admin = KafkaAdminClient(**settings.kafka_client_config(), request_timeout_ms=5000)
    except Exception:  # noqa: BLE001 - a broker away
        return 0
    try:
        info = admin.describe_groups([settings.app_id])[settings.app_id]
        state = info.get("group_state", info.get("state"))
        return len(info.get("members") or []) if state == "Stable" else 0
    except Exception:  # noqa: BLE001 - the coordinator moving
        return 0
    finally:
        admin.close()
