"""The demo web in a child process with its own CPU core, for benchmarks.

``python -m linkgraph.demo.process --sites 300 --pages 50 --seed 1 --ready-file ready.json``
serves the generated demo web until SIGTERM or SIGINT; :class:`DemoWebProcess` starts that
command from Python and waits for it. The two sides share the files the child writes: the
ready file (its pid, port, hosts and seeds, once it serves) and the stats file (per-site
counters, at exit), each written beside and renamed so a reader never sees half of one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .server import DemoWebError
from .sites import generate
from .web import DemoWeb, write_hosts

__all__ = ["DemoWebProcess"]


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
    """``python -m linkgraph.demo.process``: serve the generated demo web until SIGTERM/SIGINT."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m linkgraph.demo.process",
        description="Serve the generated demo web on loopback addresses until SIGTERM.",
        epilog="Example: python -m linkgraph.demo.process --sites 300 --pages 50 --ready-file r.json",
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
        cmd = [sys.executable, "-P", "-m", "linkgraph.demo.process", *self._args]
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
        return write_hosts(self.hosts, path)

    def __enter__(self) -> DemoWebProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy, so classes are not doubled.
    from linkgraph.demo.process import main as _main

    sys.exit(_main())
