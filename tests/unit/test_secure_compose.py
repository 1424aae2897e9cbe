"""The secure compose profile's least privilege, without a Docker engine: each service gets
its own user and only its own secret files, the broker's users (JAAS file) are those the
services log in as, and deploy/make-secrets.sh makes every secret file the profile mounts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.ops import security
from tests.unit.compose_files import ROOT, SECURE, load, secure
from tests.unit.test_deploy import env_of

SCRIPT = ROOT / "deploy" / "make-secrets.sh"
RUN = "/run/secrets/"
# the secrets each service may hold, and no other
OWN_SECRETS = {
    "certs": set(),
    "elasticsearch": {"elastic_password"},
    "setup-security": {"elastic_password", "kibana_password", "es_setup_password",
                       "es_worker_password"},
    "kibana": {"kibana_password"},
    "kafka": {"kafka_jaas.conf"},
    "setup": {"es_setup_password", "kafka_setup_password"},
    "worker": {"es_worker_password", "kafka_worker_password"},
    "connectors": {"kafka_connector_password"},
}


def secrets_of(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def file_of(service: dict[str, Any], variable: str) -> str:
    """The secret a ``*_FILE`` variable names (it must be one the service mounts)."""
    path = env_of(service)[variable]
    assert path.startswith(RUN), (variable, path)
    name = path.removeprefix(RUN)
    assert name in secrets_of(service), (variable, name)
    return name


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("secrets") / "secrets"
    subprocess.run(["sh", str(SCRIPT), str(out)], check=True, capture_output=True, timeout=60)
    return out


def test_each_service_holds_only_its_own_secrets() -> None:
    services = secure()["services"]
    assert {name: secrets_of(svc) for name, svc in services.items()} == OWN_SECRETS


def test_each_role_has_its_own_kafka_user() -> None:
    services = secure()["services"]
    users = {name: env_of(services[name])["NEWSFLOW_KAFKA_SASL_USERNAME"]
             for name in ("setup", "worker", "connectors")}
    assert len(set(users.values())) == 3, users
    for name, user in users.items():
        assert file_of(services[name], "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE") == \
            f"kafka_{user}_password"
    # setup creates the ACLs of exactly these connector and worker users
    command = services["setup"]["command"]
    assert command[:2] == ["setup", "--kafka-acls"]
    assert command[2] == f"{users['connectors']},{users['worker']}"
    kafka = env_of(services["kafka"])
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"] == \
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    supers = set(kafka["KAFKA_SUPER_USERS"].split(";"))
    assert f"User:{users['setup']}" in supers
    assert not {f"User:{users['connectors']}", f"User:{users['worker']}"} & supers
    # ANONYMOUS (the PLAINTEXT controller listener) is a super user: only on loopback
    controller = re.search(r"CONTROLLER://([^:,]*):(\d+)", kafka["KAFKA_LISTENERS"])
    assert controller and controller.group(1) in ("localhost", "127.0.0.1")
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"1@localhost:{controller.group(2)}"
    for listener in ("INTERNAL", "EXTERNAL"):
        assert f"{listener}:SASL_PLAINTEXT" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert kafka["KAFKA_OPTS"] == \
        f"-Djava.security.auth.login.config={RUN}kafka_jaas.conf"


def test_the_broker_knows_each_user_with_its_password(made: Path) -> None:
    services = secure()["services"]
    jaas = (made / "kafka_jaas.conf").read_text()
    assert jaas.startswith("KafkaServer {") and jaas.rstrip().endswith("};")
    entries = dict(re.findall(r'(\w+)="([^"]*)"', jaas))
    for name in ("setup", "worker", "connectors"):
        user = env_of(services[name])["NEWSFLOW_KAFKA_SASL_USERNAME"]
        secret = file_of(services[name], "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE")
        assert entries[f"user_{user}"] == (made / secret).read_text(), name
    # the broker's own login (inter-broker) is a super user, with its own password
    supers = env_of(services["kafka"])["KAFKA_SUPER_USERS"].split(";")
    assert f"User:{entries['username']}" in supers
    assert entries["password"] == entries[f"user_{entries['username']}"]
    passwords = [v for k, v in entries.items() if k.startswith("user_")]
    assert len(set(passwords)) == len(passwords) == 4


def test_elasticsearch_users_follow_the_split_roles() -> None:
    services = secure()["services"]
    setup_security = services["setup-security"]
    assert setup_security["command"] == ["setup", "--security-only"]
    assert env_of(setup_security)["NEWSFLOW_ES_USERNAME"] == "elastic"
    assert file_of(setup_security, "NEWSFLOW_ES_PASSWORD_FILE") == \
        file_of(services["elasticsearch"], "ELASTIC_PASSWORD_FILE") == "elastic_password"
    for name, user, variable in (("setup", security.SETUP_USER, "NEWSFLOW_ES_SETUP_PASSWORD"),
                                 ("worker", security.WORKER_USER,
                                  "NEWSFLOW_ES_WORKER_PASSWORD")):
        env = env_of(services[name])
        assert env["NEWSFLOW_ES_USERNAME"] == user
        # the password setup-security gives the user is the one the service logs in with
        assert file_of(services[name], "NEWSFLOW_ES_PASSWORD_FILE") == \
            file_of(setup_security, f"{variable}_FILE")
    assert security.users()[security.WORKER_USER][0] == [security.WORKER_ROLE]
    assert services["setup"]["depends_on"]["setup-security"]["condition"] == \
        "service_completed_successfully"
    assert not any(k.startswith(("NEWSFLOW_ES_", "NEWSFLOW_KIBANA", "ELASTIC"))
                   for k in env_of(services["connectors"]))


def test_kibana_reads_its_password_into_the_keystore_not_its_environment() -> None:
    services = secure()["services"]
    kibana = services["kibana"]
    env = env_of(kibana)
    assert env["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert not any("PASSWORD" in k for k in env)
    script = kibana["command"][-1]
    assert kibana["command"][:2] == ["bash", "-c"]
    assert f"--stdin --force < {RUN}kibana_password" in script
    assert script.rstrip().endswith("exec /usr/local/bin/kibana-docker")
    assert file_of(services["setup-security"], "NEWSFLOW_KIBANA_SYSTEM_PASSWORD_FILE") == \
        "kibana_password"
    assert "cat " not in script and "echo" not in script  # the password never in an argv
    assert services["kibana"]["depends_on"]["setup-security"]["condition"] == \
        "service_completed_successfully"


def test_the_script_makes_every_secret_file_the_profile_mounts(made: Path) -> None:
    declared = load(SECURE)["secrets"]
    for name, spec in declared.items():
        path = Path(spec["file"])
        assert path.parts[:3] == (".", "deploy", "secrets") or \
            path.parts[:2] == ("deploy", "secrets"), spec  # relative to docker-compose.yml
        assert path.name == name
        assert (made / name).is_file() and (made / name).read_text(), name
    assert set(declared) <= {p.name for p in made.iterdir()}
    assert made.stat().st_mode & 0o777 == 0o700
    for path in made.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path
    for password in made.glob("*_password"):
        assert re.fullmatch(r"[0-9a-f]{48}", password.read_text()), password
    assert "deploy/secrets/" in (ROOT / ".gitignore").read_text().splitlines()


def test_running_the_script_again_keeps_the_passwords(made: Path) -> None:
    before = {p.name: p.read_text() for p in made.iterdir()}
    (made / "kafka_worker_password").unlink()
    subprocess.run(["sh", str(SCRIPT), str(made)], check=True, capture_output=True, timeout=60)
    after = {p.name: p.read_text() for p in made.iterdir()}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"kafka_worker_password", "kafka_jaas.conf"}
    assert f'user_worker="{after["kafka_worker_password"]}"' in after["kafka_jaas.conf"]
