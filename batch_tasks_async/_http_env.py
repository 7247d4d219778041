"""The network environment as httpx reads it: proxy variables and certificate locations.

httpx honours ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (read through
[`urllib.request.getproxies`][urllib.request.getproxies], so lower-case names count too) and
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` only for transports it builds itself. The SDK builds its own
transport, so it reads the same variables here, with httpx's rules:

- a proxy URL without a scheme gets ``http://``;
- ``NO_PROXY`` entries are curl's: ``*`` disables every proxy, ``example.com`` matches the host
  and its subdomains, ``.example.com`` its subdomains only, IP addresses and ``localhost``
  match exactly, and an entry with a scheme (``http://host:port``) is a URL pattern;
- the most specific pattern wins (a port first, then the longest host, then the longest scheme).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import ssl
import urllib.request

import attrs
import httpx

__all__ = ["environment_proxy", "ssl_context"]


@attrs.frozen
class _Pattern:
    """One proxy-map key (``all://``, ``https://``, ``all://*example.com``), read as httpx does."""

    scheme: str
    host: str
    port: int | None
    host_regex: re.Pattern[str] | None

    @classmethod
    def parse(cls, pattern: str) -> _Pattern:
        url = httpx.URL(pattern)
        host = "" if url.host == "*" else url.host
        regex: re.Pattern[str] | None
        if not host:
            regex = None
        elif host.startswith("*."):
            regex = re.compile(f"^.+\\.{re.escape(host[2:])}$")
        elif host.startswith("*"):
            regex = re.compile(f"^(.+\\.)?{re.escape(host[1:])}$")
        else:
            regex = re.compile(f"^{re.escape(host)}$")
        return cls("" if url.scheme == "all" else url.scheme, host, url.port, regex)

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host_regex is not None and not self.host_regex.match(url.host):
            return False
        return self.port is None or self.port == url.port

    @property
    def priority(self) -> tuple[int, int, int]:
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))


def _is_ip(text: str, version: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        version(text.split("/")[0])
    except ValueError:
        return False
    return True


def _proxy_map() -> dict[str, str | None]:
    """The environment's proxy map: pattern -> proxy URL, or ``None`` for "no proxy"."""
    info = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if info.get(scheme):
            proxy = info[scheme]
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for entry in (host.strip() for host in info.get("no", "").split(",")):
        if entry == "*":
            return {}
        if not entry:
            continue
        if "://" in entry:
            mounts[entry] = None
        elif _is_ip(entry, ipaddress.IPv4Address) or entry.lower() == "localhost":
            mounts[f"all://{entry}"] = None
        elif _is_ip(entry, ipaddress.IPv6Address):
            mounts[f"all://[{entry}]"] = None
        else:
            mounts[f"all://*{entry}"] = None
    return mounts


def environment_proxy(url: httpx.URL | str) -> str | None:
    """The proxy URL the environment asks for when connecting to ``url``, or ``None``.

    The answer httpx's own client gives with ``trust_env=True`` for the same URL.
    """
    target = httpx.URL(url)
    patterns = sorted(
        ((_Pattern.parse(key), proxy) for key, proxy in _proxy_map().items()),
        key=lambda item: item[0].priority,
    )
    for pattern, proxy in patterns:
        if pattern.matches(target):
            return proxy
    return None


@functools.lru_cache(maxsize=8)
def _cached_context(trust_env: bool, cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # The arguments only key the cache: httpx reads the same variables itself.
    del cafile, capath
    return httpx.create_ssl_context(trust_env=trust_env)


def ssl_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """The TLS client context httpx would make: certifi's roots, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when ``trust_env`` and set; hostnames checked, TLS 1.2 at least.

    Made once per process for each setting of those variables (loading the roots takes
    milliseconds) and shared by every client.
    """
    if not trust_env:
        return _cached_context(False, None, None)
    return _cached_context(
        True, os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None
    )
