"""Proxies per source: ``proxy: http://host:port``, ``https://...`` or ``socks5://...``,
with the proxy's credentials from the environment (``proxy_auth_env``: the name of a
variable holding ``user:password``), never in the sources file.

    >>> check_proxy_url("socks5://proxy.internal:1080")
    'socks5://proxy.internal:1080'
    >>> check_proxy_url("http://bob:secret@proxy.internal:3128")
    Traceback (most recent call last):
    ...
    ValueError: put no credentials in the proxy URL: name an environment variable holding \
user:password in proxy_auth_env

The SSRF guard checks every target as without a proxy. A plain-http target is asked of
the proxy at the address the guard checked (absolute-form request, Host header by
name); through SOCKS every target is connected at the checked address; an https target
through an HTTP proxy is tunnelled with CONNECT by name (TLS and its certificate check
need the name), after the guard checked what that name resolves to. The proxy's
credentials go to the proxy only (``Proxy-Authorization`` on the proxy hop, SOCKS5
user/password); a ``Proxy-Authorization`` header a connector sets is never sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

from pipeline.core.env import secret
from pipeline.core.errors import ConfigError

SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy_url(url: str) -> str:
    """A proxy URL we can use, without credentials; ValueError saying what is wrong."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid proxy URL: {exc}") from exc
    if parsed.scheme not in SCHEMES:
        raise ValueError(f"proxy scheme '{parsed.scheme}' is not supported "
                         f"(use {', '.join(s + '://' for s in SCHEMES)})")
    if parsed.userinfo:
        raise ValueError("put no credentials in the proxy URL: name an environment variable "
                         "holding user:password in proxy_auth_env")
    if not parsed.host:
        raise ValueError("proxy URL has no host")
    return url


@dataclass(frozen=True)
class ProxyConfig:
    url: str
    auth_env: str | None = None

    @property
    def socks(self) -> bool:
        return self.url.startswith("socks")

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) from the environment; ValueError when the variable is unset
        or not ``user:password``."""
        if not self.auth_env:
            return None
        try:  # the variable, or the file its ``_FILE`` twin names (a Docker secret)
            value = secret(os.environ, self.auth_env)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if not value or ":" not in value:
            raise ValueError(f"environment variable {self.auth_env} (proxy_auth_env) or "
                             f"{self.auth_env}_FILE must hold user:password")
        user, _, password = value.partition(":")
        return user, password

    def for_httpx(self) -> httpx.Proxy:
        return httpx.Proxy(self.url, auth=self.credentials())

    def pins(self, scheme: str) -> bool:
        """Is a target of ``scheme`` connected at its checked address through this proxy?"""
        return self.socks or scheme == "http"
