"""Runtime settings, read once from the environment.

Every knob has a ``NEWSFLOW_*`` variable and a default that works with the
local stack (``newsflow stack up``)::

    >>> from pipeline.config import Settings
    >>> s = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "test1"})
    >>> s.raw_topic
    'test1.raw.v1'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    # Elasticsearch runs as an unprivileged user, who cannot enter /root: when
    # we are root, keep the stack's files where that user can reach them.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/newsflow")
    return Path.home() / ".newsflow"


@dataclass(frozen=True)
class Settings:
    """Where the services are and what the pipeline's names are."""

    kafka_bootstrap: str = "localhost:9092"
    es_url: str = "http://localhost:9200"
    topic_prefix: str = "news"
    index_alias: str = "news-articles"
    partitions: int = 4
    home: Path = Path("/var/lib/newsflow")
    kibana_url: str | None = None
    es_username: str | None = None
    es_password: str | None = field(default=None, repr=False)
    group: str | None = None
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            kafka_bootstrap=e.get("NEWSFLOW_KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            es_url=e.get("NEWSFLOW_ES_URL", cls.es_url).rstrip("/"),
            topic_prefix=e.get("NEWSFLOW_TOPIC_PREFIX", cls.topic_prefix),
            index_alias=e.get("NEWSFLOW_INDEX", cls.index_alias),
            partitions=int(e.get("NEWSFLOW_PARTITIONS", cls.partitions)),
            home=Path(e.get("NEWSFLOW_HOME", str(_default_home()))),
            kibana_url=e.get("NEWSFLOW_KIBANA_URL") or None,
            es_username=e.get("NEWSFLOW_ES_USERNAME") or None,
            es_password=e.get("NEWSFLOW_ES_PASSWORD") or None,
            group=e.get("NEWSFLOW_GROUP") or None,
            kafka_security_protocol=e.get("NEWSFLOW_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            kafka_sasl_mechanism=e.get("NEWSFLOW_KAFKA_SASL_MECHANISM") or None,
            kafka_sasl_username=e.get("NEWSFLOW_KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=e.get("NEWSFLOW_KAFKA_SASL_PASSWORD") or None,
        )

    @property
    def raw_topic(self) -> str:
        return f"{self.topic_prefix}.raw.v1"

    @property
    def enriched_topic(self) -> str:
        return f"{self.topic_prefix}.enriched.v1"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_prefix}.deadletter.v1"

    @property
    def app_id(self) -> str:
        """Faust application id, which is also the Kafka consumer group.

        ``NEWSFLOW_GROUP`` gives a new one: a worker in a new group replays the raw topic
        from its beginning (re-enrichment after an upgrade).
        """
        return self.group or f"newsflow-{self.topic_prefix}"

    @property
    def topics(self) -> tuple[str, str, str]:
        return (self.raw_topic, self.enriched_topic, self.dead_letter_topic)

    def kafka_client_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments: bootstrap servers plus SASL when configured."""
        conf: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap}
        if self.kafka_sasl_mechanism:
            conf.update(security_protocol=self.kafka_security_protocol,
                        sasl_mechanism=self.kafka_sasl_mechanism,
                        sasl_plain_username=self.kafka_sasl_username,
                        sasl_plain_password=self.kafka_sasl_password)
        return conf

    def es_auth(self) -> tuple[str, str] | None:
        if self.es_username and self.es_password:
            return (self.es_username, self.es_password)
        return None


def read_versions() -> dict[str, str]:
    """The pinned service versions shared by the local stack and docker-compose."""
    out: dict[str, str] = {}
    for line in (REPO_ROOT / "deploy" / "local" / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out
