"""The built-in local demo web: many simulated sites, each on its own loopback address.

Every site listens on its own address in ``127.77.0.0/16`` (Linux routes all of
``127.0.0.0/8`` to the loopback interface, so no setup is needed) and all share one TCP
port. Host names end in ``.test`` (RFC 2606); a crawler reaches them through the hosts
file :meth:`DemoWeb.write_hosts_file` writes. Because a site is found by the local address a
request arrived on, a wrong ``Host`` header still reaches the site that owns the address.
Sites given one ``address`` share it (shared hosting): there the ``Host`` header tells
them apart, and :meth:`DemoWeb.max_inflight_at` counts the requests to the address.

Three users, three ways to run it:

- in-process, for async tests: ``async with DemoWeb(sites) as web: ...``;
- in a background thread with its own loop: ``with DemoWeb(sites) as web: ...``
  (or :meth:`DemoWeb.start_in_thread` / :meth:`DemoWeb.stop`);
- in a child process with its own CPU core, for benchmarks:
  :class:`~linkgraph.demo.process.DemoWebProcess` (``python -m linkgraph.demo.process``).

Sites are declared as data (:class:`DemoSite`, :class:`DemoPage`, :class:`Response`, in
:mod:`linkgraph.demo.model`); the generated demo web lives in :mod:`linkgraph.demo.sites` and
:mod:`linkgraph.demo.audit`. Since the port is only known once bound, absolute URLs in
bodies, headers and expected links are written with :data:`PORT_TOKEN` (see
:func:`site_url`); the running web serves copies with the real port.

Every 2xx answer carries a strong ``ETag`` and a ``Last-Modified``, and a matching
``If-None-Match`` or ``If-Modified-Since`` gets 304 (logged as 304), unless the page says
``validators=False``; see :class:`~linkgraph.demo.server.Answer` for the RFC 9110 rules.

A running web can be swapped to another generation of the same sites, in place (same
addresses, same port)::

    with DemoWeb(generate(40, 12)) as web:
        ...  # crawl generation 1
        web.replace_sites(generate(40, 12, generation=2))
        ...  # recrawl: unchanged pages answer 304, truth.CHANGES tells what changed

Example::

    site = DemoSite("www.a.test", [DemoPage.html("/", "<a href='/x'>x</a>")])
    async with DemoWeb([site]) as web:
        web.write_hosts_file("hosts")
        ...  # crawl web.seeds, then inspect web.requests / web.max_connections("www.a.test")
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from .model import DemoSite, ExpectedLink, expected_edges, fill_port
from .server import (
    Connections,
    DemoWebError,
    Hit,
    Load,
    SiteServer,
    SiteState,
    bind,
    by_host,
    handler,
)

__all__ = ["DemoResolver", "DemoWeb"]


class DemoResolver(AbstractResolver):
    """An aiohttp resolver that maps demo host names to their addresses (for clients)."""

    def __init__(self, hosts: dict[str, str]) -> None:
        self._hosts = dict(hosts)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self._hosts.get(host, host if host.startswith("127.") else None)
        if address is None:
            raise OSError(errno.ENOENT, f"{host} is not a demo host")
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


def write_hosts(hosts: dict[str, str], path: str | os.PathLike[str]) -> Path:
    """Write ``address name`` lines in ``/etc/hosts`` format."""
    path = Path(path)
    lines = ["# linkgraph demo web"] + [f"{addr} {name}" for name, addr in hosts.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class DemoWeb:
    """Serve ``sites``, each on its own loopback address, all on one port.

    ``network`` gives the first two octets of the addresses handed out (``127.77.A.B``,
    B in 2..254). ``record=False`` keeps counters but no request log (long benchmarks).
    After start, ``sites`` holds the served copies, with the port filled in.
    """

    def __init__(
        self,
        sites: Iterable[DemoSite],
        *,
        network: str = "127.77",
        port: int = 0,
        record: bool = True,
        backlog: int = 1024,
        bind_attempts: int = 20,
        shutdown_timeout: float = 0.25,
    ) -> None:
        self._given = list(sites)
        names = [s.name for s in self._given]
        if len(set(names)) != len(names):
            raise ValueError("two demo sites have the same name")
        self.port = 0
        self.sites: list[DemoSite] = []
        self.hosts = self._assign(network)
        self._want_port, self._record, self._backlog = port, record, backlog
        self._attempts, self._shutdown_timeout = bind_attempts, shutdown_timeout
        self._log: list[Hit] = []
        self._states: dict[str, SiteState] = {}
        self._loads: dict[str, Load] = {}
        self._conns = Connections()
        self._servers: list[SiteServer] = []
        self._listeners: list[asyncio.AbstractServer] = []
        self._reserved: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def _assign(self, network: str) -> dict[str, str]:
        taken = {s.address for s in self._given if s.address}
        free = (
            f"{network}.{a}.{b}"
            for a in range(256)
            for b in range(2, 255)
            if f"{network}.{a}.{b}" not in taken
        )
        return {s.name: s.address or next(free) for s in self._given}

    # Running ----------------------------------------------------------------------

    async def start(self) -> DemoWeb:
        """Bind and serve on the running loop (``async with`` calls this)."""
        if self._listeners:
            raise DemoWebError("the demo web is already running")
        loop = asyncio.get_running_loop()
        listen = list(dict.fromkeys(self.hosts[s.name] for s in self._given if s.listening))
        reserve = [
            a
            for a in dict.fromkeys(self.hosts[s.name] for s in self._given if not s.listening)
            if a not in listen
        ]
        self.port, socks, self._reserved = bind(
            listen, reserve, port=self._want_port, backlog=self._backlog, attempts=self._attempts
        )
        port = str(self.port)
        self.sites = [self._filled(s, port) for s in self._given]
        log = self._log if self._record else None
        try:
            for address in listen:
                here = [s for s in self.sites if s.listening and s.address == address]
                load = self._loads[address] = Load()
                handlers = {}
                for site in here:
                    state = self._states[site.name] = SiteState(site, port)
                    handlers[site.name] = handler(state, self._conns, log, load)
                if len(here) == 1:
                    server = SiteServer(handlers[here[0].name], state, self._conns, access_log=None)
                else:
                    server = SiteServer(by_host(handlers), None, self._conns, access_log=None)
                self._servers.append(server)
                sock = socks.pop(0)
                try:
                    listener = await loop.create_server(server, sock=sock, backlog=self._backlog)
                except BaseException:
                    sock.close()
                    raise
                self._listeners.append(listener)
        except BaseException:
            for sock in socks:
                sock.close()
            await self.close()
            raise
        return self

    def _filled(self, site: DemoSite, port: str) -> DemoSite:
        origin = f"http://{site.name}:{port}"
        pages = {path: fill_port(page, origin, port) for path, page in site.pages.items()}
        robots = site.robots and fill_port(site.robots, origin, port)
        return replace(site, pages=pages, robots=robots, address=self.hosts[site.name])

    async def close(self) -> None:
        """Stop serving and close every socket (``async with`` calls this)."""
        for listener in self._listeners:
            listener.close()
        await asyncio.gather(*(s.shutdown(self._shutdown_timeout) for s in self._servers))
        for listener in self._listeners:
            await listener.wait_closed()
        for sock in self._reserved:
            sock.close()
        self._listeners, self._servers, self._reserved = [], [], []
        self._conns.open.clear()

    async def __aenter__(self) -> DemoWeb:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start_in_thread(self, timeout: float = 30.0) -> DemoWeb:
        """Serve from a background thread with its own event loop; :meth:`stop` ends it."""
        if self._thread is not None:
            raise DemoWebError("the demo web is already running in a thread")
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            with asyncio.Runner() as runner:
                runner.run(self._serve_thread(ready, failed))

        self._thread = threading.Thread(target=run, name="linkgraph-demoweb", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            self.stop()
            raise DemoWebError(f"the demo web did not start within {timeout}s")
        if failed:
            self._thread.join()
            self._thread = None
            raise failed[0]
        return self

    async def _serve_thread(self, ready: threading.Event, failed: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.start()
        except Exception as exc:
            failed.append(exc)
            return
        finally:
            ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop a web started with :meth:`start_in_thread` and wait for its thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout)

    def __enter__(self) -> DemoWeb:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def replace_sites(self, sites: Iterable[DemoSite]) -> None:
        """Serve ``sites`` instead, in place: the same hosts, addresses and port.

        For moving a running web to another generation of the same sites between two
        crawls (``web.replace_sites(generate(..., generation=2))``): each site's pages are
        swapped in one step, and every page starts again at its first response. The
        request log and counters are kept. ``sites`` must hold the same names, each
        listening or not as before; otherwise ``ValueError``.
        """
        new = list(sites)
        before = {s.name: s.listening for s in self._given}
        after = {s.name: s.listening for s in new}
        if len(after) != len(new) or after != before:
            raise ValueError("replace_sites needs the same site names, each listening as before")
        if any(s.address and s.address != self.hosts[s.name] for s in new):
            raise ValueError("replace_sites cannot move a site to another address")
        self._given = new
        if not self._states:
            return  # not serving yet: start() fills in the port
        port = str(self.port)
        self.sites = [self._filled(s, port) for s in new]
        for site in self.sites:
            if site.name in self._states:
                self._states[site.name].load(site)

    # Addresses ----------------------------------------------------------------------

    @property
    def seeds(self) -> list[str]:
        """Home page URLs of the listening sites marked ``seed``."""
        return [self.url(s.name) for s in self._given if s.seed and s.listening]

    def url(self, name: str, path: str = "/") -> str:
        """``http://name:port/path`` on the running demo web."""
        if not self.port:
            raise DemoWebError("the demo web has no port until it starts")
        return f"http://{name}:{self.port}{path}"

    def write_hosts_file(self, path: str | os.PathLike[str]) -> Path:
        """Write every host (listening or not) as ``address name`` lines; returns the path."""
        return write_hosts(self.hosts, path)

    def resolver(self) -> DemoResolver:
        """An aiohttp resolver for clients: ``TCPConnector(resolver=web.resolver())``."""
        return DemoResolver(self.hosts)

    def expected_edges(self) -> list[tuple[str, ExpectedLink]]:
        """:func:`expected_edges` of the served sites, with the real port."""
        return expected_edges(self.sites, self.port)

    # The request log and counters ---------------------------------------------------

    @property
    def requests(self) -> list[Hit]:
        """A copy of the request log, in arrival order."""
        return list(self._log)

    def hits(self, site: str | None = None, path: str | None = None) -> list[Hit]:
        """The logged requests, optionally only those to ``site`` and/or ``path``."""
        return [
            h
            for h in list(self._log)
            if (site is None or h.site == site) and (path is None or h.path == path)
        ]

    def clear_log(self) -> None:
        """Forget logged requests and restart the peaks from what is open right now."""
        self._log.clear()
        for state in self._states.values():
            state.max_inflight = state.inflight
            state.max_open = state.open
        for load in self._loads.values():
            load.max_inflight = load.inflight

    def reset(self) -> None:
        """:meth:`clear_log`, and rewind every page to its first response."""
        self.clear_log()
        for state in self._states.values():
            for route in state.routes.values():
                route.served = 0

    def max_inflight(self, site: str) -> int:
        """The most requests to ``site`` in progress at once since start or clear_log."""
        state = self._states.get(site)
        return state.max_inflight if state else 0

    def max_inflight_at(self, address: str) -> int:
        """The most requests to the sites on ``address`` in progress at once."""
        load = self._loads.get(address)
        return load.max_inflight if load else 0

    def max_connections(self, site: str) -> int:
        """The most TCP connections to ``site`` open at once since start or clear_log."""
        state = self._states.get(site)
        return state.max_open if state else 0

    def stats(self) -> dict[str, Any]:
        """Per-site request and connection counts (written by the process variant)."""
        sites = {
            name: {
                "requests": s.requests,
                "connections": s.opened,
                "max_inflight": s.max_inflight,
                "max_connections": s.max_open,
            }
            for name, s in self._states.items()
        }
        return {
            "requests": sum(s.requests for s in self._states.values()),
            "connections": sum(s.opened for s in self._states.values()),
            "sites": sites,
        }
