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

A failed item is yielded as a :class:`ConnectorError` (the pass goes on); ``self.error``
and ``self.failed`` can tell the runner the item's key, its raw bytes (for the
dead-letter topic) and, for a transient failure, what the connector needs to attempt
it again on a later pass (given back by ``self.context.items.due()``).
"""

from __future__ import annotations

import copy
import hashlib
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import (
    BlockedURL,
    ConnectorError,
    FetchError,
    ParseError,
    Skipped,
    TooLarge,
    Walled,
)
from connectors.extract import (
    DEFAULT_EXTRACT_TIMEOUT,
    CPUWorkers,
    Extracted,
    extract_article_async,
)
from connectors.http import Fetcher, Response
from connectors.language import detect, sniff, wanted
from connectors.page import wall_of
from connectors.proxy import ProxyConfig, check_proxy_url
from connectors.state import ItemLedger
from pipeline.core.contracts import Provenance, RawArticle

# Limits shared by the connector configs: a non-positive timeout or size is refused.
Seconds = Annotated[float, Field(gt=0, le=3600, description="seconds")]
ByteSize = Annotated[int, Field(gt=0, le=1024 ** 3, description="bytes")]


class ConnectorConfig(BaseModel):
    """Base of connector configs: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
    publisher: str | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    delay: float = Field(default=0.25, ge=0, le=3600,
                         description="seconds between requests to one host")
    languages: list[str] = Field(default_factory=list,
                                 description="keep only pages in these languages (ISO 639-1)")

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [v.strip().lower() for v in value]
        bad = [c for c in codes if not (2 <= len(c) <= 3 and c.isalpha())]
        if bad:
            raise ValueError(f"languages are ISO 639-1 codes such as en, fr; not {bad}")
        return codes


class HTTPConfig(ConnectorConfig):
    """Config of a connector that fetches over HTTP: an optional proxy for the source.

        proxy: socks5://proxy.internal:1080      # or http://..., https://...
        proxy_auth_env: NEWS_PROXY_AUTH          # a variable holding user:password
    """

    proxy: str | None = Field(default=None, description="http://, https:// or socks5:// "
                              "proxy for this source's requests")
    proxy_auth_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                       description="environment variable holding the "
                                                   "proxy's user:password")

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        return check_proxy_url(value) if value is not None else None

    def proxy_config(self) -> ProxyConfig | None:
        return ProxyConfig(self.proxy, self.proxy_auth_env) if self.proxy else None


class ExtractingConfig(ConnectorConfig):
    """Config of a connector that extracts article text from pages."""

    extract_timeout: Seconds = Field(default=DEFAULT_EXTRACT_TIMEOUT, le=600,
                                     description="time limit of one page's extraction")


C = TypeVar("C", bound=ConnectorConfig)


@dataclass
class Context:
    """What the runner lends a connector: its source name, HTTP, saved state, item ledger."""

    source: str
    fetcher: Fetcher
    state: dict[str, Any] = field(default_factory=dict)
    items: ItemLedger = field(default_factory=ItemLedger)


# ---------------------------------------------------------------- failed items


@dataclass
class ItemInfo:
    """What the runner needs to report and retry one failed item."""

    key: str | None = None                  # the item in the ledger (default: its URL)
    raw: bytes | None = None                # the item as read: the dead-letter payload
    retry: dict[str, Any] | None = None     # how to attempt it again (JSON-safe)
    transient: bool | None = None           # None: judged from the error and its causes
    retry_after: float | None = None        # seconds the server asked us to wait


def item_info(exc: ConnectorError) -> ItemInfo:
    info = vars(exc).get("item_info")
    return info if isinstance(info, ItemInfo) else ItemInfo()


def _annotate(exc: ConnectorError, info: ItemInfo) -> ConnectorError:
    vars(exc)["item_info"] = info
    return exc


def with_source(exc: ConnectorError, source: str, url: str | None = None) -> ConnectorError:
    """The same error (type, status, cause, item info) naming ``source`` (and ``url``)."""
    url = exc.url or url
    if exc.source == source and exc.url == url:
        return exc
    new = copy.copy(exc)
    new.source, new.url = source, url
    where = f" ({url})" if url else ""
    new.args = (f"source '{source}'{where}: {exc.reason}",)
    new.__cause__ = exc.__cause__ or exc.__context__
    return new


class HTTPStatusError(FetchError):
    """The server answered with a status that is not 2xx: never article text."""

    def __init__(self, message: str | int, *, source: str = "?", url: str | None = None,
                 status: int | None = None, retry_after: float | None = None) -> None:
        if isinstance(message, int):
            status, message = message, f"HTTP {message}"
        self.status = status if status is not None else _status_in(str(message))
        self.retry_after = retry_after
        super().__init__(str(message), source=source, url=url)


