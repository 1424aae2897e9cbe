"""What a connector is: one small class with one async method yielding articles.

A connector never touches Kafka; the runner owns producing, scheduling, state
and health. A minimal connector::

    class HelloConnector(Connector[HelloConfig]):
        name = "hello.v1"
        Config = HelloConfig

        async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
            yield self.article(url=self.config.url, title="Hello", text="Hello, world.")

and an entry point in ``pyproject.toml``::

    [project.entry-points."newsflow.connectors"]
    "hello.v1" = "mypackage.hello:HelloConnector"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import ConnectorError
from connectors.http import Fetcher
from pipeline.core.contracts import Provenance, RawArticle


class ConnectorConfig(BaseModel):
    """Base of connector configs: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
    publisher: str | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    delay: float = Field(default=0.25, ge=0, description="seconds between requests to one host")


C = TypeVar("C", bound=ConnectorConfig)


@dataclass
class Context:
    """What the runner lends a connector: its source name, HTTP and saved state."""

    source: str
    fetcher: Fetcher
    state: dict[str, Any] = field(default_factory=dict)


class Connector(ABC, Generic[C]):
    """Base class of every connector."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    Config: ClassVar[type[ConnectorConfig]]

    def __init__(self, config: C, context: Context) -> None:
        self.config = config
        self.context = context

    @abstractmethod
    def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        """Yield the source's current articles (and errors for items that failed)."""

    def provenance(self, **fields: Any) -> Provenance:
        return Provenance(connector=self.name, connector_version=self.version,
                          source=self.context.source, publisher=self.config.publisher,
                          **fields)

    def article(self, *, url: str, text: str, provenance: Provenance | None = None,
                **fields: Any) -> RawArticle:
        fields.setdefault("language", self.config.language)
        fields.setdefault("tags", list(self.config.tags))
        return RawArticle.new(url=url, text=text, provenance=provenance or self.provenance(),
                              **fields)

    def error(self, cls: type[ConnectorError], message: str, url: str | None = None
              ) -> ConnectorError:
        return cls(message, source=self.context.source, url=url)
