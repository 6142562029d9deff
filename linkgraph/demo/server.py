"""The demo web's server side: how one site answers a request.

:class:`~linkgraph.demo.web.DemoWeb` owns the sockets, the sites and the request log; this
module holds what serves them. A page's canned responses become :class:`Answer` objects,
with validators added and conditional requests answered (RFC 9110 §13); a site's routes and
counters are a :class:`SiteState`; :func:`handler` answers and logs each request as a
:class:`Hit`; a :class:`SiteServer` per site counts its TCP connections; and :func:`bind`
binds every site's address on one shared port.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from hashlib import blake2b
from typing import Any

from aiohttp import web

from linkgraph.errors import LinkgraphError

from .model import DemoPage, DemoSite, Response, fill_port, header_value

__all__ = ["Answer", "DemoWebError", "Hit"]


class DemoWebError(LinkgraphError, RuntimeError):
    """The demo web could not start (no shared free port, bad site list, child died).

    A :class:`LinkgraphError`, so `linkgraph demo` reports it in one line; still a
    ``RuntimeError`` for code that caught it as one."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One request as the demo web saw it; ``time`` is ``time.monotonic()`` at arrival."""

    time: float
    site: str
    host_header: str
    method: str
    path: str
    headers: dict[str, str]
    conn: int
    peer: tuple[str, int]
    status: int


# Answers: validators and conditional requests (RFC 9110 §13) ------------------------------

_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')


def _http_date(value: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7), or ``None`` when absent or not a valid date."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


class Answer:
    """A :class:`Response` as served: validators added once, preconditions checked per request.

    With ``last_modified`` (a page with validators), a 2xx answer gets a strong ``ETag``, a
    hash of the body served, and that ``Last-Modified``, unless the response names its own.
    """

    __slots__ = ("body", "delay", "etag", "headers", "modified", "status", "typed", "validators")

    def __init__(self, response: Response, last_modified: datetime | None = None) -> None:
        self.status = response.status
        self.body = response.body
        self.headers = headers = dict(response.headers)
        self.delay = response.delay
        self.typed = header_value(headers, "Content-Type") is not None
        self.etag = header_value(headers, "ETag")
        stamp = header_value(headers, "Last-Modified")
        if last_modified is not None and 200 <= self.status < 300:
            if self.etag is None:  # strong: the same bytes, always the same tag
                self.etag = headers["ETag"] = f'"{blake2b(self.body, digest_size=12).hexdigest()}"'
            if stamp is None:
                stamp = headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
        self.modified = _http_date(stamp)
        # RFC 9110 §15.4.5: a 304 carries the ETag a 200 would have; Last-Modified helps
        # a cache update the stored response.
        self.validators = {k: v for k, v in (("ETag", self.etag), ("Last-Modified", stamp)) if v}

    def precondition(self, method: str, headers: Mapping[str, str]) -> int | None:
        """304 or 412 when a conditional header says so (RFC 9110 §13.2.2), else ``None``."""
        if not 200 <= self.status < 300 or not self.validators:
            return None  # §13.2.1: preconditions apply only to what would be a 2xx
        safe = method in ("GET", "HEAD")
        none_match = headers.get("If-None-Match")
        if none_match is not None:  # §13.1.2, weak comparison
            tags = {t.removeprefix("W/") for t in _ENTITY_TAG.findall(none_match)}
            own = self.etag.removeprefix("W/") if self.etag else None
            if "*" in tags or own in tags:
                return 304 if safe else 412
            return None
        since = _http_date(headers.get("If-Modified-Since")) if safe else None
        if since is not None and self.modified is not None and self.modified <= since:
            return 304  # §13.1.3: not modified since the date given
        return None


# Sites, connections and requests -----------------------------------------------------------

_NOT_FOUND = DemoPage.status("", 404)


class _Route:
    __slots__ = ("allow", "answers", "served")

    def __init__(self, page: DemoPage) -> None:
        stamp = page.last_modified if page.validators else None
        self.answers = [Answer(r, stamp) for r in page.responses] or [Answer(Response())]
        self.allow = frozenset(page.allow)
        self.served = 0


def _not_allowed(allow: frozenset[str]) -> Answer:
    headers = {"Content-Type": "text/plain", "Allow": ", ".join(sorted(allow))}
    return Answer(Response(405, b"Method Not Allowed\n", headers))


class _Untyped(web.Response):
    """A response with no Content-Type at all (aiohttp adds application/octet-stream)."""

    async def _prepare_headers(self) -> None:
        # A private aiohttp hook; test_demoweb pins that the header really is absent.
        await super()._prepare_headers()
        self._headers.popall("Content-Type", None)


