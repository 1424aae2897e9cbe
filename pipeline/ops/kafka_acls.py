"""Kafka ACLs with a user per role, for a broker with an authorizer (StandardAuthorizer):

* the connector user may only write the raw and dead-letter topics (connectors parse
  untrusted web content: they get nothing else);
* the worker user reads and writes the pipeline's topics (``<prefix>.*``) and Faust's own
  (``<app id>-*``), in its consumer group;
* setup (topics, ACLs) runs as a super user of the broker (``super.users``).

    >>> rules = role_acls(Settings(), connector="connector", worker="worker")
    >>> sorted({(a.resource_pattern.resource_name, a.operation.name) for a in rules
    ...         if a.principal == "User:connector"})  # doctest: +NORMALIZE_WHITESPACE
    [('kafka-cluster', 'IDEMPOTENT_WRITE'), ('news.deadletter.v1', 'DESCRIBE'),
     ('news.deadletter.v1', 'WRITE'), ('news.raw.v1', 'DESCRIBE'), ('news.raw.v1', 'WRITE')]

``newsflow setup --kafka-acls`` creates them (as the super user it is configured with).
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from pipeline.core.errors import NewsflowError
from pipeline.core.settings import Settings

CLUSTER = "kafka-cluster"
WORKER_TOPIC_OPS = (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE,
                    ACLOperation.DESCRIBE_CONFIGS, ACLOperation.CREATE)


def _allow(user: str, op: ACLOperation, kind: ResourceType, name: str,
           pattern: ACLResourcePatternType = ACLResourcePatternType.LITERAL) -> ACL:
    return ACL(principal=f"User:{user}", host="*", operation=op,
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(kind, name, pattern))


def connector_acls(settings: Settings, user: str) -> list[ACL]:
    """Write (and describe, for metadata) the raw and dead-letter topics; idempotent
    producing. No read, no group, no create, no delete."""
    rules = [_allow(user, op, ResourceType.TOPIC, topic)
             for topic in (settings.raw_topic, settings.dead_letter_topic)
             for op in (ACLOperation.WRITE, ACLOperation.DESCRIBE)]
    return [*rules, _allow(user, ACLOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER)]


def worker_acls(settings: Settings, user: str) -> list[ACL]:
    """The pipeline's topics and Faust's own topics (prefixed), the consumer group."""
    prefixed = ACLResourcePatternType.PREFIXED
    rules = [_allow(user, op, ResourceType.TOPIC, prefix, prefixed)
             for prefix in (f"{settings.topic_prefix}.", f"{settings.app_id}-")
             for op in WORKER_TOPIC_OPS]
    rules += [_allow(user, op, ResourceType.GROUP, settings.app_id)
              for op in (ACLOperation.READ, ACLOperation.DESCRIBE)]
    rules += [_allow(user, op, ResourceType.CLUSTER, CLUSTER)
              for op in (ACLOperation.IDEMPOTENT_WRITE, ACLOperation.DESCRIBE)]
    return rules


def role_acls(settings: Settings, *, connector: str, worker: str) -> list[ACL]:
    return [*connector_acls(settings, connector), *worker_acls(settings, worker)]


def _key(acl: ACL) -> tuple[str, str, str, str, str, str]:
    pattern = acl.resource_pattern
    return (acl.principal, acl.host, acl.operation.name, acl.permission_type.name,
            f"{pattern.resource_type.name}:{pattern.resource_name}", pattern.pattern_type.name)


def _missing(admin: KafkaAdminClient, rules: list[ACL]) -> list[ACL]:
    """The rules the broker does not show yet (it applies new ACLs a moment after the
    controller accepted them)."""
    anything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                         permission_type=ACLPermissionType.ANY,
                         resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                                ACLResourcePatternType.ANY))
    shown, _ = admin.describe_acls(anything)
    have = {_key(acl) for acl in shown}
    return [rule for rule in rules if _key(rule) not in have]


def apply_acls(settings: Settings, *, connector: str, worker: str,
               timeout: float = 30.0) -> int:
    """Create the ACLs (existing ones are kept: creating an ACL twice is a no-op) and wait
    until the broker enforces them, so that clients started next are allowed.
    Returns how many were asked for; raises on the first the broker refused, or when they
    are not in force within ``timeout`` seconds."""
    rules = role_acls(settings, connector=connector, worker=worker)
    admin = KafkaAdminClient(**settings.kafka_client_config(), client_id="newsflow-setup",
                             request_timeout_ms=15000)
    try:
        result = admin.create_acls(rules)
        failed = result.get("failed", [])
        if failed:
            raise NewsflowError(f"Kafka refused {len(failed)} ACL(s): {str(failed[0])[:200]}")
        deadline = time.monotonic() + timeout
        while missing := _missing(admin, rules):
            if time.monotonic() > deadline:
                raise NewsflowError(f"{len(missing)} ACL(s) created but not in force after "
                                    f"{timeout:.0f} s, e.g. {_key(missing[0])}")
            time.sleep(0.2)
    finally:
        admin.close()
    return len(rules)
