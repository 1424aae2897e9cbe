"""Least privilege on a real broker configured as the secure compose profile configures its
broker: SASL/PLAIN users and passwords from the JAAS file deploy/make-secrets.sh writes (a
JVM option, as KAFKA_OPTS in the compose), the StandardAuthorizer (nothing allowed without
an ACL) and the compose's super users. Every client reads its password from a file
(``NEWSFLOW_KAFKA_SASL_PASSWORD_FILE``). The connector user writes the raw and dead-letter
topics and is refused a read of the enriched topic and a topic delete; setup runs as the
super user."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import Settings
from pipeline.ops.kafka_acls import apply_acls
from pipeline.ops.stack import services
from pipeline.ops.stack.fetch import fetch_kafka
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for
from tests.unit.compose_files import ROOT, secure

pytestmark = pytest.mark.integration
USERS = ("setup", "connector", "worker")
# the broker settings of the secure compose profile that decide who may do what
AUTHZ = ("KAFKA_AUTHORIZER_CLASS_NAME", "KAFKA_SUPER_USERS",
         "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "KAFKA_AUTO_CREATE_TOPICS_ENABLE")


def _base_port() -> int:
    first = services.kafka_endpoint(Settings.from_env()).port
    for base in range(first + 40, first + 60, 4):
        if not any(services.port_open(services.Endpoint("127.0.0.1", base + i))
                   for i in range(2)):
            return base
    pytest.fail("no free ports for the ACL broker")


def as_user(port: int, home: Path, secrets: Path, user: str, **env: str) -> Settings:
    return Settings.from_env({**env, "NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
                              "NEWSFLOW_HOME": str(home), "NEWSFLOW_TOPIC_PREFIX": "acl",
                              "NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN",
                              "NEWSFLOW_KAFKA_SASL_USERNAME": user,
                              "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE":
                                  str(secrets / f"kafka_{user}_password")})


def compose_broker_properties() -> tuple[str, ...]:
    """The secure compose's authorizer settings as broker properties
    (``KAFKA_SUPER_USERS`` -> ``super.users``, as the apache/kafka image maps them)."""
    env = secure()["services"]["kafka"]["environment"]
    return tuple(f"{key.removeprefix('KAFKA_').lower().replace('_', '.')}={env[key]}"
                 for key in AUTHZ)


@pytest.fixture(scope="module")
def acl_broker(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[dict[str, Settings]]:
    home = tmp_path_factory.mktemp("acl")
    secrets = home / "secrets"
    subprocess.run(["sh", str(ROOT / "deploy" / "make-secrets.sh"), str(secrets)],
                   check=True, capture_output=True, timeout=60)
    (home / "dist").symlink_to(fetch_kafka(stack_settings).parent)
    port = _base_port()
    # the broker is started without an inline JAAS line (no SASL in its own settings): the
    # SASL listener and its users come from the extra lines and the JAAS file alone
    bare = Settings.from_env({"NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
                              "NEWSFLOW_HOME": str(home)})
    extra = ("listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
             "sasl.enabled.mechanisms=PLAIN", *compose_broker_properties())
    services.start_kafka(bare, extra=extra, jvm_options=(
        f"-Djava.security.auth.login.config={secrets / 'kafka_jaas.conf'}",))
    users = {u: as_user(port, home, secrets, u) for u in USERS}
    try:
        wait_for(lambda: services.kafka_healthy(users["setup"]), timeout=120,
                 what="ACL broker")
        yield users
    finally:
        services.stop_pid(services.kafka_paths(bare)["pid"])


def test_the_broker_refuses_a_wrong_password(acl_broker: dict[str, Settings],
                                             tmp_path: Path) -> None:
    (tmp_path / "kafka_setup_password").write_text("not-the-password")
    port = int(acl_broker["setup"].kafka_bootstrap.rsplit(":", 1)[1])
    wrong = as_user(port, tmp_path, tmp_path, "setup")
    with pytest.raises(KafkaError):
        KafkaAdminClient(**wrong.kafka_client_config(), request_timeout_ms=10000).close()


def test_setup_creates_topics_and_acls_as_the_super_user(acl_broker: dict[str, Settings]
                                                         ) -> None:
    setup = acl_broker["setup"]
    ensure_topics(setup, replication=(1, 1))
    assert apply_acls(setup, connector="connector", worker="worker") > 0


def test_the_connector_writes_raw_and_dead_letters(acl_broker: dict[str, Settings]) -> None:
    conn = acl_broker["connector"]
    producer = KafkaProducer(**conn.kafka_client_config(), acks="all", enable_idempotence=True)
    try:
        producer.send(conn.raw_topic, b"an article").get(30)
        producer.send(conn.dead_letter_topic, b"a dead letter").get(30)
    finally:
        producer.close()


def test_the_connector_is_refused_the_enriched_topic_and_deletes(
        acl_broker: dict[str, Settings]) -> None:
    conn = acl_broker["connector"]
    producer = KafkaProducer(**conn.kafka_client_config(), acks="all", max_block_ms=10000)
    with pytest.raises(KafkaError):
        producer.send(conn.enriched_topic, b"forged").get(15)
    producer.close()
    assert _connector_reads(conn, acl_broker["setup"]) == "refused"
    admin = KafkaAdminClient(**conn.kafka_client_config(), request_timeout_ms=10000)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            result = admin.delete_topics([conn.raw_topic])
            raise_first(result)
    finally:
        admin.close()
    still = KafkaAdminClient(**acl_broker["setup"].kafka_client_config())
    try:
        assert conn.raw_topic in still.list_topics()
    finally:
        still.close()


def _connector_reads(conn: Settings, admin: Settings) -> str:
    """What the connector gets when it reads the enriched topic, which holds a message:
    ``refused`` (the broker answers its metadata with TOPIC_AUTHORIZATION_FAILED, and ten
    seconds of polling deliver no record; kafka-python may raise the error or only log it)
    or the records it read."""
    producer = KafkaProducer(**admin.kafka_client_config(), acks="all")
    producer.send(conn.enriched_topic, b"private").get(30)
    producer.close()
    probe = KafkaAdminClient(**conn.kafka_client_config(), request_timeout_ms=10000)
    try:
        described = probe.describe_topics([conn.enriched_topic])
    except TopicAuthorizationFailedError:
        described = [{"error_code": TopicAuthorizationFailedError.errno}]
    finally:
        probe.close()
    assert described[0]["error_code"] == TopicAuthorizationFailedError.errno, described
    consumer = KafkaConsumer(conn.enriched_topic, **conn.kafka_client_config(),
                             group_id=None, auto_offset_reset="earliest")
    got: list[bytes] = []
    try:
        for _ in range(10):
            for records in consumer.poll(timeout_ms=1000).values():
                got += [r.value for r in records]
    except TopicAuthorizationFailedError:
        return "refused"
    finally:
        consumer.close()
    return "refused" if not got else repr(got)


def raise_first(result: object) -> None:
    """kafka-python may return per-topic error codes instead of raising: raise them."""
    from kafka.errors import for_code

    codes = [t[1] if isinstance(t, tuple) else getattr(t, "error_code", 0)
             for t in getattr(result, "topic_error_codes", None) or []]
    for code in codes:
        if code:
            raise for_code(code)()
    if isinstance(result, dict):
        for value in result.values():
            if isinstance(value, Exception):
                raise value
            if isinstance(value, int) and value:
                raise for_code(value)()


def test_the_worker_reads_what_the_connector_wrote(acl_broker: dict[str, Settings]) -> None:
    worker = acl_broker["worker"]
    consumer = KafkaConsumer(worker.raw_topic, **worker.kafka_client_config(),
                             group_id=worker.app_id, auto_offset_reset="earliest",
                             consumer_timeout_ms=10000)
    try:
        assert b"an article" in [m.value for m in consumer]
    finally:
        consumer.close()
    producer = KafkaProducer(**worker.kafka_client_config(), acks="all")
    producer.send(worker.enriched_topic, b"enriched").get(30)
    producer.close()


def test_a_whole_worker_runs_with_only_the_worker_acls(
        acl_broker: dict[str, Settings], stack_settings: Settings, worker_factory,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    """A real ``faust worker`` as the worker user (its consumer group, Faust's own topics,
    every agent) takes what the connector user wrote on raw to Elasticsearch."""
    admin = acl_broker["setup"]
    ensure_topics(admin, replication=(1, 1))
    apply_acls(admin, connector="connector", worker="worker")
    port = int(admin.kafka_bootstrap.rsplit(":", 1)[1])
    secrets = admin.home / "secrets"  # made by the fixture (deploy/make-secrets.sh)
    worker = as_user(port, tmp_path, secrets, "worker", NEWSFLOW_ES_URL=stack_settings.es_url,
                     NEWSFLOW_INDEX=f"acl{uuid.uuid4().hex[:8]}-articles")
    article = RawArticle.new(url="https://acl.newsflow.invalid/a", title="Ferry strike",
                             text="The ferry operator said the strike would end on Monday.",
                             provenance=Provenance(connector="test", source="acl"))
    conn = acl_broker["connector"]
    producer = KafkaProducer(**conn.kafka_client_config(), acks="all", enable_idempotence=True)
    try:
        producer.send(conn.raw_topic, key=article.id.encode(), value=article.to_bytes()).get(30)
    finally:
        producer.close()
    proc = worker_factory(worker).start()
    es = Elasticsearch(worker.es_url)
    try:
        def landed() -> bool:
            assert proc.alive(), proc.log.read_text()[-3000:]
            return es.options(ignore_status=404).exists(
                index=worker.index_alias, id=article.id).body

        wait_for(landed, timeout=240, what="the article indexed by the ACL-bound worker")
        log = proc.log.read_text()
        assert "AuthorizationFailed" not in log and "Authorization failed" not in log, log[-3000:]
    finally:
        proc.stop()
        for name in es.indices.get(index=f"{worker.index_alias.split('-')[0]}*",
                                   ignore_unavailable=True):
            es.indices.delete(index=name, ignore_unavailable=True)
        es.close()
