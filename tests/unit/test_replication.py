"""Replication settings: parsed, resolved against the cluster's size, refused when they
cannot hold; the Kafka clients' TLS settings (worker and kafka-python alike)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError
from pipeline.core.replication import (
    Replication,
    index_replica_settings,
    problems,
    resolve_topics,
)
from pipeline.core.settings import Settings
from pipeline.stream.app import broker_credentials, kafka_ssl_context
from pipeline.stream.topics import replication_for


@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)),
                                                    (6, (3, 2))])
def test_auto_is_min_three_brokers_and_two_in_sync_from_three(brokers: int,
                                                                expected: tuple[int, int]) -> None:
    assert resolve_topics(Replication(), brokers=brokers) == expected
    assert problems(Replication(), brokers=brokers).errors == []


def test_single_broker_defaults_hold_with_a_warning() -> None:
    found = problems(Replication(), brokers=1)
    assert found.errors == [] and "one copy" in found.warnings[0]
    assert replication_for(Settings(), brokers=1) == (1, 1)


@pytest.mark.parametrize(("factor", "insync", "brokers", "says"), [
    ("3", "auto", 2, "replication factor 3 > 2 broker(s)"),
    ("2", "3", 3, "min.insync.replicas 3 > replication factor 2"),
    ("3", "3", 3, "min.insync.replicas 3 >= replication factor 3"),
    ("auto", "3", 3, "min.insync.replicas 3 >= replication factor 3"),
])
def test_settings_the_cluster_cannot_hold_are_refused(factor: str, insync: str, brokers: int,
                                                      says: str) -> None:
    found = problems(Replication(factor=factor, min_insync=insync), brokers=brokers)
    assert any(says in e for e in found.errors), found.errors
    settings = Settings.from_env({"NEWSFLOW_TOPIC_REPLICATION": factor,
                                  "NEWSFLOW_MIN_INSYNC_REPLICAS": insync})
    with pytest.raises(ConfigError, match="NEWSFLOW_"):
        replication_for(settings, brokers=brokers)


def test_weak_but_possible_settings_warn() -> None:
    found = problems(Replication(factor="3", min_insync="1"), brokers=3)
    assert found.errors == [] and "leader only" in found.warnings[0]
    found = problems(Replication(index_replicas="2"), brokers=3, es_data_nodes=2)
    assert any("unassigned" in w for w in found.warnings)


@pytest.mark.parametrize(("name", "raw"), [("NEWSFLOW_TOPIC_REPLICATION", "0"),
                                            ("NEWSFLOW_TOPIC_REPLICATION", "three"),
                                            ("NEWSFLOW_MIN_INSYNC_REPLICAS", "-1"),
                                            ("NEWSFLOW_INDEX_REPLICAS", "1.5")])
def test_malformed_values_name_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


def test_settings_read_and_index_replicas_become_auto_expand() -> None:
    s = Settings.from_env({"NEWSFLOW_TOPIC_REPLICATION": "3", "NEWSFLOW_INDEX_REPLICAS": "1"})
    assert s.replication == Replication(factor="3", min_insync="auto", index_replicas="1")
    assert index_replica_settings(s.index_replicas) == {"auto_expand_replicas": "1-1"}
    assert index_replica_settings(Settings().index_replicas) == {"auto_expand_replicas": "0-1"}


def test_index_templates_carry_the_replicas() -> None:
    from pipeline.index.mapping import template_body
    from pipeline.index.quotes_mapping import quotes_template_body
    from pipeline.index.replicas import story_state_template

    s = Settings.from_env({"NEWSFLOW_INDEX_REPLICAS": "2"})
    for body in (template_body(s, english=True), quotes_template_body(s, english=True),
                 story_state_template(s)):
        assert body["template"]["settings"]["auto_expand_replicas"] == "2-2"
        assert "number_of_replicas" not in body["template"]["settings"]


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_tls_reaches_kafka_python_and_the_worker(protocol: str) -> None:
    env = {"NEWSFLOW_KAFKA_SECURITY_PROTOCOL": protocol}
    if protocol.startswith("SASL"):
        env |= {"NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN", "NEWSFLOW_KAFKA_SASL_USERNAME": "u",
                "NEWSFLOW_KAFKA_SASL_PASSWORD": "p"}
    s = Settings.from_env(env)
    conf = s.kafka_client_config()
    assert conf["security_protocol"] == protocol and conf["ssl_check_hostname"] is True
    creds = broker_credentials(s)
    assert creds is not None and creds.protocol.value == protocol
    context = kafka_ssl_context(s)
    assert context is not None and context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_hostname_check_can_be_turned_off_but_certificates_stay_verified() -> None:
    s = Settings.from_env({"NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SSL",
                           "NEWSFLOW_KAFKA_SSL_CHECK_HOSTNAME": "false"})
    context = kafka_ssl_context(s)
    assert context is not None and not context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert s.kafka_client_config()["ssl_check_hostname"] is False


def test_plaintext_has_no_tls_and_sasl_without_a_sasl_protocol_is_made_one() -> None:
    assert broker_credentials(Settings()) is None
    assert "security_protocol" not in Settings().kafka_client_config()
    s = Settings.from_env({"NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN"})
    assert s.kafka_security_protocol == "SASL_PLAINTEXT"
    s = Settings.from_env({"NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN",
                           "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "ssl"})
    assert s.kafka_security_protocol == "SASL_SSL"
    with pytest.raises(ConfigError, match="NEWSFLOW_KAFKA_SASL_MECHANISM"):
        Settings.from_env({"NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    with pytest.raises(ConfigError, match="one of"):
        Settings.from_env({"NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "TLS"})


def test_passwords_can_come_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "kafka_password"
    secret.write_text("from-a-file\n")
    s = Settings.from_env({"NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN",
                           "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE": str(secret),
                           "NEWSFLOW_ES_PASSWORD_FILE": str(secret)})
    assert s.kafka_sasl_password == "from-a-file" and s.es_password == "from-a-file"
    assert "from-a-file" not in repr(s)
    with pytest.raises(ConfigError, match="both NEWSFLOW_ES_PASSWORD and "
                       "NEWSFLOW_ES_PASSWORD_FILE are set"):
        Settings.from_env({"NEWSFLOW_ES_PASSWORD": "direct",
                           "NEWSFLOW_ES_PASSWORD_FILE": str(secret)})
    absent = tmp_path / "absent"
    with pytest.raises(ConfigError, match=f"NEWSFLOW_ES_WORKER_PASSWORD_FILE='{absent}' "
                       "cannot be read: No such file"):
        Settings.from_env({"NEWSFLOW_ES_WORKER_PASSWORD_FILE": str(absent)})
    with pytest.raises(ConfigError, match=r"NEWSFLOW_KIBANA_SYSTEM_PASSWORD_FILE=.* cannot be "
                       "read"):  # a directory, not a file
        Settings.from_env({"NEWSFLOW_KIBANA_SYSTEM_PASSWORD_FILE": str(tmp_path)})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match=r"NEWSFLOW_ES_SETUP_PASSWORD_FILE=.* is empty"):
        Settings.from_env({"NEWSFLOW_ES_SETUP_PASSWORD_FILE": str(empty)})


@pytest.mark.parametrize("name", ["NEWSFLOW_ES_PASSWORD", "NEWSFLOW_KAFKA_SASL_PASSWORD",
                                  "NEWSFLOW_KIBANA_SYSTEM_PASSWORD",
                                  "NEWSFLOW_ES_SETUP_PASSWORD", "NEWSFLOW_ES_WORKER_PASSWORD"])
def test_every_password_setting_has_a_file_twin(name: str, tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("from-the-file\r\n")
    env = {f"{name}_FILE": str(path), "NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN"}
    s = Settings.from_env(env)
    assert "from-the-file" in {s.es_password, s.kafka_sasl_password, s.kibana_system_password,
                               s.es_setup_password, s.es_worker_password}
    assert "from-the-file" not in repr(s)
    with pytest.raises(ConfigError, match=f"both {name} and {name}_FILE"):
        Settings.from_env({**env, name: "direct"})


def test_status_shows_copies_under_replicated_and_cluster_health(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import pipeline.ops.status
    from pipeline.cli.main import app
    from pipeline.ops.status import _unavailable

    monkeypatch.setenv("COLUMNS", "200")
    topic = {"exists": True, "partitions": 4, "messages": 9, "consumer_lag": 0,
             "replication": 3, "under_replicated": [0, 2], "offline": []}
    report = {"healthy": True, "services": [], "sources": [], "index": {},
              "topics": {"news.raw.v1": topic},
              "cluster": {"kafka_brokers": 3, "elasticsearch": {
                  "cluster_name": "c", "status": "yellow", "number_of_nodes": 2,
                  "unassigned_shards": 1}}}
    monkeypatch.setattr(pipeline.ops.status, "collect", lambda settings, state_path: report)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "news.raw.v1" in line)
    assert [c.strip() for c in row.split("│")[2:5]] == ["4", "3", "2"]
    assert "kafka: 3 broker(s); elasticsearch c: yellow, 2 node(s), 1 unassigned" in \
        " ".join(result.stdout.split())
    assert not _unavailable(report)  # under-replicated and yellow still serve
    assert _unavailable({**report, "topics": {"t": {**topic, "offline": [1]}}})
    assert _unavailable({**report, "cluster": {"elasticsearch": {"status": "red"}}})
