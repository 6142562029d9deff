"""Page parsing off the event loop: decoding and link extraction in worker processes.

A crawl is CPU-bound in its event-loop thread long before the network is the limit:
parsing is a third of that thread's time, and threads cannot help (the GIL). So once a
crawl has shown it is big (``inline_pages`` pages parsed), parsing moves to worker
processes (``python -m crawler.parsing``), each fed through its stdin and answering on
its stdout, read by the event loop itself. Not ``concurrent.futures``: its feeder and
manager threads fight the event loop for the GIL and, measured, made the crawl slower.
Before that, and when no worker can run, pages are parsed in one thread of our own: never
on the event loop, where one slow page would hold up every host and Ctrl-C (lexbor
parses without the GIL, and our Python steps give it up every few milliseconds).

Each page has a CPU-time budget (``ParseLimits.cpu_seconds``): extraction stops where it
runs out and the page comes back with the links found so far and ``parse-timeout``. The
budget is checked between steps; a worker also runs under ``RLIMIT_CPU`` set a little past
it, so a parse stuck inside the C parser ends with the worker. Such a page is recorded as
``parse-timeout`` (``parse-failed`` when the worker crashed), the pages queued behind it
go to another worker, and a new worker is started in its place.

Protocol: length-prefixed pickles, first what every page is parsed with (agent token,
``want_text``, limits), then one request per page; each page's answer, in order, is its
fields in :mod:`marshal`'s faster format (a leading byte says so) or a pickled exception.
Small crawls never start a worker (one costs half a second to start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import marshal
import math
import pickle
import queue
import signal
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linkgraph.storage.records import NOT_FOLLOW_RELS

from linkgraph.cores import usable_cores

from .encoding import decode_html
from .extract import Budget, Extracted, as_links, extract_fields
from .settings import SettingsError
from .urls import MAX_URL_LENGTH, targets_info

__all__ = ["PageParser", "ParseLimits", "auto_workers", "parse_page"]

log = logging.getLogger("linkgraph.crawl")

_HEADER = struct.Struct("!I")
# The first byte of an answer: marshal data of a parsed page, or a pickled exception.
_PARSED, _FAILED = b"m", b"p"
# A worker that keeps dying (a parser bug on a common page) is not restarted for ever.
_MAX_RESTARTS = 20


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """What one page may cost: links kept, URL length, CPU seconds (``None``: no limit)."""

    max_links: int | None = 10_000
    max_url_length: int = MAX_URL_LENGTH
    cpu_seconds: float | None = 10.0

    def __post_init__(self) -> None:
        if self.max_links is not None and self.max_links < 1:
            raise SettingsError(f"max_links_per_page must be at least 1, not {self.max_links}")
        if self.max_url_length < 1:
            raise SettingsError(f"max_url_length must be at least 1, not {self.max_url_length}")
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise SettingsError(f"parse_cpu_seconds must be above 0, not {self.cpu_seconds}")

    @property
    def hard_seconds(self) -> int | None:
        """The CPU time after which a worker is killed: the budget, then as much again."""
        return None if self.cpu_seconds is None else math.ceil(2 * self.cpu_seconds) + 1


# A compact, cheaply pickled form of Extracted: links as plain tuples, each the fields of
# a Link (a named tuple, built from them in C), then the targets to follow.
_Parsed = tuple[
    list[tuple[str, str, tuple[str, ...], str, bool, str]],
    str | None,
    str | None,
    str | None,
    frozenset[str],
    str,
    str | None,
    dict[str, tuple[int, str, str]],
    str | None,
    bool,
    int,
    list[str],
]


def parse_page(
    body: bytes,
    content_type: str | None,
    url: str,
    agent_token: str,
    want_text: bool,
    limits: ParseLimits = ParseLimits(),
    clock: Callable[[], float] | None = None,
) -> _Parsed:
    """Decode and extract one page (runs in a worker process or the parse thread).

    ``clock`` measures the CPU budget (default: this thread's CPU time).
    """
    budget = Budget(limits.cpu_seconds, *(() if clock is None else (clock,)))
    text, _ = decode_html(body, content_type)
    links, found = extract_fields(
        text,
        url,
        agent_token=agent_token,
        want_text=want_text,
        max_links=limits.max_links,
        max_url_length=limits.max_url_length,
        budget=budget,
    )
    # The targets to follow, each once, in order: what the engine offers the frontier
    # (links marked nofollow, sponsored or ugc are recorded, not followed: Link.follow).
    free = NOT_FOLLOW_RELS.isdisjoint
    follow = list(dict.fromkeys([ln[0] for ln in links if not ln[2] or free(ln[2])]))
    # The frontier and the store need each target's hash, host and domain: computing them
    # here takes that work off the event loop too.
    targets = dict.fromkeys([link[0] for link in links])
    if found.canonical:
        targets[found.canonical] = None
    info = targets_info(targets)
    return (
        links,
        found.title,
        found.lang,
        found.canonical,
        found.robots,
        found.base,
        found.text,
        info,
        found.error,
        found.truncated,
        found.long_urls,
        follow,
    )


def _unpack(parsed: _Parsed) -> Extracted:
    (links, title, lang, canonical, robots, base, text, info, error, truncated, long_urls,
     follow) = parsed  # fmt: skip
    return Extracted(
        links=as_links(links),
        title=title,
        lang=lang,
        canonical=canonical,
        robots=robots,
        base=base,
        text=text,
        url_info=info,
        error=error,
        truncated=truncated,
        long_urls=long_urls,
        follow=follow,
    )


def _failed(url: str, error: str) -> Extracted:
    """A page whose parse produced nothing (the worker died on it, or the parser raised)."""
    return Extracted([], None, None, None, frozenset(), url, None, {}, error=error)


def auto_workers() -> int:
    """One worker per core this process may use beyond the event loop's, at most four:
    its CPU affinity, not the machine's cores (a cpuset or taskset of two on a big machine
    would otherwise get a worker per machine core)."""
    return max(0, min(4, usable_cores() - 1))


class _WorkerDied(Exception):
    def __init__(self, this_page: bool, error: str) -> None:
        super().__init__(error)
        self.this_page = this_page  # the worker was parsing this page (else: queued behind)
        self.error = error


class _Worker:
    """One worker process: pages to its stdin, answers from its stdout, batched: the pages
    of one turn of the event loop go in one write, the answers that arrived come from one
    read (a write and a read per page were a tenth of the event-loop thread's time)."""

    def __init__(self, process: asyncio.subprocess.Process, config: bytes) -> None:
        self.process = process
        self.waiting: deque[asyncio.Future[_Parsed]] = deque()
        self._out: list[bytes] = [_HEADER.pack(len(config)), config]
        self._flushing = False
        self.reader = asyncio.ensure_future(self._read())
        self._flush()

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        buffer = bytearray()
        try:
            while data := await stdout.read(1 << 20):
                buffer += data
                start, end = 0, len(buffer)
                while end - start >= _HEADER.size:
                    (size,) = _HEADER.unpack_from(buffer, start)
                    if end - start - _HEADER.size < size:
                        break
                    start += _HEADER.size
                    view = memoryview(buffer)[start + 1 : start + size]
                    answer = (marshal if buffer[start] == _PARSED[0] else pickle).loads(view)
                    view.release()  # the buffer is trimmed below: no view may stay
                    start += size
                    future = self.waiting.popleft()
                    if not future.done():
                        if isinstance(answer, BaseException):
                            future.set_exception(answer)
                        else:
                            future.set_result(answer)
                del buffer[:start]
        except (ConnectionError, pickle.UnpicklingError, IndexError, EOFError, ValueError):
            pass
        code = await self.process.wait()
        # Killed at its CPU limit (SIGXCPU) or by us (SIGKILL): the page took too long.
        error = "parse-timeout" if code in (-signal.SIGXCPU, -signal.SIGKILL) else "parse-failed"
        first = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(_WorkerDied(first, error))
            first = False

    @property
    def alive(self) -> bool:
        stdin = self.process.stdin
        return not self.reader.done() and stdin is not None and not stdin.is_closing()

    def submit(self, request: bytes) -> asyncio.Future[_Parsed]:
        if not self.alive:
            raise _WorkerDied(False, "parse-failed")
        future: asyncio.Future[_Parsed] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self._out += (_HEADER.pack(len(request)), request)
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flushing = False
        stdin = self.process.stdin
        if self._out and stdin is not None and not stdin.is_closing():
            stdin.write(b"".join(self._out))
        self._out = []

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class _ParseThread:
    """One daemon thread that parses pages handed to it, in order.

    A daemon, and not a ``concurrent.futures`` pool, so that an interrupted crawl exits at
    once instead of waiting at interpreter exit for the page in hand.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def parse(self, args: tuple[Any, ...]) -> asyncio.Future[_Parsed]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="page-parser", daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Parsed] = loop.create_future()
        self._queue.put((loop, future, args))
        return future

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            loop, future, args = job
            try:
                result: Any = parse_page(*args)
                ok = True
            except Exception as exc:  # a parser bug on one page: the caller records it
                result, ok = exc, False
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, result, ok)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread = None


def _settle(future: asyncio.Future[_Parsed], result: Any, ok: bool) -> None:
    if future.done():
        return
    if ok:
        future.set_result(result)
    else:
        future.set_exception(result)


class PageParser:
    """Parses pages in a thread, then (for big crawls) in ``workers`` processes."""

    def __init__(
        self,
        *,
        workers: int,
        agent_token: str,
        want_text: bool,
        inline_pages: int = 500,
        limits: ParseLimits = ParseLimits(),
    ) -> None:
        self.workers = workers
        self.agent_token = agent_token
        self.want_text = want_text
        self.inline_pages = inline_pages
        self.limits = limits
        self.parsed = 0
        self.restarts = 0
        self._pool: list[_Worker] = []
        self._starting: asyncio.Task[None] | None = None
        self._replacing: set[asyncio.Task[None]] = set()
        self._broken = workers == 0
        self._next = 0
        self._thread = _ParseThread()

    async def _spawn(self) -> _Worker:
        # What every page of the crawl is parsed with, sent once to each worker.
        config = pickle.dumps((self.agent_token, self.want_text, self.limits), protocol=5)
        return _Worker(
            await asyncio.create_subprocess_exec(
                sys.executable,
                # -P: a folder named "linkgraph" in the working directory must not shadow
                # the installed package in the worker.
                "-P",
                "-m",
                "linkgraph.crawler.parsing",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                # Out of the terminal's process group: Ctrl-C is the crawl's to handle (it
                # closes the pool; a worker ends at the end of its input), not a traceback
                # from each worker.
                start_new_session=True,
            ),
            config,
        )

    async def _start(self) -> None:
        try:
            for _ in range(self.workers):
                self._pool.append(await self._spawn())
        except OSError as exc:
            log.warning("cannot start page-parsing workers (%s); parsing in a thread", exc)
            self._broken = True

    async def _replace(self) -> None:
        try:
            self._pool.append(await self._spawn())
        except OSError as exc:
            log.warning("cannot restart a page-parsing worker (%s)", exc)

    def _retire(self, worker: _Worker) -> None:
        """Drop a dead worker and start another in its place, while restarts remain."""
        if worker not in self._pool:
            return
        self._pool.remove(worker)
        if self.restarts < _MAX_RESTARTS:
            self.restarts += 1
            task = asyncio.ensure_future(self._replace())
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)
        elif not self._pool:
            log.warning("page-parsing workers keep stopping; parsing in a thread from now on")
            self._broken = True

    async def parse(self, body: bytes, content_type: str | None, url: str) -> Extracted:
        """Parse one page, never on the event loop; problems come back in ``error``."""
        self.parsed += 1
        if not self._broken and self._starting is None and self.parsed > self.inline_pages:
            self._starting = asyncio.ensure_future(self._start())
        request = None
        while self._pool and not self._broken:
            worker = self._pool[self._next % len(self._pool)]
            self._next += 1
            try:
                if request is None:
                    request = pickle.dumps((body, content_type, url), protocol=5)
                return _unpack(await worker.submit(request))
            except _WorkerDied as died:
                self._retire(worker)
                if died.this_page:
                    log.warning("%s: %s (its parsing worker stopped)", url, died.error)
                    return _failed(url, died.error)
            except RuntimeError as exc:  # the worker caught a parser error on this page
                log.warning("%s: %s", url, exc)
                return _failed(url, "parse-failed")
        args = (body, content_type, url, self.agent_token, self.want_text, self.limits)
        try:
            return _unpack(await self._thread.parse(args))
        except Exception as exc:  # a parser bug on one page must not stop the crawl
            log.warning("%s: parsing failed: %s: %s", url, type(exc).__name__, exc)
            return _failed(url, "parse-failed")

    async def wait_started(self) -> bool:
        """Wait for the workers being started, if any; True when they are in use."""
        if self._starting is not None:
            await self._starting
        return bool(self._pool) and not self._broken

    async def close(self) -> None:
        self._thread.close()
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        for task in list(self._replacing):
            with contextlib.suppress(Exception):
                await task
        for worker in self._pool:
            await worker.close()
        self._pool = []


def _limit_cpu(limits: ParseLimits) -> None:  # pragma: no cover - runs in the worker process
    """Let the kernel end this worker when the page in hand runs past its CPU limit."""
    import resource

    hard = limits.hard_seconds
    if hard is None:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, ceiling = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used) + hard
    if ceiling != resource.RLIM_INFINITY:
        soft = min(soft, ceiling)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, ceiling))


def _serve() -> None:  # pragma: no cover - runs in the worker process
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would dump core
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config: tuple[Any, ...] | None = None
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        message = pickle.loads(stdin.read(size))
        if config is None:  # the first message: agent token, want_text, limits
            config = message
            continue
        # Answered page by page: when a page kills this worker, the caller knows which.
        try:
            with contextlib.suppress(ImportError, ValueError, OSError):
                _limit_cpu(config[2])
            data = _PARSED + marshal.dumps(parse_page(*message, *config))
        except Exception as exc:  # a parser bug on one page: the caller records it
            error = RuntimeError(f"parsing failed: {type(exc).__name__}: {exc}")
            data = _FAILED + pickle.dumps(error, protocol=5)
        stdout.write(_HEADER.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    _serve()
