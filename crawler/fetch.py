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
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from linkgraph.errors import LinkgraphError

from .urls import host_of, is_ip_literal

__all__ = [
    "REDIRECTS",
    "FetchError",
    "Fetcher",
    "Request",
    "Response",
    "SafeResolver",
    "header_values",
    "is_public_address",
    "read_hosts_file",
]

# The statuses whose Location the crawl follows (the fetcher itself never follows one).
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(LinkgraphError):
    """A request that produced no HTTP response. ``reason`` is a short stored code.

    ``sent_ago`` is as in :class:`Response`, or ``None`` when the request never went out
    (refused connection, blocked address).
    """

    def __init__(self, reason: str, message: str = "", *, sent_ago: float | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.sent_ago = sent_ago


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
            raise FetchError(
                "hosts-file", f"{path}:{number}: {address!r} is not an IP address"
            ) from None
        if not names:
            raise FetchError("hosts-file", f"{path}:{number}: an address without a host name")
        for name in names:
            pinned.setdefault(name.lower().rstrip("."), []).append(address)
    return pinned


class SafeResolver(AbstractResolver):
    """Hosts-file pins first, then the system resolver, and only public answers.

    ``pinned_only``: never ask the system resolver; a name that is not pinned fails with
    reason ``not-pinned`` before any packet leaves (the demo, a crawl of a local mirror).
    """

    def __init__(
        self,
        pinned: Mapping[str, list[str]] | None = None,
        *,
        allow_private: bool = False,
        pinned_only: bool = False,
    ) -> None:
        self.pinned = dict(pinned or {})
        self.allow_private = allow_private
        self.pinned_only = pinned_only
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
        if self.pinned_only:
            raise FetchError("not-pinned", f"{host} is not pinned in the hosts file: not resolved")
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
            raise (
                BlockedAddress(str(exc)) if exc.reason == "blocked-address" else OSError(str(exc))
            ) from None
        results: list[ResolveResult] = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=fam,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        return results

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Request:
    """One request of the crawl: ``method`` on ``url``, redirects not followed, the body
    read up to ``max_bytes`` unless ``want_body(status, headers)`` declines it (a PDF we
    will not parse, a link check)."""

    url: str
    max_bytes: int
    headers: Mapping[str, str] | None = None
    want_body: Callable[[int, Mapping[str, str]], bool] | None = None
    method: str = "GET"


@dataclass(slots=True)
class Response:
    """One HTTP response. ``sent_ago``: seconds between the request headers going on the
    wire and this response being returned, so a caller can tell when the request left."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    truncated: bool = False
    sent_ago: float = 0.0

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
        # sock_read alone bounds only the silence between two reads: a server dripping a
        # byte every few seconds (a tarpit) would hold a request for ever. ``total`` is the
        # deadline of the whole try, connection, headers and body.
        self.timeout = aiohttp.ClientTimeout(
            total=connect_timeout + read_timeout,
            connect=connect_timeout,
            sock_read=read_timeout,
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
            trace_configs=[_send_times()],
        )
        # aiohttp sends a GET a second time, at once, when the server closes the connection
        # without answering. The engine has its own retries, which keep the host's delay and
        # count the failure toward parking; a hidden second request would do neither.
        # There is no public switch: the attribute is in ClientSession.ATTRS, so setting it
        # is allowed (an unknown name would warn, and the test suite turns that into an error).
        self._session._retry_connection = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, request: Request) -> Response:
        """Send ``request`` without following redirects; the body is read up to its
        ``max_bytes``. When ``want_body`` declines the body, the connection is dropped
        rather than drained, unless the body is small.
        """
        assert self._session is not None, "use Fetcher as an async context manager"
        url, max_bytes, want_body = request.url, request.max_bytes, request.want_body
        host = host_of(url)
        if is_ip_literal(host):
            await self.resolver.lookup(host)  # raises blocked-address for private literals
        start = time.monotonic()
        sent: dict[str, float] = {}
        try:
            # Our URLs are WHATWG serializations, already percent-encoded: tell yarl not to
            # parse and quote them again (it would also "fix" what we must send as is).
            async with self._session.request(
                request.method,
                URL(url, encoded=True),
                allow_redirects=False,
                headers=request.headers,
                trace_request_ctx=sent,
            ) as resp:
                truncated = False
                # Content-Length counts the bytes on the wire; a compressed body can inflate
                # to a thousand times that, so only an unencoded length bounds what we read.
                encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
                length = resp.content_length if encoding == "identity" else None
                if want_body is not None and not want_body(resp.status, resp.headers):
                    body = b""
                    if length is not None and length <= 65_536:
                        await resp.read()  # small: drain it to keep the connection alive
                elif length is not None and length <= max_bytes:
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
                done = time.monotonic()
                ago = done - sent.get("at", start)
                return Response(url, resp.status, resp.headers, body, done - start, truncated, ago)
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError("timeout", f"{url}: timed out", sent_ago=_ago(sent)) from None
        except aiohttp.ClientConnectorError as exc:
            reason = "blocked-address" if isinstance(exc.os_error, BlockedAddress) else "connect"
            raise FetchError(reason, f"{url}: {exc.os_error or exc}") from None
        except aiohttp.InvalidURL:
            raise FetchError("invalid-url", f"{url}: invalid URL") from None
        except (aiohttp.ClientError, ValueError, UnicodeError) as exc:
            message = f"{url}: {type(exc).__name__}: {exc}"
            raise FetchError("protocol", message, sent_ago=_ago(sent)) from None


def _send_times() -> aiohttp.TraceConfig:
    """Note when each request's headers are written, in the dict passed as its trace context.

    Politeness gaps are measured between the moments requests leave: the moment the engine
    decides to send can be tens of milliseconds earlier when the event loop is busy.
    """

    async def headers_sent(session: object, context: SimpleNamespace, params: object) -> None:
        context.trace_request_ctx["at"] = time.monotonic()

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(headers_sent)
    return trace


def _ago(sent: dict[str, float]) -> float | None:
    return time.monotonic() - sent["at"] if "at" in sent else None


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """All values of a repeated header (``X-Robots-Tag`` may come several times)."""
    getall: Any = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    value = headers.get(name)
    return [value] if value else []
