"""The built-in local demo web: many simulated sites, each on its own loopback address.

Every site listens on its own address in ``127.77.0.0/16`` (Linux routes all of
``127.0.0.0/8`` to the loopback interface, so no setup is needed) and all share one TCP
port. Host names end in ``.test`` (RFC 2606); a crawler reaches them through the hosts
file :meth:`DemoWeb.write_hosts_file` writes. Because a site is found by the local address a
request arrived on, a wrong ``Host`` header still reaches the site that owns the address.

Three users, three ways to run it:

- in-process, for async tests: ``async with DemoWeb(sites) as web: ...``;
- in a background thread with its own loop: ``with DemoWeb(sites) as web: ...``
  (or :meth:`DemoWeb.start_in_thread` / :meth:`DemoWeb.stop`);
- in a child process with its own CPU core, for benchmarks:
  ``python -m linkgraph.demo.web --sites 300 --pages 50 --seed 1 --ready-file ready.json``,
  or :class:`DemoWebProcess` from Python.

Sites are declared as data (:class:`DemoSite`, :class:`DemoPage`, :class:`Response`, in
:mod:`linkgraph.demo.model`); the generated demo web lives in :mod:`linkgraph.demo.sites` and
:mod:`linkgraph.demo.audit`. Since the port is only known once bound, absolute URLs in
bodies, headers and expected links are written with :data:`PORT_TOKEN` (see
:func:`site_url`); the running web serves copies with the real port.

Every 2xx answer carries a strong ``ETag`` and a ``Last-Modified``, and a matching
``If-None-Match`` or ``If-Modified-Since`` gets 304 (logged as 304), unless the page says
``validators=False``; see :class:`~linkgraph.demo.model.Answer` for the RFC 9110 rules.

A running web can be swapped to another generation of the same sites, in place (same
addresses, same port)::

    with DemoWeb(generate(40, 12)) as web:
        ...  # crawl generation 1
        web.replace_sites(generate(40, 12, generation=2))
        ...  # recrawl: unchanged pages answer 304, demoaudit.CHANGES tells what changed

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
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from .model import Answer
from .sites import (
    GENERATION_DATES,
    PORT_TOKEN,
    CalendarTrap,
    DemoPage,
    DemoSite,
    ExpectedLink,
    Response,
    compress,
    decompress,
    describe,
    expected_edges,
    fill_port,
    generate,
    site_url,
)

__all__ = [
    "GENERATION_DATES",
    "PORT_TOKEN",
    "CalendarTrap",
    "DemoPage",
    "DemoResolver",
    "DemoSite",
    "DemoWeb",
    "DemoWebError",
    "DemoWebProcess",
    "ExpectedLink",
    "Hit",
    "Response",
    "compress",
    "decompress",
    "describe",
    "expected_edges",
    "generate",
    "main",
    "site_url",
]


class DemoWebError(RuntimeError):
    """The demo web could not start (no shared free port, bad site list, child died)."""


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


def _write_hosts(hosts: dict[str, str], path: str | os.PathLike[str]) -> Path:
    """Write ``address name`` lines in ``/etc/hosts`` format."""
    path = Path(path)
    lines = ["# linkgraph demo web"] + [f"{addr} {name}" for name, addr in hosts.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The server ----------------------------------------------------------------------------

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


class _SiteState:
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


class _SiteServer(web.Server):
    """aiohttp's low-level server for one site, counting that site's TCP connections."""

    def __init__(self, handler: Any, state: _SiteState, demo: DemoWeb, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._state = state
        self._demo = demo

    def connection_made(self, handler: Any, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        demo, state = self._demo, self._state
        demo._conn_counter += 1
        peer = transport.get_extra_info("peername") or ("", 0)
        demo._conns[handler] = (demo._conn_counter, (peer[0], peer[1]))
        state.opened += 1
        state.open += 1
        state.max_open = max(state.max_open, state.open)

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        if self._demo._conns.pop(handler, None) is not None:
            self._state.open -= 1


def _bind(
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
        self._states: dict[str, _SiteState] = {}
        self._conns: dict[Any, tuple[int, tuple[str, int]]] = {}
        self._conn_counter = 0
        self._servers: list[_SiteServer] = []
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
        listening = [s for s in self._given if s.listening]
        self.port, socks, self._reserved = _bind(
            [self.hosts[s.name] for s in listening],
            [self.hosts[s.name] for s in self._given if not s.listening],
            port=self._want_port,
            backlog=self._backlog,
            attempts=self._attempts,
        )
        port = str(self.port)
        self.sites = [self._filled(s, port) for s in self._given]
        try:
            for site in self.sites:
                if not site.listening:
                    continue
                state = self._states[site.name] = _SiteState(site, port)
                server = _SiteServer(self._handler(state), state, self, access_log=None)
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

    def _handler(self, state: _SiteState) -> Callable[[web.BaseRequest], Any]:
        log, conns, record = self._log, self._conns, self._record

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
            if record:
                conn, peer = conns.get(request.protocol, (0, ("", 0)))
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
            try:
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                if status != answer.status:  # 304 or 412: validators only, no body
                    return web.Response(status=status, headers=answer.validators)
                kind = web.Response if answer.typed else _Untyped
                return kind(status=answer.status, body=answer.body, headers=answer.headers)
            finally:
                state.inflight -= 1

        return handle

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
        self._conns.clear()

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
        return _write_hosts(self.hosts, path)

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


# The process variant ---------------------------------------------------------------------


def _write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    # Write beside and rename, so a reader polling for the file never sees half of it.
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


async def _serve_process(args: Any) -> None:
    sites = generate(
        args.sites, args.pages, seed=args.seed, traps=args.traps, generation=args.generation
    )
    demo = DemoWeb(sites, network=args.network, port=args.port, record=args.log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with demo:
        if args.hosts_file:
            demo.write_hosts_file(args.hosts_file)
        pages = sum(len(s.pages) for s in sites)
        ready = {"pid": os.getpid(), "port": demo.port, "hosts": demo.hosts}
        _write_json(args.ready_file, {**ready, "seeds": demo.seeds, "pages": pages})
        await stop.wait()
    if args.stats_file:
        _write_json(args.stats_file, demo.stats())


def main(argv: list[str] | None = None) -> int:
    """``python -m linkgraph.demo.web``: serve the generated demo web until SIGTERM/SIGINT."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m linkgraph.demo.web",
        description="Serve the generated demo web on loopback addresses until SIGTERM.",
        epilog="Example: python -m linkgraph.demo.web --sites 300 --pages 50 --ready-file r.json",
    )
    parser.add_argument("--sites", type=int, default=40, help="number of hosts (default 40)")
    parser.add_argument("--pages", type=int, default=12, help="pages per site (default 12)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--no-traps", dest="traps", action="store_false", help="benchmark web")
    parser.add_argument(
        "--generation", type=int, choices=(1, 2), default=1, help="web generation (default 1)"
    )
    parser.add_argument("--ready-file", required=True, help="JSON written once serving")
    parser.add_argument("--hosts-file", help="also write the hosts file here")
    parser.add_argument("--stats-file", help="JSON of per-site counters written at exit")
    parser.add_argument("--network", default="127.77", help="first two address octets")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--log", action="store_true", help="keep the request log in memory")
    args = parser.parse_args(argv)
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_serve_process(args))
    except (DemoWebError, ValueError) as exc:
        print(f"demoweb: {exc}", file=sys.stderr)
        return 1
    return 0


