"""The sources file: one YAML list of sources, validated at startup.

    sources:
      - name: bbc-world
        type: rss.v1
        interval: 300            # seconds between polls
        url: https://feeds.bbci.co.uk/news/world/rss.xml
        publisher: BBC News
        language: en
        tags: [world]

Runner keys (name, type, interval, enabled, max_failures, retry_attempts,
retry_backoff) are checked here; every other key goes to the connector's own config
model, which forbids unknown keys and refuses out-of-range limits (a timeout or a size
must be positive). Errors name the source and the field; a file that cannot be read
(missing, not UTF-8, not YAML) is an error naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors import registry
from connectors.base import Connector, ConnectorConfig
from connectors.errors import SourceConfigError

RUNNER_KEYS = {"name", "type", "interval", "enabled", "max_failures", "retry_attempts",
               "retry_backoff", "alarm_gaps", "alarm_floor"}


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str
    interval: float = Field(default=300, gt=0)
    enabled: bool = True
    max_failures: int = Field(default=5, ge=1)
    retry_attempts: int = Field(default=5, ge=1, le=100,
                                description="attempts at an item that fails transiently")
    retry_backoff: float = Field(default=60, gt=0, le=86400,
                                 description="seconds before an item's second attempt; "
                                             "doubles with each further attempt")
    alarm_gaps: float = Field(default=4, ge=1, le=1000,
                              description="stopped collecting: no new item for this many "
                                          "times the usual gap (connectors.alarm)")
    alarm_floor: float = Field(default=3600, ge=60, le=30 * 86400,
                               description="seconds: never reported stopped sooner")


@dataclass
class Source:
    spec: SourceSpec
    cls: type[Connector]
    config: ConnectorConfig


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}"
                     for e in exc.errors())


def parse_sources(data: Any) -> list[Source]:
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourceConfigError("the file must hold a mapping with a 'sources' list")
    out: list[Source] = []
    names: set[str] = set()
    for i, raw in enumerate(data["sources"]):
        label = raw.get("name", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
        if not isinstance(raw, dict):
            raise SourceConfigError("each source must be a mapping", source=str(label))
        try:
            spec = SourceSpec(**{k: v for k, v in raw.items() if k in RUNNER_KEYS})
        except ValidationError as exc:
            raise SourceConfigError(_errors(exc), source=str(label)) from exc
        if spec.name in names:
            raise SourceConfigError("duplicate source name", source=spec.name)
        names.add(spec.name)
        cls = registry.load(spec.type, source=spec.name)
        try:
            config = cls.Config(**{k: v for k, v in raw.items() if k not in RUNNER_KEYS})
        except ValidationError as exc:
            raise SourceConfigError(f"{spec.type} config: {_errors(exc)}",
                                    source=spec.name) from exc
        out.append(Source(spec, cls, config))
    return out


def load_sources(path: str | Path) -> list[Source]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceConfigError(f"cannot read sources file '{path}': {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourceConfigError(f"sources file '{path}' is not UTF-8 text: byte "
                                f"0x{exc.object[exc.start]:02x} at offset {exc.start} "
                                f"({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"'{path}' is not valid YAML: {exc}") from exc
    return parse_sources(data)
