"""How many copies of each topic partition and index shard: settings resolved against the
cluster that is really there, and checked before anything is created.

``NEWSFLOW_TOPIC_REPLICATION`` and ``NEWSFLOW_MIN_INSYNC_REPLICAS`` are a number or ``auto``
(the default): ``min(3, brokers)`` copies, of which 2 must acknowledge a write when there are
3 or more (1 otherwise). Producers send with ``acks=all``, so a write is kept by
``min.insync.replicas`` brokers before it counts::

    >>> resolve_topics(Replication(), brokers=1), resolve_topics(Replication(), brokers=5)
    ((1, 1), (3, 2))
    >>> print(problems(Replication(factor="3", min_insync="3"), brokers=3).errors[0][:67])
    min.insync.replicas 3 >= replication factor 3: a single broker down

``NEWSFLOW_INDEX_REPLICAS`` is a number or ``auto``, given to Elasticsearch as
``auto_expand_replicas``: ``auto`` is ``0-1``, no replica on one node and one as soon as a
second data node joins; a number N is ``N-N``, always N (it also wins over a
``number_of_replicas`` given when an index is created)::

    >>> index_replica_settings("auto"), index_replica_settings("2")
    ({'auto_expand_replicas': '0-1'}, {'auto_expand_replicas': '2-2'})
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.core.errors import ConfigError

AUTO = "auto"


def parse_count(name: str, raw: str | None, *, minimum: int) -> str:
    """``auto`` or a whole number of at least ``minimum``, as text; anything else is an error
    naming the variable.

    >>> parse_count("NEWSFLOW_TOPIC_REPLICATION", " 3 ", minimum=1)
    '3'
    """
    value = (raw or AUTO).strip().lower()
    if value == AUTO:
        return AUTO
    if not value.isdigit() or int(value) < minimum:
        raise ConfigError(f"{name}={raw!r}: give 'auto' or a whole number >= {minimum}")
    return str(int(value))


@dataclass(frozen=True)
class Replication:
    """The configured values, each ``auto`` or a number (as text)."""

    factor: str = AUTO
    min_insync: str = AUTO
    index_replicas: str = AUTO


@dataclass
class Problems:
    """What cannot hold (``errors``: setup refuses) and what holds weakly (``warnings``)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def resolve_topics(rep: Replication, *, brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) on a cluster of ``brokers`` brokers."""
    factor = min(3, max(1, brokers)) if rep.factor == AUTO else int(rep.factor)
    if rep.min_insync == AUTO:
        return factor, 2 if factor >= 3 else 1
    return factor, int(rep.min_insync)


def problems(rep: Replication, *, brokers: int, es_data_nodes: int | None = None) -> Problems:
    """Check the settings against a cluster of ``brokers`` brokers (and data nodes)."""
    found = Problems()
    factor, insync = resolve_topics(rep, brokers=brokers)
    if factor > brokers:
        found.errors.append(
            f"replication factor {factor} > {brokers} broker(s): Kafka cannot place the "
            "copies; lower NEWSFLOW_TOPIC_REPLICATION (or 'auto') or add brokers")
    if insync > factor:
        found.errors.append(
            f"min.insync.replicas {insync} > replication factor {factor}: no write could "
            "ever succeed; lower NEWSFLOW_MIN_INSYNC_REPLICAS")
    elif insync == factor > 1:
        found.errors.append(
            f"min.insync.replicas {insync} >= replication factor {factor}: a single broker "
            "down stops every write; set NEWSFLOW_MIN_INSYNC_REPLICAS below "
            "NEWSFLOW_TOPIC_REPLICATION")
    if factor == 1:
        found.warnings.append("topics have one copy (replication 1): a broker lost loses "
                              "its partitions")
    elif insync == 1:
        found.warnings.append(f"min.insync.replicas 1 with replication {factor}: acks=all "
                              "waits for the leader only, a leader lost can lose writes")
    if es_data_nodes is not None and rep.index_replicas != AUTO:
        replicas = int(rep.index_replicas)
        if replicas >= es_data_nodes:
            found.warnings.append(
                f"{replicas} index replica(s) on {es_data_nodes} data node(s): some copies "
                "stay unassigned and the cluster stays yellow")
    return found


def index_replica_settings(value: str) -> dict[str, object]:
    """The index settings for ``NEWSFLOW_INDEX_REPLICAS`` (see the module's doc)."""
    if value == AUTO:
        return {"auto_expand_replicas": "0-1"}
    return {"auto_expand_replicas": f"{int(value)}-{int(value)}"}
