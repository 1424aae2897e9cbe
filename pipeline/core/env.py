"""Reading security values from the environment: the Kafka protocol, and passwords given
directly or as files (``*_FILE``, e.g. Docker secrets)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.core.errors import ConfigError


def secret(env: Mapping[str, str], name: str) -> str | None:
    """A password from ``name``, or read from the file ``name_FILE`` names (a Docker secret
    under /run/secrets: kept out of the container's environment). One trailing newline is
    dropped. Both set, or a file that is missing, unreadable or empty, is a
    :class:`ConfigError` naming the variable (and the path)::

        >>> secret({"NEWSFLOW_ES_PASSWORD": "pw"}, "NEWSFLOW_ES_PASSWORD")
        'pw'
        >>> secret({}, "NEWSFLOW_ES_PASSWORD") is None
        True
    """
    path = env.get(f"{name}_FILE")
    if env.get(name):
        if path:
            raise ConfigError(f"both {name} and {name}_FILE are set: set one of them "
                              f"(the file, {name}_FILE, keeps the password out of the "
                              "environment)")
        return env[name]
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{name}_FILE={path!r} cannot be read: {why}") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ConfigError(f"{name}_FILE={path!r} is empty: write the password into it")
    return value


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