class DemoWebProcess:
    """The generated demo web served by a child process, so it has its own CPU core.

    Blocking (it polls for the ready file); for benchmarks and subprocess tests::

        with DemoWebProcess(300, 50, seed=1) as demo:
            demo.write_hosts_file("hosts")
            ...  # crawl demo.seeds
        print(demo.stats["requests"])
    """

    def __init__(
        self,
        n_sites: int = 300,
        pages_per_site: int = 50,
        *,
        seed: int = 1,
        traps: bool = False,
        generation: int = 1,
        network: str = "127.77",
        log: bool = False,
        timeout: float = 120.0,
    ) -> None:
        self._args = ["--sites", str(n_sites), "--pages", str(pages_per_site)]
        self._args += ["--seed", str(seed), "--network", network, "--generation", str(generation)]
        self._args += [] if traps else ["--no-traps"]
        self._args += ["--log"] if log else []
        self._timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.hosts: dict[str, str] = {}
        self.seeds: list[str] = []
        self.ready: dict[str, Any] = {}
        self.stats: dict[str, Any] | None = None
        self.returncode: int | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> DemoWebProcess:
        """Spawn the child and wait until it serves."""
        self._dir = tempfile.TemporaryDirectory(prefix="linkgraph-demoweb-")
        ready = Path(self._dir.name, "ready.json")
        stats = Path(self._dir.name, "stats.json")
        # -P: the working directory must not shadow the installed package in the server.
        cmd = [sys.executable, "-P", "-m", "linkgraph.demo.web", *self._args]
        cmd += ["--ready-file", str(ready), "--stats-file", str(stats)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self._timeout
        while not ready.exists():
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise DemoWebError(f"the demo web process exited with status {code}")
            if time.monotonic() > deadline:
                self.stop()
                raise DemoWebError(f"the demo web process was not ready in {self._timeout}s")
            time.sleep(0.02)
        self.ready = json.loads(ready.read_text(encoding="utf-8"))
        self.port, self.hosts, self.seeds = (
            self.ready["port"],
            self.ready["hosts"],
            self.ready["seeds"],
        )
        return self

    def stop(self, timeout: float = 15.0) -> dict[str, Any] | None:
        """SIGTERM the child, wait for it, and return its stats (``None`` if it left none)."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            self.returncode = process.returncode
        if self._dir is not None:
            stats = Path(self._dir.name, "stats.json")
            if stats.exists():
                self.stats = json.loads(stats.read_text(encoding="utf-8"))
            self._dir.cleanup()
            self._dir = None
        return self.stats

    def url(self, name: str, path: str = "/") -> str:
        """``http://name:port/path`` on the child's demo web."""
        return f"http://{name}:{self.port}{path}"

    def write_hosts_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the child's hosts as ``address name`` lines; returns the path."""
        return _write_hosts(self.hosts, path)

    def __enter__(self) -> DemoWebProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy, so classes are not doubled.
    from linkgraph.demo.web import main as _main

    sys.exit(_main())
