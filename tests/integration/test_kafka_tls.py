"""Kafka over TLS for the worker as for the other clients, on a real broker: certificates made
here with the JDK's keytool (a CA, the broker's key signed by it for ``localhost``); listeners
SASL_SSL and SSL, and SASL_PLAINTEXT as the control. A TCP relay started here carries the
clients' bytes and keeps them: the password crosses it inside TLS, never in the clear (and
the same relay sees it in the clear on SASL_PLAINTEXT, so the capture can find it)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from pipeline.core.settings import Settings
from pipeline.ops.stack import services
from pipeline.ops.stack.fetch import fetch_kafka
from pipeline.stream.app import faust_app
from tests.conftest import wait_for

pytestmark = pytest.mark.integration
PASSWORD = "tls-only-pw-7f3a9c"
STOREPASS = "storepass-1"


def keytool(*args: str, cwd: Path) -> None:
    tool = shutil.which("keytool") or str(services.find_java(17) / "bin" / "keytool")
    subprocess.run([tool, *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def make_certificates(d: Path) -> None:
    """ca.pem (the CA), broker.p12 (the broker's key + certificate for localhost, and the CA)."""
    ks = ["-storetype", "PKCS12", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2"]
    keytool("-genkeypair", "-alias", "ca", "-dname", "CN=newsflow-test-ca", "-ext", "bc:c",
            "-keystore", "ca.p12", "-storepass", STOREPASS, *ks, cwd=d)
    keytool("-exportcert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", STOREPASS,
            "-rfc", "-file", "ca.pem", cwd=d)
    keytool("-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-keystore",
            "broker.p12", "-storepass", STOREPASS, *ks, cwd=d)
    keytool("-certreq", "-alias", "broker", "-keystore", "broker.p12", "-storepass", STOREPASS,
            "-file", "broker.csr", cwd=d)
    keytool("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-storepass", STOREPASS,
            "-infile", "broker.csr", "-outfile", "broker.pem", "-rfc", "-validity", "2",
            "-ext", "SAN=dns:localhost", cwd=d)
    keytool("-importcert", "-alias", "ca", "-keystore", "broker.p12", "-storepass", STOREPASS,
            "-file", "ca.pem", "-noprompt", cwd=d)
    keytool("-importcert", "-alias", "broker", "-keystore", "broker.p12", "-storepass",
            STOREPASS, "-file", "broker.pem", cwd=d)


@dataclass
class Relay:
    """Forwards localhost:``port`` to ``target`` and keeps every byte the clients sent."""

    port: int
    target: int
    sent: bytearray = field(default_factory=bytearray)
    server: socket.socket | None = None

    def start(self) -> Relay:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while chunk := src.recv(65536):
                if record:
                    self.sent.extend(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def _base_port() -> int:
    """Eight consecutive free ports in this stack's Kafka range (NEWSFLOW_KAFKA_BOOTSTRAP)."""
    first = services.kafka_endpoint(Settings.from_env()).port
    for base in range(first + 60, first + 100, 10):
        if not any(services.port_open(services.Endpoint("127.0.0.1", base + i))
                   for i in range(8)):
            return base
    pytest.fail("no free ports for the TLS broker")


@dataclass
class TlsBroker:
    home: Path
    ca: Path
    ports: dict[str, int]
    relays: dict[str, Relay]

    def settings(self, protocol: str, port: int, **extra: str) -> Settings:
        env = {"NEWSFLOW_KAFKA_BOOTSTRAP": f"localhost:{port}", "NEWSFLOW_HOME": str(self.home),
               "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": protocol, "NEWSFLOW_TOPIC_PREFIX": "tls",
               "NEWSFLOW_KAFKA_SSL_CAFILE": str(self.ca), **extra}
        if protocol.startswith("SASL"):
            env |= {"NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN",
                    "NEWSFLOW_KAFKA_SASL_USERNAME": "newsflow",
                    "NEWSFLOW_KAFKA_SASL_PASSWORD": PASSWORD}
        return Settings.from_env(env)


@pytest.fixture(scope="module")
def tls_broker(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[TlsBroker]:
    home = tmp_path_factory.mktemp("tls")
    make_certificates(home)
    (home / "dist").symlink_to(fetch_kafka(stack_settings).parent)
    base = _base_port()
    # CLIENT (SASL_SSL) and PLAIN (SASL_PLAINTEXT) are advertised on their relays; TLS (SSL)
    # directly; INTERNAL (between the broker and itself) is not a client listener.
    ports = {"client": base, "controller": base + 1, "plain": base + 2, "internal": base + 3,
             "tls": base + 4, "client_relay": base + 5, "plain_relay": base + 6}
    jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_newsflow="{PASSWORD}";')
    extra = (
        f"listeners=CLIENT://localhost:{base},CONTROLLER://localhost:{base + 1},"
        f"PLAIN://localhost:{base + 2},INTERNAL://localhost:{base + 3},"
        f"TLS://localhost:{base + 4}",
        f"advertised.listeners=CLIENT://localhost:{ports['client_relay']},"
        f"PLAIN://localhost:{ports['plain_relay']},INTERNAL://localhost:{base + 3},"
        f"TLS://localhost:{base + 4}",
        "listener.security.protocol.map=CLIENT:SASL_SSL,PLAIN:SASL_PLAINTEXT,"
        "INTERNAL:PLAINTEXT,TLS:SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=INTERNAL",
        "sasl.enabled.mechanisms=PLAIN",
        f"listener.name.client.plain.sasl.jaas.config={jaas}",
        f"listener.name.plain.plain.sasl.jaas.config={jaas}",
        "ssl.keystore.type=PKCS12", f"ssl.keystore.location={home / 'broker.p12'}",
        f"ssl.keystore.password={STOREPASS}", f"ssl.key.password={STOREPASS}",
    )
    plain = Settings.from_env({"NEWSFLOW_KAFKA_BOOTSTRAP": f"localhost:{base}",
                               "NEWSFLOW_HOME": str(home)})
    relays = {"client": Relay(ports["client_relay"], base).start(),
              "plain": Relay(ports["plain_relay"], base + 2).start()}
    services.start_kafka(plain, extra=extra)
    broker = TlsBroker(home, home / "ca.pem", ports, relays)
    internal = Settings.from_env({"NEWSFLOW_KAFKA_BOOTSTRAP": f"localhost:{base + 3}"})
    try:
        wait_for(lambda: services.kafka_healthy(internal), timeout=120,
                 what="TLS broker")
        yield broker
    finally:
        services.stop_pid(services.kafka_paths(plain)["pid"])
        for relay in relays.values():
            relay.stop()


def _worker_sends(settings: Settings, topic: str, value: bytes) -> None:
    """The worker's own Kafka producer (the Faust app's, with its broker credentials)."""
    async def send() -> None:
        app = faust_app(settings, replication=1)
        producer = app.producer
        await producer.start()
        try:
            await producer.send_and_wait(topic, None, value, None, None, None)
        finally:
            await producer.stop()
    asyncio.run(send())


def _read(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(topic, **settings.kafka_client_config(),
                             auto_offset_reset="earliest", consumer_timeout_ms=8000)
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def test_worker_sasl_ssl_password_crosses_only_inside_tls(tls_broker: TlsBroker) -> None:
    relay = tls_broker.relays["client"]
    settings = tls_broker.settings("SASL_SSL", relay.port)
    _worker_sends(settings, "tls.worker", b"over tls")
    assert _read(settings, "tls.worker") == [b"over tls"]
    assert relay.sent, "nothing went through the relay"
    assert relay.sent[0] == 0x16  # a TLS handshake record, first thing on the wire
    assert PASSWORD.encode() not in relay.sent
    assert b"newsflow" not in relay.sent  # the SASL username is inside TLS too


def test_the_capture_sees_a_password_sent_in_the_clear(tls_broker: TlsBroker) -> None:
    relay = tls_broker.relays["plain"]
    settings = tls_broker.settings("SASL_PLAINTEXT", relay.port)
    _worker_sends(settings, "tls.control", b"in the clear")
    assert PASSWORD.encode() in relay.sent


def test_ssl_without_sasl_is_used_by_the_worker_and_kafka_python(tls_broker: TlsBroker
                                                                 ) -> None:
    settings = tls_broker.settings("SSL", tls_broker.ports["tls"])
    _worker_sends(settings, "tls.ssl", b"ssl only")
    producer = KafkaProducer(**settings.kafka_client_config(), acks="all")
    producer.send("tls.ssl", b"kafka-python").get(30)
    producer.close()
    assert sorted(_read(settings, "tls.ssl")) == [b"kafka-python", b"ssl only"]


def _refused(settings: Settings, topic: str) -> bool:
    """kafka-python cannot deliver within 10 s (it never completes the TLS handshake)."""
    producer = KafkaProducer(**settings.kafka_client_config(), api_version=(3, 0),
                             max_block_ms=10000)
    try:
        producer.send(topic, b"probe").get(10)
    except KafkaError:
        return True
    finally:
        producer.close(timeout=5)
    return False


def _worker_refused(settings: Settings, topic: str) -> bool:
    """The worker's producer cannot deliver within 30 s."""
    async def send() -> None:
        app = faust_app(settings, replication=1)
        await app.producer.start()
        try:
            await app.producer.send_and_wait(topic, None, b"must not arrive", None, None,
                                             None)
        finally:
            await app.producer.stop()
    try:
        asyncio.run(asyncio.wait_for(send(), 30))
    except Exception:  # noqa: BLE001 - a TLS failure or the bound: not delivered
        return True
    return False


def test_a_broker_not_signed_by_the_ca_or_not_named_is_refused(tls_broker: TlsBroker,
                                                               tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    make_certificates(other)  # another CA
    port = tls_broker.ports["tls"]
    wrong_ca = tls_broker.settings("SSL", port, NEWSFLOW_KAFKA_SSL_CAFILE=str(other / "ca.pem"))
    assert _refused(wrong_ca, "tls.refused")
    assert _worker_refused(wrong_ca, "tls.refused")
    base = {"NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}", "NEWSFLOW_HOME": str(tmp_path),
            "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SSL",
            "NEWSFLOW_KAFKA_SSL_CAFILE": str(tls_broker.ca)}
    # the certificate names localhost: an address it does not name is refused ...
    assert _refused(Settings.from_env(base), "tls.refused")
    # ... unless the hostname check is turned off (the certificate is still verified)
    unchecked = Settings.from_env({**base, "NEWSFLOW_KAFKA_SSL_CHECK_HOSTNAME": "false"})
    assert not _refused(unchecked, "tls.unchecked")
    right = tls_broker.settings("SSL", port)
    assert _read(right, "tls.unchecked") == [b"probe"]  # the one that was let in
    assert _read(right, "tls.refused") == []
