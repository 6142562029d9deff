"""Reading WARC files leniently: records as :class:`Capture` values, damage as :class:`Damage`.

The reader is FastWARC (``pip install 'linkgraph[warc]'``), chosen over warcio by
measurement (README, "Importing web archives"): 4-5 times the records per second on
gzipped archives and 10-20 times on plain ones, wheels for CPython 3.11-3.13, and it reads
on past a wrong ``Content-Length`` (it finds the next ``WARC/`` line) where warcio stops
the whole file.

FastWARC hands us each record's block undecoded. The HTTP head is parsed here, leniently
(LF-only lines, missing reason phrases), and the payload's ``Transfer-Encoding: chunked``
and ``Content-Encoding`` (gzip, deflate, br) are undone here, up to :data:`MAX_BODY`
bytes, the crawler's own page size cap.

Damage never stops a file: a block shorter than its ``Content-Length`` (a cut-off file)
is reported and skipped; a gzip member that does not inflate is reported and reading goes
on at the next gzip member header after it (each record of a ``.warc.gz`` is its own
member, so only the damaged records are lost).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from linkgraph.crawler.settings import CrawlSettings

from .errors import LinkgraphError

__all__ = [
    "MAX_BODY",
    "Capture",
    "Damage",
    "HttpHead",
    "NotAnArchive",
    "ReaderMissing",
    "read_archive",
    "require_reader",
    "warc_date",
]

MAX_BODY = CrawlSettings().max_page_bytes
_GZIP_MAGIC = b"\x1f\x8b\x08"
_STATUS = re.compile(rb"HTTP/\d(?:\.\d)?[ \t]+(\d{3})")
# How far past damage we look for the next gzip member, and how often we try again.
_RESYNC_WINDOW = 64 << 20
# The most of a record's block held in memory: an HTTP head and a capped payload. The
# rest of a longer block (a video, say) is read through in pieces and dropped.
_HEAD_ROOM = 1 << 20
MAX_BLOCK = _HEAD_ROOM + MAX_BODY
_SKIP_PIECE = 1 << 20
_MAX_RESYNCS = 1000


class ReaderMissing(LinkgraphError, ImportError):
    """FastWARC is not installed."""


class NotAnArchive(LinkgraphError, ValueError):
    """The file does not begin with a WARC record."""


@dataclass(slots=True)
class HttpHead:
    """The status and headers of an HTTP message (names lower-cased, repeats kept)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass(slots=True)
class Capture:
    """One WARC record: its type and WARC headers, and for HTTP records the parsed head
    and the decoded payload."""

    offset: int  # where the record starts in the file (for gzip: its member)
    type: str  # warcinfo, response, revisit, request, metadata, resource, ...
    record_id: str
    url: str | None
    date: float | None  # WARC-Date, seconds since the epoch
    ip: str | None
    refers_to_url: str | None
    content_type: str | None  # of the record block (application/http, application/json...)
    http: HttpHead | None = None
    body: bytes = b""  # the HTTP payload decoded, or the whole block of a non-HTTP record
    size: int = 0  # payload bytes as captured (before decoding)


@dataclass(slots=True)
class Damage:
    """A record (or a stretch of a file) that could not be read."""

    offset: int
    reason: str


def require_reader() -> None:
    """Raise :class:`ReaderMissing` unless FastWARC can be imported."""
    try:
        import fastwarc.warc  # noqa: F401
    except ImportError:
        raise ReaderMissing("pip install 'linkgraph[warc]'") from None


