"""The crawl's own HTTP/1.1 client: an asyncio protocol around llhttp (``httptools``).

Why not aiohttp, which :class:`~.fetch.Fetcher` uses: a crawl is CPU-bound in its
event-loop thread, and a profile of the benchmark crawl put a third of that thread's time
in aiohttp's own Python per request (URL objects, the request and response classes,
stream readers, trace hooks, the timer objects). What a crawl needs is smaller: one
request at a time per host on a kept-alive connection, redirects not followed, a body up
to a size cap. This client does that and nothing else, with the same seam
(:class:`~.seams.HttpFetcher`), the same resolver and address checks, the same
headers and the same outcomes (``FetchError`` reasons) as the aiohttp fetcher.

- Addresses come only from :class:`~.fetch.SafeResolver` (hosts-file pins, then the
  system resolver, public answers only): a name it refuses is never connected to.
- One kept-alive connection per origin is reused; a connection that answered with
  ``Connection: close``, sent bytes it was not asked for (even in the same read as the
  answer: parsing stops at the answer's end, which keeps its own status and headers), was
  cut off at the size cap or stayed idle past ``keepalive`` seconds is closed instead. A
  kept-alive connection the server closed unanswered is not tried again (as the aiohttp
  fetcher: the engine's retries keep the host's delay). After :meth:`HttpClient.close`
  no connection is opened or kept, even by a send that was still connecting.
- Deadlines as aiohttp's ``ClientTimeout(total=connect + read, connect=connect,
  sock_read=read)``: the connection, and the whole try (the address lookup included),
  and the silence between reads.
- Interim ``1xx`` answers (``103 Early Hints``) are skipped for the final one, as aiohttp
  does; more than 8 is ``protocol``.
- Bodies: ``Content-Length``, chunked or until the connection closes; ``gzip``,
  ``deflate`` (zlib or raw) and ``br`` decoded, the cap counted on the decoded bytes and
  enforced while decoding (a small compressed body cannot inflate past it).
- The response head is bounded (128 header lines, 64 KiB): a server sending endless
  headers gets ``protocol``, as aiohttp's limits give. Every byte that is not body counts
  toward the 64 KiB (skipped 1xx heads and chunked trailers too, with 64 bytes of chunk
  framing allowed per chunk).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from .fetch import FetchError, Request, Response
from .httpwire import DECODE_ERRORS, Decoder, brotli, content_length, split_url

__all__ = ["HttpClient"]

_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
_ENCODINGS = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
# aiohttp's limits on a response head: 128 header lines of up to 8,190 bytes each.
_MAX_HEADERS = 128
_MAX_HEAD_BYTES = 65_536
_DRAIN_LIMIT = 65_536  # a declined body this small is read and dropped to keep the connection
_IDLE_MAX = 4_096  # kept-alive connections at most; past this the oldest is closed
_MAX_INTERIM = 8  # 1xx interim answers skipped before the final one; more is a protocol error
_CHUNK_FRAMING = 64  # bytes of chunk-size line and CRLFs allowed per chunk beyond the head cap


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, one response at a time, parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0
        self._parser: httptools.HttpResponseParser | None = None
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._finished:
            self._close()  # bytes nobody asked for: this connection cannot be trusted
            return
        self._last_read = self.loop.time()
        body_before = self._raw_body
        try:
            parser.feed_data(data)
            # Every byte that is not body counts against the head cap: the head, skipped
            # 1xx heads, chunk-size lines and trailers (after ``0\r\n`` a server could
            # otherwise stream one endless trailer line into the parser's buffer).
            self._framing += len(data) - (self._raw_body - body_before)
            if not self._finished and self._framing > _MAX_HEAD_BYTES + self._allowance:
                what = "trailer" if self._head_done else "head"
                self._fail("protocol", f"response {what} longer than 64 KiB")
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self._finished:
                cause = exc.__context__ if isinstance(exc.__context__, FetchError) else None
                if cause is not None:
                    self._fail(cause.reason, str(cause))
                else:
                    self._fail("protocol", f"{type(exc).__name__}: {exc}")
            else:  # bytes after the end of the response
                self._close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._parser is not None and not self._finished:
            if self._head_done and self._until_eof:
                self._finish(reusable=False)  # a body delimited by the connection's end
            else:
                self._fail("protocol", f"server disconnected{f': {exc}' if exc else ''}")

    # -- one exchange ----------------------------------------------------------------------

    def start(self, request: Request, head: bytes, deadline: float) -> asyncio.Future[None]:
        """Send ``head`` and parse the response into this object's fields."""
        assert self.transport is not None
        self.request = request
        self.reusable = False
        self._parser = httptools.HttpResponseParser(self)
        self._done = self.loop.create_future()
        self._finished = False
        self._head_done = False
        self._framing = 0  # bytes received that are not body
        self._raw_body = 0  # body bytes as received (before decoding)
        self._allowance = 0  # framing bytes allowed for the chunks seen so far
        self._interim = 0  # 1xx answers skipped
        self._skip_complete = False  # the next on_message_complete ends a 1xx answer
        self._until_eof = False
        self._header_list: list[tuple[str, str]] = []
        self.status = 0
        self.headers: CIMultiDictProxy[str] = _NO_HEADERS
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self._keep = True  # the body is wanted (else read and dropped)
        self._decoder: Decoder | None = None
        self._deadline = deadline
        self._last_read = self.loop.time()
        self.sent_at = time.monotonic()
        if self.closed:  # closed by the server between connecting and now
            self._fail("protocol", "server disconnected")
            return self._done
        self.send(head)
        self._arm()
        return self._done

    def send(self, head: bytes) -> None:
        """Write the request (its own method, so a profile tells the syscall apart)."""
        assert self.transport is not None
        self.transport.write(head)

    def _arm(self) -> None:
        at = min(self._deadline, self._last_read + self.read_timeout)
        self._timer = self.loop.call_at(at, self._check_time)

    def _check_time(self) -> None:
        self._timer = None
        if self._finished:
            return
        now = self.loop.time()
        if now >= self._deadline or now >= self._last_read + self.read_timeout:
            self._fail("timeout", "timed out")
        else:
            self._arm()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._finished:
            # A second answer in the same read, after ours ended: llhttp would parse it into
            # this exchange's status and headers. Stop the parser; the connection is closed.
            raise _Unasked("bytes after the end of the response")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._finished or self._head_done:  # trailers are counted, not kept
            return
        if len(self._header_list) >= _MAX_HEADERS:
            raise FetchError("protocol", f"more than {_MAX_HEADERS} header lines")
        self._header_list.append((name.decode("latin-1"), value.decode("utf-8", "replace").strip()))

    def on_headers_complete(self) -> None:
        if self._finished:
            return
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # An interim answer (103 Early Hints from CDNs): dropped, the final one follows
            # on the same connection, as aiohttp does. A bounded number of them.
            self._interim += 1
            if self._interim > _MAX_INTERIM:
                raise FetchError("protocol", f"more than {_MAX_INTERIM} interim 1xx answers")
            self._header_list = []
            self._skip_complete = True
            return
        self._head_done = True
        self.status = status
        headers = self.headers = CIMultiDictProxy(CIMultiDict(self._header_list))
        request = self.request
        if request.method == "HEAD" or status in (204, 304) or status == 101:
            # No body follows (RFC 9112 §6.3); a 101 switched protocols: nothing to reuse.
            self._finish(reusable=status != 101)
            return
        encoding = headers.get("Content-Encoding", "identity").strip().lower()
        length = content_length(headers) if encoding == "identity" else None
        chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self._until_eof = "Content-Length" not in headers and not chunked
        want = request.want_body
        if want is not None and not want(status, headers):
            if length is not None and length <= _DRAIN_LIMIT:
                self._keep = False  # small: read it and drop it, to keep the connection
                return
            self._finish(reusable=False)
            return
        if encoding in ("gzip", "x-gzip", "deflate") or (encoding == "br" and brotli):
            self._decoder = Decoder(encoding)

    def on_chunk_header(self) -> None:
        self._allowance += _CHUNK_FRAMING

    def on_body(self, data: bytes) -> None:
        self._raw_body += len(data)
        if self._finished or not self._keep:
            return
        limit = self.request.max_bytes - self.size
        if self._decoder is not None:
            try:
                data = self._decoder.decode(data, limit)
            except DECODE_ERRORS as exc:
                raise FetchError("protocol", f"cannot decode the body: {exc}") from None
        if len(data) > limit:
            self.chunks.append(data[:limit])
            self.size += limit
            self.truncated = True
            self._finish(reusable=False)
            return
        self.chunks.append(data)
        self.size += len(data)

    def on_message_complete(self) -> None:
        if self._skip_complete:  # the end of a 1xx answer: keep reading for the final one
            self._skip_complete = False
            return
        if self._finished:
            return
        parser = self._parser
        assert parser is not None
        self._finish(reusable=parser.should_keep_alive())

    # -- ending ----------------------------------------------------------------------------

    def _finish(self, *, reusable: bool) -> None:
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.reusable = reusable and not self.closed
        if not self.reusable:
            self._close()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _fail(self, reason: str, message: str) -> None:
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.reusable = False
        self._close()
        if self._done is not None and not self._done.done():
            self._done.set_exception(FetchError(reason, message))

    def _close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once (the request was cancelled)."""
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.reusable = False
        if self.transport is not None:
            self.closed = True
            self.transport.abort()


class _Unasked(Exception):
    """Raised in a parser callback to stop llhttp at bytes nobody asked for."""


_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


class HttpClient:
    """The crawl's HTTP client (see the module doc). Use as ``async with HttpClient(...)``.

    The same constructor and ``send`` as :class:`~.fetch.Fetcher`; ``resolver`` is the
    :class:`~.fetch.SafeResolver` every connection asks for its addresses.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        resolver: Any,
        concurrency: int = 100,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        keepalive: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.resolver = resolver
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.keepalive = keepalive
        self._ssl = ssl_context
        if any(c in user_agent for c in "\r\n"):
            raise ValueError("a user agent cannot hold a line break")
        self._fixed = (
            f"User-Agent: {user_agent}\r\nAccept: {_ACCEPT}\r\nAccept-Encoding: {_ENCODINGS}\r\n"
        )
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_count = 0
        self._busy: set[_Connection] = set()
        self._closed = False

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection, idle or in use; a send still connecting gets none."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn._close()
        self._idle.clear()
        self._idle_count = 0
        for conn in list(self._busy):
            conn.abort()
        self._busy.clear()

    async def send(self, request: Request) -> Response:
        """Send ``request`` without following redirects; the body is read up to its
        ``max_bytes``. When ``want_body`` declines the body, the connection is dropped
        rather than drained, unless the body is small."""
        url = request.url
        try:
            scheme, host, port, authority, target = split_url(url)
        except ValueError as exc:
            raise FetchError("invalid-url", f"{url}: invalid URL ({exc})") from None
        head = self._head(request, authority, target)
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        deadline = loop.time() + self.connect_timeout + self.read_timeout
        key = (scheme, host, port)
        conn = self._take(key, loop.time())
        if conn is None:
            conn = await self._connect(url, scheme, host, port, loop, deadline)
        self._check_open(url, conn)
        self._busy.add(conn)
        done = conn.start(request, head, deadline)
        try:
            await done
        except FetchError as exc:
            # No second try when a kept-alive connection was closed unanswered, as the aiohttp
            # fetcher turns off: the engine's own retries keep the host's delay.
            raise FetchError(
                exc.reason, f"{url}: {exc}", sent_ago=time.monotonic() - conn.sent_at
            ) from None
        except BaseException:
            conn.abort()
            raise
        finally:
            self._busy.discard(conn)
        chunks = conn.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if conn.reusable:
            if self._closed:  # closed while this answer was read: nowhere to give it back
                conn._close()
            else:
                self._give_back(key, conn, loop.time())
        end = time.monotonic()
        return Response(
            url, conn.status, conn.headers, body, end - start, conn.truncated, end - conn.sent_at
        )

    def _check_open(self, url: str, conn: _Connection) -> None:
        """Refuse to go on once :meth:`close` ran (it may have run while we connected)."""
        if self._closed:
            conn.abort()
            raise FetchError("protocol", f"{url}: the client is closed")

    def _head(self, request: Request, authority: str, target: str) -> bytes:
        extra = ""
        if request.headers:
            for name, value in request.headers.items():
                if any(c in name or c in value for c in "\r\n\0"):
                    raise FetchError(
                        "protocol", f"{request.url}: a header cannot hold a line break"
                    )
                extra += f"{name}: {value}\r\n"
        text = (
            f"{request.method} {target} HTTP/1.1\r\nHost: {authority}\r\n{self._fixed}{extra}\r\n"
        )
        return text.encode("utf-8")

    def _take(self, key: tuple[str, str, int], now: float) -> _Connection | None:
        conns = self._idle.get(key)
        while conns:
            conn = conns.pop()
            self._idle_count -= 1
            if not conns:
                del self._idle[key]
            if not conn.closed and now - conn.idle_since < self.keepalive:
                return conn
            conn._close()
        return None

    def _give_back(self, key: tuple[str, str, int], conn: _Connection, now: float) -> None:
        conn.idle_since = now
        conn._parser = None
        conn.chunks = []
        self._idle.setdefault(key, []).append(conn)
        self._idle_count += 1
        if self._idle_count > _IDLE_MAX:  # the first key is the origin given back longest ago
            oldest = next(iter(self._idle))
            self._take(oldest, float("inf"))

    async def _connect(
        self,
        url: str,
        scheme: str,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
    ) -> _Connection:
        try:
            # The lookup counts against the whole try, as under aiohttp's total timeout.
            async with asyncio.timeout_at(deadline):
                addresses = await self.resolver.lookup(host)
        except TimeoutError:
            raise FetchError("timeout", f"{url}: timed out resolving {host}") from None
        except FetchError as exc:
            # aiohttp sees a refused lookup as a connector error: ``connect`` (``dns`` and
            # ``not-pinned`` included), unless the address is blocked.
            reason = "blocked-address" if exc.reason == "blocked-address" else "connect"
            raise FetchError(reason, f"{url}: {exc}") from None
        if self._closed:  # closed while we resolved: open nothing it could not close
            raise FetchError("protocol", f"{url}: the client is closed")
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        error: BaseException | None = None
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, conn = await loop.create_connection(
                        lambda: _Connection(loop, self.read_timeout),
                        address,
                        port,
                        family=family,
                        ssl=context,
                        server_hostname=host.strip("[]") if context is not None else None,
                    )
                return conn
            except TimeoutError:
                raise FetchError("timeout", f"{url}: timed out connecting") from None
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                error = exc
        raise FetchError("connect", f"{url}: cannot connect to {host}:{port}: {error}")
