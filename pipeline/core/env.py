"""Reading security values from the environment: the Kafka protocol, and passwords given
directly or as files (``*_FILE``, e.g. Docker secrets)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.core.errors import ConfigError


def secret(env: Mapping[str, str], name: str) -> str | None:
    """A password from ``name``, or read from the file ``name_FILE`` names (a Docker secret
    under /run/secrets: kept out of the container's environment). One trailing newline is
    dropped."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
    return text.removesuffix("\n") or None


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


def kafka_protocol(raw: str | None, *, sasl: bool) -> str:
    """The Kafka security protocol; a SASL mechanism makes PLAINTEXT and SSL their SASL
    forms (credentials are never configured to go unused).

    >>> kafka_protocol("ssl", sasl=True), kafka_protocol(None, sasl=False)
    ('SASL_SSL', 'PLAINTEXT')
    """
    value = (raw or "PLAINTEXT").strip().upper()
    if value not in KAFKA_PROTOCOLS:
        raise ConfigError(f"NEWSFLOW_KAFKA_SECURITY_PROTOCOL={raw!r}: one of "
                          + ", ".join(KAFKA_PROTOCOLS))
    if value.startswith("SASL_") and not sasl:
        raise ConfigError(f"NEWSFLOW_KAFKA_SECURITY_PROTOCOL={value} needs "
                          "NEWSFLOW_KAFKA_SASL_MECHANISM (and its username and password)")
    return value if not sasl or value.startswith("SASL_") else f"SASL_{value}"
