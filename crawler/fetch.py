"""Fetching: one aiohttp session, a resolver we control, bounded bodies, classified errors.

Address safety lives in the resolver, because every connection aiohttp opens asks it for
addresses: the first request to a host, a redirect to a new host, a reconnect after a
keep-alive timeout. It answers only with public addresses, so a crawl cannot reach a
loopback, private, link-local or otherwise special address by accident, whether the
name came from a link, a redirect or a DNS answer. Names pinned by a hosts file are the
one deliberate exception. URLs with IP literals never reach a resolver, so
:meth:`SafeResolver.lookup` is also what the engine asks before each new host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from .urls import host_of, is_ip_literal

__all__ = [
    "FetchError",
    "Fetcher",
    "Response",
    "header_values",
    "SafeResolver",
    "is_public_address",
    "read_hosts_file",
]


class FetchError(Exception):
    """A request that produced no HTTP response. ``reason`` is a short stored code."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


class BlockedAddress(OSError):
    """A name resolved only to addresses a crawl must not connect to."""


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (no loopback, private, link-local...)."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def read_hosts_file(path: str | Path) -> dict[str, list[str]]:
    """Parse an ``/etc/hosts``-format file into ``{name: [addresses]}`` (names lowercased)."""
    pinned: dict[str, list[str]] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FetchError("hosts-file", f"cannot read hosts file {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        address, *names = line.split()
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise FetchError("hosts-file", f"{path}:{number}: {address!r} is not an IP address") from None
        if not names:
            raise FetchError("hosts-file", f"{path}:{number}: an address without a host name")
        for name in names:
            pinned.setdefault(name.lower().rstrip("."), []).append(address)
    return pinned


class SafeResolver(AbstractResolver):
    """Hosts-file pins first, then the system resolver, and only public answers."""

    def __init__(self, pinned: Mapping[str, list[str]] | None = None, *, allow_private: bool = False) -> None:
        self.pinned = dict(pinned or {})
        self.allow_private = allow_private
        self._cache: dict[str, list[str]] = {}
        self._pending: dict[str, asyncio.Future[list[str]]] = {}

    async def lookup(self, host: str) -> list[str]:
        """Vetted addresses for a host name or IP literal; raises ``FetchError``."""
        host = host.lower().rstrip(".")
        cached = self._cache.get(host)
        if cached is not None:
            return cached
        pending = self._pending.get(host)
        if pending is not None:  # one lookup per name, however many ask at once
            return await asyncio.shield(pending)
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._pending[host] = future
        try:
            addresses = await self._lookup(host)
        except FetchError as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._pending[host]
        self._cache[host] = addresses
        future.set_result(addresses)
        return addresses

    async def _lookup(self, host: str) -> list[str]:
        if host in self.pinned:
            return self.pinned[host]
        if is_ip_literal(host):
            candidates = [host.strip("[]")]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, 80, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError) as exc:
                raise FetchError("dns", f"cannot resolve {host}: {exc}") from None
            candidates = list(dict.fromkeys(info[4][0] for info in infos))
        allowed = [a for a in candidates if self.allow_private or is_public_address(a)]
        if not allowed:
            raise FetchError(
                "blocked-address",
                f"{host} resolves only to non-public addresses ({', '.join(candidates)});"
                " pin it in --hosts-file to crawl it on purpose",
            )
        return allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self.lookup(host)
        except FetchError as exc:
            raise BlockedAddress(str(exc)) if exc.reason == "blocked-address" else OSError(str(exc)) from None
        results: list[ResolveResult] = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            results.append(
                ResolveResult(
                    hostname=host, host=address, port=port, family=fam, proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        return results

    async def close(self) -> None:
        return None


@dataclass(slots=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    truncated: bool = False

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


class Fetcher:
    """The crawl's HTTP client. Use as ``async with Fetcher(...) as fetcher``."""

    def __init__(
        self,
        *,
        user_agent: str,
        resolver: SafeResolver,
        concurrency: int = 100,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.user_agent = user_agent
        self.resolver = resolver
        self.concurrency = concurrency
        self.timeout = aiohttp.ClientTimeout(
            total=connect_timeout + 2 * read_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            use_dns_cache=False,  # our resolver caches, and vets every answer
            limit=self.concurrency + 16,
            limit_per_host=0,  # the scheduler enforces one request per host
            keepalive_timeout=30,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
            },
            timeout=self.timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        want_body: Callable[[int, Mapping[str, str]], bool] | None = None,
    ) -> Response:
        """GET without following redirects; the body is read up to ``max_bytes``.

        ``want_body(status, headers)`` may decline the body (a PDF we will not parse);
        the connection is then dropped rather than drained, unless the body is small.
        """
        assert self._session is not None, "use Fetcher as an async context manager"
        host = host_of(url)
        if is_ip_literal(host):
            await self.resolver.lookup(host)  # raises blocked-address for private literals
        start = time.monotonic()
        try:
            async with self._session.get(url, allow_redirects=False, headers=headers) as resp:
                truncated = False
                if want_body is not None and not want_body(resp.status, resp.headers):
                    body = b""
                    if (resp.content_length or 0) <= 65_536 and resp.content_length is not None:
                        await resp.read()  # small: drain it to keep the connection alive
                elif resp.content_length is not None and resp.content_length <= max_bytes:
                    body = await resp.read()
                else:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.content.iter_chunked(65_536):
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > max_bytes:
                            truncated = True
                            break
                    body = b"".join(chunks)[:max_bytes]
                return Response(url, resp.status, resp.headers, body, time.monotonic() - start, truncated)
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError("timeout", f"{url}: timed out") from None
        except aiohttp.ClientConnectorError as exc:
            reason = "blocked-address" if isinstance(exc.os_error, BlockedAddress) else "connect"
            raise FetchError(reason, f"{url}: {exc.os_error or exc}") from None
        except aiohttp.InvalidURL:
            raise FetchError("invalid-url", f"{url}: invalid URL") from None
        except (aiohttp.ClientError, ValueError, UnicodeError) as exc:
            raise FetchError("protocol", f"{url}: {type(exc).__name__}: {exc}") from None


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """All values of a repeated header (``X-Robots-Tag`` may come several times)."""
    getall: Any = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    value = headers.get(name)
    return [value] if value else []