class SiteState:
    """One listening site: its routes and its counters."""

    __slots__ = (
        "fallback",
        "inflight",
        "max_inflight",
        "max_open",
        "name",
        "open",
        "opened",
        "origin",
        "port",
        "requests",
        "routes",
    )

    def __init__(self, site: DemoSite, port: str) -> None:
        self.name = site.name
        self.port = port
        self.origin = f"http://{site.name}:{port}"
        self.load(site)
        self.inflight = self.max_inflight = self.open = self.max_open = 0
        self.opened = self.requests = 0

    def load(self, site: DemoSite) -> None:
        """Serve ``site``'s pages from now on (a whole new table, swapped in one step)."""
        routes = {path: _Route(page) for path, page in site.pages.items()}
        if site.robots is not None:
            routes["/robots.txt"] = _Route(site.robots)
        self.routes, self.fallback = routes, site.fallback

    def miss(self, path: str) -> _Route:
        page = self.fallback(path) if self.fallback is not None else None
        if page is None:
            return _Route(_NOT_FOUND)
        route = self.routes[path] = _Route(fill_port(page, self.origin, self.port))
        return route


class Load:
    """The requests in progress at once on one address, which several sites may share."""

    __slots__ = ("inflight", "max_inflight")

    def __init__(self) -> None:
        self.inflight = self.max_inflight = 0


class SiteServer(web.Server):
    """aiohttp's low-level server for one address, counting its site's TCP connections
    (``state`` None: several sites share the address, a connection is no one site's)."""

    def __init__(
        self, handler: Any, state: SiteState | None, conns: Connections, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self._state = state
        self._conns = conns

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        conns, state = self._conns, self._state
        conns.made += 1
        peer = transport.get_extra_info("peername") or ("", 0)
        conns.open[handler] = (conns.made, (peer[0], peer[1]))
        if state is not None:
            state.opened += 1
            state.open += 1
            state.max_open = max(state.max_open, state.open)

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        if self._conns.open.pop(handler, None) is not None and self._state is not None:
            self._state.open -= 1


class Connections:
    """The open TCP connections of a whole demo web, numbered in the order they were made."""

    __slots__ = ("made", "open")

    def __init__(self) -> None:
        self.made = 0
        # aiohttp's protocol object of each connection: (its number, the client's address)
        self.open: dict[Any, tuple[int, tuple[str, int]]] = {}


def handler(
    state: SiteState, conns: Connections, log: list[Hit] | None, load: Load | None = None
) -> Callable[[web.BaseRequest], Any]:
    """The request handler of one site; each request is appended to ``log`` unless ``None``
    and counted in its address's ``load``."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        arrived = time.monotonic()
        path = request.raw_path
        route = state.routes.get(path) or state.miss(path)
        answers = route.answers
        answer = answers[min(route.served, len(answers) - 1)]
        route.served += 1
        state.requests += 1
        if route.allow and request.method not in route.allow:
            answer = _not_allowed(route.allow)
        status = answer.precondition(request.method, request.headers) or answer.status
        if log is not None:
            conn, peer = conns.open.get(request.protocol, (0, ("", 0)))
            headers = {k.lower(): v for k, v in request.headers.items()}
            host = headers.get("host", "")
            hit = Hit(
                arrived,
                state.name,
                host,
                request.method,
                path,
                headers,
                conn,
                peer,
                status,
            )
            log.append(hit)
        state.inflight += 1
        state.max_inflight = max(state.max_inflight, state.inflight)
        if load is not None:
            load.inflight += 1
            load.max_inflight = max(load.max_inflight, load.inflight)
        try:
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if status != answer.status:  # 304 or 412: validators only, no body
                return web.Response(status=status, headers=answer.validators)
            kind = web.Response if answer.typed else _Untyped
            return kind(status=answer.status, body=answer.body, headers=answer.headers)
        finally:
            state.inflight -= 1
            if load is not None:
                load.inflight -= 1

    return handle


def by_host(
    handlers: dict[str, Callable[[web.BaseRequest], Any]],
) -> Callable[[web.BaseRequest], Any]:
    """The handler of an address several sites share: the site the ``Host`` header names
    (its first site for a name it does not serve)."""
    first = next(iter(handlers.values()))

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        return await handlers.get((request.url.host or "").lower(), first)(request)

    return handle


def bind(
    listen: list[str], reserve: list[str], *, port: int, backlog: int, attempts: int
) -> tuple[int, list[socket.socket], list[socket.socket]]:
    """Bind every address on one shared port; ``reserve`` addresses are bound, never listen.

    A bound socket that does not listen answers connections with a reset (refused), and
    holding it keeps anyone else from listening there while the demo web runs.
    """
    addresses = listen + reserve
    last: OSError | None = None
    for _ in range(attempts if port == 0 else 1):
        socks: list[socket.socket] = []
        chosen = port
        try:
            for i, address in enumerate(addresses):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                if i < len(listen):
                    # Tolerate TIME_WAIT leftovers of an earlier run on this address and port.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, chosen))
                if i < len(listen):
                    # Listen at once, so a demo web racing us for this port fails to bind.
                    sock.listen(backlog)
                sock.setblocking(False)
                chosen = sock.getsockname()[1]
            return chosen, socks[: len(listen)], socks[len(listen) :]
        except OSError as exc:
            for sock in socks:
                sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise DemoWebError(f"cannot bind {addresses[len(socks) - 1]}: {exc}") from exc
            last = exc
    raise DemoWebError(f"no port free on all {len(addresses)} addresses: {last}")
