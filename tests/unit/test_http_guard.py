"""connectors.http against hostile targets.

IPv6 forms of private IPv4 addresses and the SSRF guard.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from connectors.errors import BlockedURL
from connectors.http import check_target

# 3. the guard: every address form that leads to a non-public IPv4 address

BLOCKED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "::127.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated)
    "::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1",  # IPv4-translated (SIIT)
    "64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::10.0.0.1",  # NAT64
    "64:ff9b::169.254.169.254", "64:ff9b::192.168.0.1", "64:ff9b::0.0.0.0",
    "64:ff9b:1::127.0.0.1", "64:ff9b:1:7f00:1::", "64:ff9b:1::8.8.8.8",  # local-use NAT64
    "2002:7f00:1::1", "2002:a00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
           "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::5db8:d822", "2002:808:808::1"]


def literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", BLOCKED)
def test_guard_refuses_non_public_address(address: str) -> None:
    with pytest.raises(BlockedURL, match="SSRF"):
        check_target(f"http://{literal(address)}/feed.xml", allow_private=False)


@pytest.mark.parametrize("address", ALLOWED)
def test_guard_lets_public_address_through(address: str) -> None:
    check_target(f"https://{literal(address)}:8443/feed.xml", allow_private=False)


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:10.0.0.1"])
def test_guard_refuses_a_name_with_one_embedded_private_address(
        address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        assert host == "news.test"
        return real("8.8.8.8", port, *args, **kwargs) + real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(BlockedURL, match="SSRF"):
        check_target("http://news.test/", allow_private=False)