def warc_date(text: str | None) -> float | None:
    """``WARC-Date`` (ISO 8601, UTC; fractional seconds allowed by WARC 1.1) as epoch seconds."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return None
    return stamp.timestamp()


def parse_http_head(block: bytes) -> tuple[HttpHead, bytes] | None:
    """Split an HTTP response block into its head and payload (``None``: no status line)."""
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, payload = block[:crlf], block[crlf + 4 :]
    elif lf >= 0:
        head, payload = block[:lf], block[lf + 2 :]
    else:
        head, payload = block, b""
    lines = head.decode("latin-1").splitlines()
    match = _STATUS.match(head)
    if not lines or match is None:
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers.append((name.strip().lower(), value.strip()))
    return HttpHead(int(match.group(1)), headers), payload


def dechunk(payload: bytes) -> bytes:
    """Undo ``Transfer-Encoding: chunked``; payload that does not parse as chunks is kept
    as it is (some archivers store it decoded but leave the header)."""
    out = []
    total = 0  # a running total: summing ``out`` per chunk made many small chunks quadratic
    at = 0
    while True:
        end = payload.find(b"\n", at)
        if end < 0:
            break
        size_text = payload[at:end].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return payload if not out else b"".join(out)
        if size == 0:
            break
        chunk = payload[end + 1 : end + 1 + size]
        out.append(chunk)
        total += len(chunk)
        at = end + 1 + size
        # Each chunk ends with CRLF (or LF from a careless writer).
        if payload.startswith(b"\r\n", at):
            at += 2
        elif payload.startswith(b"\n", at):
            at += 1
        if total > MAX_BODY:
            break
    return b"".join(out)[:MAX_BODY] if out else payload


def decode_content(payload: bytes, coding: str | None) -> bytes | None:
    """Undo ``Content-Encoding`` (gzip, deflate, br), at most :data:`MAX_BODY` bytes out;
    ``None`` when the payload does not decode."""
    coding = (coding or "").strip().lower()
    if coding in ("", "identity"):
        return payload[:MAX_BODY]
    try:
        if coding in ("gzip", "x-gzip", "deflate"):
            # 32+15: gzip or zlib header, detected; deflate servers often send raw deflate.
            wbits = 47 if coding != "deflate" or payload[:1] == b"\x78" else -15
            return zlib.decompressobj(wbits).decompress(payload, MAX_BODY)
        if coding == "br":
            import brotli

            # Bounded output: a kilobyte of brotli can inflate to gigabytes.
            return brotli.Decompressor().process(payload, output_buffer_limit=MAX_BODY)[:MAX_BODY]
    except (zlib.error, Exception):  # brotli.error derives from Exception only
        return None
    return None  # a coding we do not know (compress, zstd...)


def _record(raw: object, offset: int) -> Capture | Damage:
    headers = raw.headers  # type: ignore[attr-defined]
    kind = (headers.get("WARC-Type") or "").strip().lower()
    declared = raw.content_length  # type: ignore[attr-defined]
    reader = raw.reader  # type: ignore[attr-defined]
    block = reader.read(MAX_BLOCK)
    # Read past the kept part piece by piece, only counting, to tell a cut-off file.
    length = len(block)
    while length < declared and (piece := reader.read(_SKIP_PIECE)):
        length += len(piece)
    if headers.get("Content-Length") is None:  # WARC requires it: a header cut off
        return Damage(offset, f"{kind or 'record'} header without Content-Length (cut off?)")
    if length < declared:
        return Damage(offset, f"{kind or 'record'} cut off: {length:,} of {declared:,} bytes")
    capture = Capture(
        offset=offset,
        type=kind,
        record_id=(headers.get("WARC-Record-ID") or "").strip(),
        url=(headers.get("WARC-Target-URI") or "").strip().strip("<>") or None,
        date=warc_date(headers.get("WARC-Date")),
        ip=(headers.get("WARC-IP-Address") or "").strip() or None,
        refers_to_url=(headers.get("WARC-Refers-To-Target-URI") or "").strip() or None,
        content_type=headers.get("Content-Type"),
    )
    if kind in ("response", "revisit") and "application/http" in (capture.content_type or ""):
        parsed = parse_http_head(block)
        if parsed is None:
            if kind == "revisit":  # a revisit may carry no HTTP head at all
                return capture
            return Damage(offset, f"{kind} without an HTTP status line")
        capture.http, payload = parsed
        capture.size = len(payload) + length - len(block)
        if "chunked" in (capture.http.get("transfer-encoding") or "").lower():
            payload = dechunk(payload)
        decoded = decode_content(payload, capture.http.get("content-encoding"))
        if decoded is None:
            coding = capture.http.get("content-encoding")
            return Damage(offset, f"{kind} body does not decode as Content-Encoding {coding!r}")
        capture.body = decoded
    else:
        capture.body = block
        capture.size = length
    return capture


def _next_member(stream: BinaryIO, after: int) -> int | None:
    """The offset of the next gzip member header after ``after``, or ``None``."""
    stream.seek(after)
    window = stream.read(_RESYNC_WINDOW)
    found = window.find(_GZIP_MAGIC, 1)
    return None if found < 0 else after + found


def read_archive(
    stream: BinaryIO, *, start: int = 0, compressed: bool | None = None
) -> Iterator[Capture | Damage]:
    """Every record of a WARC (plain or gzip, sniffed), from offset ``start`` (a record's
    start, as a :class:`Capture` gives it), in file order; damage as :class:`Damage`.

    Raises :class:`ReaderMissing` without FastWARC and :class:`NotAnArchive` when the file does
    not begin with a WARC record (not a WARC at all).
    """
    require_reader()
    from fastwarc.warc import ArchiveIterator

    if compressed is None:
        stream.seek(0)
        compressed = stream.read(3) == _GZIP_MAGIC
    at, resyncs, seen_any = start, 0, start > 0
    while True:
        stream.seek(at)
        last = at
        try:
            for raw in ArchiveIterator(stream, parse_http=False, min_content_length=None):
                last = raw.stream_pos
                seen_any = True
                yield _record(raw, last)
            return
        except OSError as exc:  # FastWARC's one error type: bad header, bad gzip data
            if not seen_any:
                raise NotAnArchive(f"not a WARC file ({exc})") from None
            reason = str(exc) or type(exc).__name__
        if not compressed or resyncs >= _MAX_RESYNCS:
            yield Damage(last, f"unreadable from here on: {reason}")
            return
        resyncs += 1
        found = _next_member(stream, last)
        if found is None:
            yield Damage(last, f"unreadable from here on: {reason}")
            return
        yield Damage(last, f"{reason}; reading on at offset {found:,}")
        at = found
