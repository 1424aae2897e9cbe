"""Runtime settings, read once from the environment.

Every knob has a ``NEWSFLOW_*`` variable and a default that works with the
local stack (``newsflow stack up``)::

    >>> from pipeline.core.settings import Settings
    >>> s = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "test1"})
    >>> s.raw_topic
    'test1.raw.v1'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pipeline.core.env import kafka_protocol, secret
from pipeline.core.errors import ConfigError
from pipeline.core.replication import Replication, parse_count

N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None


MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest Kafka message any newsflow topic, producer or consumer accepts (16 MiB)."""


def _duration(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration setting (``7d``, ``36h``; 0/off: none); a bad one names the variable."""
    from pipeline.core.durations import seconds

    raw = env.get(name)
    if raw is None:
        return default
    try:
        return seconds(raw)
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _default_home() -> Path:
    # Elasticsearch runs as an unprivileged user, who cannot enter /root: when
    # we are root, keep the stack's files where that user can reach them.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/newsflow")
    return Path.home() / ".newsflow"


def quotes_alias_for(index_alias: str) -> str:
    """The quote groups' alias beside an articles alias: ``news-articles`` -> ``news-quotes``.

    >>> quotes_alias_for("news-articles"), quotes_alias_for("t1-articles"), quotes_alias_for("x")
    ('news-quotes', 't1-quotes', 'x-quotes')
    """
    stem = index_alias.removesuffix("-articles")
    return f"{stem}-quotes"


@dataclass(frozen=True)
class Settings:
    """Where the services are, what the pipeline's names are and how it runs.

    Every ``NEWSFLOW_*`` variable is read here and nowhere else (``from_env``).
    """

    kafka_bootstrap: str = "localhost:9092"
    es_url: str = "http://localhost:9200"
    topic_prefix: str = "news"
    index_alias: str = "news-articles"
    quotes_alias: str = ""  # "" = derived from index_alias (see from_env)
    partitions: int = 4
    home: Path = field(default_factory=_default_home)
    kibana_url: str | None = None
    es_username: str | None = None
    es_password: str | None = field(default=None, repr=False)
    kibana_system_password: str | None = field(default=None, repr=False)
    es_ca_certs: str | None = None
    # setup --security-only: the passwords of the users it creates (pipeline.ops.security)
    es_setup_password: str | None = field(default=None, repr=False)
    es_worker_password: str | None = field(default=None, repr=False)
    group: str | None = None
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_ssl_cafile: str | None = None  # the CA that signed the brokers' certificates
    kafka_ssl_check_hostname: bool = True
    # "auto" or a number each (pipeline.core.replication)
    topic_replication: str = "auto"
    min_insync_replicas: str = "auto"
    index_replicas: str = "auto"
    batch_size: int = 32
    batch_within: float = 0.05  # a partial batch goes after this (load fills batches anyway)
    quote_batch_within: float = 0.5  # the quotes and group stages' wait (off the article path)
    refresh_interval: float = 0.5  # seconds until a write is searchable (0: Elasticsearch's 1 s)
    commit_interval: float = 1.0  # seconds between offset commits of acknowledged messages
    commit_every: int = 0  # ... or after this many acknowledged messages (0: the batch size)
    worker_index: int = 0
    metrics_port: int = 0
    log_format: str = "text"
    spacy_model: str | None = None
    es_java_opts: str = "-Xms512m -Xmx1g"
    # What one message may cost; over a bound it is cut (and logged) or dead-lettered.
    max_article_chars: int = 200_000  # longer articles are dead-lettered, not enriched
    max_enrich_batch_chars: int = 400_000  # characters per spaCy call (bounds its memory)
    max_entities: int = 10_000  # entity mentions kept per article (and summary entries)
    max_attributions: int = 2_000  # attributions kept per article
    max_output_bytes: int = 8 * 1024 * 1024  # an enriched message over it loses mentions
    max_bulk_bytes: int = 20 * 1024 * 1024  # one Elasticsearch bulk request
    dead_letter_max_payload: int = 8 * 1024 * 1024  # original bytes a dead letter keeps
    batch_retries: int = 4  # retries of an unexplained failure before isolating the message
    stall_timeout: float = 300.0  # behind with no batch finished this long: the worker exits
    stall_check: float = 15.0  # seconds between the watchdog's checks (0: no watchdog)
    hot_window: float = 7 * 86400.0  # event time stories and quote groups keep in memory
    stories_retention: float = 0.0  # event time the durable story state keeps (0: all)
    quotes_retention: float = 0.0  # event time since a durable quote group's last report

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: the process environment).

        A malformed number raises :class:`ConfigError` naming the variable.
        """
        e = os.environ if env is None else env
        d = cls()
        return cls(
            kafka_bootstrap=e.get("NEWSFLOW_KAFKA_BOOTSTRAP", d.kafka_bootstrap),
            es_url=",".join(u.strip().rstrip("/") for u in
                            e.get("NEWSFLOW_ES_URL", d.es_url).split(",") if u.strip()),
            topic_prefix=e.get("NEWSFLOW_TOPIC_PREFIX", d.topic_prefix),
            index_alias=e.get("NEWSFLOW_INDEX", d.index_alias),
            quotes_alias=e.get("NEWSFLOW_QUOTES_INDEX")
            or quotes_alias_for(e.get("NEWSFLOW_INDEX", d.index_alias)),
            partitions=_number(e, "NEWSFLOW_PARTITIONS", d.partitions, int),
            home=Path(e.get("NEWSFLOW_HOME") or d.home),
            kibana_url=e.get("NEWSFLOW_KIBANA_URL") or None,
            es_username=e.get("NEWSFLOW_ES_USERNAME") or None,
            es_password=secret(e, "NEWSFLOW_ES_PASSWORD"),
            kibana_system_password=secret(e, "NEWSFLOW_KIBANA_SYSTEM_PASSWORD"),
            es_ca_certs=e.get("NEWSFLOW_ES_CA_CERTS") or None,
            es_setup_password=secret(e, "NEWSFLOW_ES_SETUP_PASSWORD"),
            es_worker_password=secret(e, "NEWSFLOW_ES_WORKER_PASSWORD"),
            group=e.get("NEWSFLOW_GROUP") or None,
            kafka_security_protocol=kafka_protocol(e.get("NEWSFLOW_KAFKA_SECURITY_PROTOCOL"),
                                              sasl=bool(e.get("NEWSFLOW_KAFKA_SASL_MECHANISM"))),
            kafka_sasl_mechanism=e.get("NEWSFLOW_KAFKA_SASL_MECHANISM") or None,
            kafka_sasl_username=e.get("NEWSFLOW_KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=secret(e, "NEWSFLOW_KAFKA_SASL_PASSWORD"),
            kafka_ssl_cafile=e.get("NEWSFLOW_KAFKA_SSL_CAFILE") or None,
            kafka_ssl_check_hostname=e.get("NEWSFLOW_KAFKA_SSL_CHECK_HOSTNAME", "true")
            .strip().lower() not in ("0", "false", "no", "off"),
            topic_replication=parse_count("NEWSFLOW_TOPIC_REPLICATION",
                                          e.get("NEWSFLOW_TOPIC_REPLICATION"), minimum=1),
            min_insync_replicas=parse_count("NEWSFLOW_MIN_INSYNC_REPLICAS",
                                            e.get("NEWSFLOW_MIN_INSYNC_REPLICAS"), minimum=1),
            index_replicas=parse_count("NEWSFLOW_INDEX_REPLICAS",
                                       e.get("NEWSFLOW_INDEX_REPLICAS"), minimum=0),
            batch_size=_number(e, "NEWSFLOW_BATCH_SIZE", d.batch_size, int),
            batch_within=_number(e, "NEWSFLOW_BATCH_WITHIN", d.batch_within, float),
            quote_batch_within=_number(e, "NEWSFLOW_QUOTE_BATCH_WITHIN", d.quote_batch_within,
                                       float),
            refresh_interval=_duration(e, "NEWSFLOW_REFRESH_INTERVAL", d.refresh_interval),
            commit_interval=_number(e, "NEWSFLOW_COMMIT_INTERVAL", d.commit_interval, float),
            stall_timeout=_number(e, "NEWSFLOW_STALL_TIMEOUT", d.stall_timeout, float),
            stall_check=_number(e, "NEWSFLOW_STALL_CHECK", d.stall_check, float),
            commit_every=_number(e, "NEWSFLOW_COMMIT_EVERY", d.commit_every, int),
            worker_index=_number(e, "NEWSFLOW_WORKER_INDEX", d.worker_index, int),
            metrics_port=_number(e, "NEWSFLOW_METRICS_PORT", d.metrics_port, int),
            log_format=e.get("NEWSFLOW_LOG_FORMAT", d.log_format).lower(),
            spacy_model=e.get("NEWSFLOW_SPACY_MODEL") or None,
            es_java_opts=e.get("NEWSFLOW_ES_JAVA_OPTS") or d.es_java_opts,
            max_article_chars=_number(e, "NEWSFLOW_MAX_ARTICLE_CHARS", d.max_article_chars, int),
            max_enrich_batch_chars=_number(e, "NEWSFLOW_MAX_ENRICH_BATCH_CHARS",
                                           d.max_enrich_batch_chars, int),
            max_entities=_number(e, "NEWSFLOW_MAX_ENTITIES", d.max_entities, int),
            max_attributions=_number(e, "NEWSFLOW_MAX_ATTRIBUTIONS", d.max_attributions, int),
            max_output_bytes=_number(e, "NEWSFLOW_MAX_OUTPUT_BYTES", d.max_output_bytes, int),
            max_bulk_bytes=_number(e, "NEWSFLOW_MAX_BULK_BYTES", d.max_bulk_bytes, int),
            dead_letter_max_payload=_number(e, "NEWSFLOW_DEAD_LETTER_MAX_PAYLOAD",
                                            d.dead_letter_max_payload, int),
            batch_retries=_number(e, "NEWSFLOW_BATCH_RETRIES", d.batch_retries, int),
            hot_window=_duration(e, "NEWSFLOW_HOT_WINDOW", d.hot_window),
            stories_retention=_duration(e, "NEWSFLOW_STORIES_RETENTION", d.stories_retention),
            quotes_retention=_duration(e, "NEWSFLOW_QUOTES_RETENTION", d.quotes_retention),
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
    def stories_topic(self) -> str:
        """One partition: every raw article in one order, for story assignment."""
        return f"{self.topic_prefix}.stories.v1"

    @property
    def assigned_topic(self) -> str:
        """Raw articles with their story (``AssignedArticle``), keyed by story."""
        return f"{self.topic_prefix}.assigned.v1"

    @property
    def story_state_index(self) -> str:
        """The Elasticsearch index holding the story assignment's durable state."""
        return f"{self.index_alias}-stories"

    @property
    def quotes_index_alias(self) -> str:
        """The alias of the quote groups' index (``NEWSFLOW_QUOTES_INDEX``)."""
        return self.quotes_alias or quotes_alias_for(self.index_alias)

    @property
    def quotes_topic(self) -> str:
        """One :class:`~pipeline.core.contracts.Quote` per attribution; ONE partition, so
        quote grouping sees every quote in one order whichever worker owns it."""
        return f"{self.topic_prefix}.quotes.v1"

    def topic_partitions(self, name: str) -> int:
        """Partitions of one of :attr:`topics`: 1 for dead letters, quotes and stories.

        >>> s = Settings(partitions=4)
        >>> s.topic_partitions(s.raw_topic), s.topic_partitions(s.quotes_topic)
        (4, 1)
        """
        return 1 if name in (self.dead_letter_topic, self.quotes_topic,
                             self.stories_topic) else self.partitions

    @property
    def app_id(self) -> str:
        """Faust application id, which is also the Kafka consumer group.

        ``NEWSFLOW_GROUP`` gives a new one: a worker in a new group replays the raw topic
        from its beginning (re-enrichment after an upgrade).
        """
        return self.group or f"newsflow-{self.topic_prefix}"

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.raw_topic, self.enriched_topic, self.dead_letter_topic, self.quotes_topic,
                self.stories_topic, self.assigned_topic)

    @property
    def replication(self) -> Replication:
        """The configured copies of topics and indices (resolved against the cluster)."""
        return Replication(factor=self.topic_replication, min_insync=self.min_insync_replicas,
                           index_replicas=self.index_replicas)

    def kafka_client_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments: bootstrap servers, TLS and SASL as configured.

        >>> tls = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile="/ca.pem")
        >>> tls.kafka_client_config()  # doctest: +NORMALIZE_WHITESPACE
        {'bootstrap_servers': 'localhost:9092', 'security_protocol': 'SSL',
         'ssl_cafile': '/ca.pem', 'ssl_check_hostname': True}
        """
        conf: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap}
        if self.kafka_security_protocol != "PLAINTEXT":
            conf["security_protocol"] = self.kafka_security_protocol
        if self.kafka_tls:
            conf.update(ssl_cafile=self.kafka_ssl_cafile,
                        ssl_check_hostname=self.kafka_ssl_check_hostname)
        if self.kafka_sasl_mechanism:
            conf.update(sasl_mechanism=self.kafka_sasl_mechanism,
                        sasl_plain_username=self.kafka_sasl_username,
                        sasl_plain_password=self.kafka_sasl_password)
        return conf

    @property
    def es_hosts(self) -> list[str]:
        """The Elasticsearch nodes of ``NEWSFLOW_ES_URL`` (a comma list): the clients spread
        requests over them and send a failed one to the next.

        >>> Settings(es_url="http://a:9200,http://b:9201").es_hosts
        ['http://a:9200', 'http://b:9201']
        """
        return [u.strip() for u in self.es_url.split(",") if u.strip()]

    @property
    def kafka_tls(self) -> bool:
        """True when the Kafka clients talk TLS (``SSL`` or ``SASL_SSL``)."""
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def es_auth(self) -> tuple[str, str] | None:
        if self.es_username and self.es_password:
            return (self.es_username, self.es_password)
        return None

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json"
