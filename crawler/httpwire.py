"""The bytes of HTTP/1.1 that :mod:`.client` reads and writes, apart from the connection.

Undoing ``Content-Encoding`` under a size cap, the ``Content-Length`` a head declares and
the parts of a serialized URL a request line needs.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

__all__ = ["DECODE_ERRORS", "Decoder", "brotli", "content_length", "split_url"]

try:  # aiohttp decodes br only with a brotli module too; the same rule here
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency
    brotli = None


class Decoder:
    """Content-Encoding undone chunk by chunk, never producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw = False
        if encoding == "br":
            self._obj: Any = brotli.Decompressor()
        elif encoding in ("gzip", "x-gzip"):
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:  # deflate: zlib-wrapped per RFC 9110, raw from some servers (as aiohttp)
            self._obj = zlib.decompressobj(zlib.MAX_WBITS)
        self._first = encoding == "deflate"

    def decode(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` + 1 decoded bytes of ``data`` (one more says the cap is passed)."""
        if self.encoding == "br":
            # Without the limit one small input can inflate to gigabytes in one call.
            return bytes(self._obj.process(data, output_buffer_limit=limit + 1))[: limit + 1]
        if self._first:
            self._first = False
            try:
                return self._obj.decompress(data, limit + 1)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data, limit + 1)


DECODE_ERRORS = (zlib.error, brotli.error) if brotli is not None else (zlib.error,)


def content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def split_url(url: str) -> tuple[str, str, int, str, str]:
    """``(scheme, host, port, Host header, request target)`` of a serialized http(s) URL."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError("not an http(s) URL")
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if 0 <= at < end:
            end = at
    authority, tail = rest[:end], rest[end:].partition("#")[0]
    target = tail if tail.startswith("/") else "/" + tail
    authority = authority.rpartition("@")[2]  # credentials are never sent
    if authority.startswith("["):  # an IPv6 literal, kept in brackets as host_of gives it
        inner, _, port_text = authority[1:].partition("]")
        host, port_text = f"[{inner}]", port_text[1:] if port_text.startswith(":") else ""
    else:
        host, _, port_text = authority.partition(":")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    if host in ("", "[]") or not 0 < port < 65_536:
        raise ValueError("no host")
    for text in (authority, target):
        if not (text.isascii() and text.isprintable()) or " " in text:
            raise ValueError("characters a request line cannot carry")
    return scheme, host.lower(), port, authority, target