def _status_in(message: str) -> int:
    parts = message.split()
    return int(parts[1]) if len(parts) > 1 and parts[0] == "HTTP" and parts[1].isdigit() else 0


TRANSIENT_STATUS = frozenset({408, 425, 429})


def transient(exc: BaseException) -> bool:
    """Would trying again later likely work? Timeouts, connection errors, HTTP 5xx/429."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, Walled):
            return True  # backed off and attempted again, never ingested
        if isinstance(seen, HTTPStatusError):
            return seen.status >= 500 or seen.status in TRANSIENT_STATUS
        if isinstance(seen, TooLarge | BlockedURL | ParseError):
            return False
        if isinstance(seen, TimeoutError | httpx.TransportError | ConnectionError
                      | socket.gaierror):
            return True
        info = item_info(seen) if isinstance(seen, ConnectorError) else ItemInfo()
        if info.transient is not None:
            return info.transient
        seen = seen.__cause__
    return False


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def content_key(raw: bytes, where: str) -> str:
    """A stable key for an item that has no URL: where it came from plus a content hash."""
    return f"{where}#sha256:{hashlib.sha256(raw).hexdigest()[:16]}"


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

    def error(self, cls: type[ConnectorError], message: str, url: str | None = None, *,
              key: str | None = None, raw: bytes | None = None,
              retry: dict[str, Any] | None = None) -> ConnectorError:
        """An error naming this source; for a failed item, optionally its key, raw bytes
        and how to retry it."""
        exc = cls(message, source=self.context.source, url=url)
        if key is not None or raw is not None or retry is not None:
            _annotate(exc, ItemInfo(key=key, raw=raw, retry=retry))
        return exc

    def failed(self, exc: ConnectorError, *, url: str | None = None, key: str | None = None,
               raw: bytes | None = None, retry: dict[str, Any] | None = None
               ) -> ConnectorError:
        """``exc`` (from a fetch or a parse) as the failure of one item of this source.

        With ``retry``, a transient failure is attempted again on a later pass: the runner
        keeps ``retry`` and ``self.context.items.due()`` gives it back when it is due.
        """
        is_transient = transient(exc)
        after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        out = with_source(exc, self.context.source, url)
        return _annotate(out, ItemInfo(key=key, raw=raw, retry=retry if is_transient else None,
                                       transient=is_transient, retry_after=after))

    def check_status(self, resp: Response, url: str | None = None) -> Response:
        """``resp`` when its status is 2xx; otherwise raise :class:`HTTPStatusError`, or
        :class:`Walled` when the body is a bot-protection challenge."""
        if 200 <= resp.status < 300:
            return resp
        wall = wall_of(resp.body, status=resp.status)
        if wall is not None:
            raise Walled(f"{wall.kind} wall (rule '{wall.rule}'), HTTP {resp.status}: not "
                         "ingested, attempted again later", kind=wall.kind, rule=wall.rule,
                         source=self.context.source, url=url or resp.url)
        raise HTTPStatusError(resp.status, source=self.context.source, url=url or resp.url,
                              retry_after=_retry_after(resp.headers.get("retry-after")))

    def skipped(self, lang: str | None, url: str, *, when: str) -> Skipped:
        """The :class:`Skipped` for a page whose language the source does not keep."""
        return Skipped(f"language {lang or 'unknown'} ({when}) not in "
                       f"{self.config.languages}", source=self.context.source, url=url)

    async def extract(self, body: bytes, url: str, *, declared: str | None = None,
                      workers: CPUWorkers | None = None) -> Extracted:
        """Extract a page's article in a worker process, under the config's time limit.

        With ``languages`` set, a page whose declared language (``declared``, else its
        ``<html lang>``) is not kept raises :class:`Skipped` before extraction; a page
        that declares none is judged on the language detected in its text."""
        langs = self.config.languages
        lang = (declared or sniff(body, content_language=None)) if langs else None
        if lang is not None and not wanted(lang, langs):
            raise self.skipped(lang, url, when="declared")
        limit = (self.config.extract_timeout if isinstance(self.config, ExtractingConfig)
                 else DEFAULT_EXTRACT_TIMEOUT)
        try:
            ext = await extract_article_async(body, url=url, timeout=limit, workers=workers)
        except ConnectorError as exc:
            named = with_source(exc, self.context.source, url)
            if named is exc:
                raise
            raise named from exc
        if langs and lang is None:
            found = detect(f"{ext.title or ''}\n{ext.text}")
            if not wanted(found, langs):
                raise self.skipped(found, url, when="detected")
            ext.language = found
        elif lang is not None:
            ext.language = lang
        return ext
