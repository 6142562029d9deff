"""The demo web's data model: sites, pages, canned responses and the links they carry.

A site is data: :class:`DemoSite` holds :class:`DemoPage` objects, each a list of canned
:class:`Response` objects plus the ground truth of the links its HTML carries
(:class:`ExpectedLink`, which is ``storage.records.Link``). The port is only known
once the demo web is bound, so absolute URLs are written with :data:`PORT_TOKEN`
(:func:`site_url`); the running demo web serves copies with the real port (:func:`fill_port`).
Pages are written with their ground truth by :mod:`linkgraph.demo.markup`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import brotli

from linkgraph.storage.records import Link

__all__ = [
    "GENERATION_DATES",
    "PORT_TOKEN",
    "DemoPage",
    "DemoSite",
    "ExpectedLink",
    "Response",
    "compress",
    "decompress",
    "expected_edges",
    "fill_port",
    "header_value",
    "host_of_url",
    "site_url",
]

PORT_TOKEN = "@PORT@"
"""Stands for the port in URLs written before the demo web is bound."""

GENERATION_DATES = {
    1: datetime(2024, 6, 3, 8, 0, tzinfo=UTC),
    2: datetime(2024, 9, 2, 8, 0, tzinfo=UTC),  # "three months later"
}
"""The ``Last-Modified`` of a page written in each generation of the web (see ``generate``)."""

_HTML = "text/html; charset=utf-8"
_CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (lambda b: gzip.compress(b, mtime=0), gzip.decompress),  # mtime 0: same bytes
    "deflate": (zlib.compress, zlib.decompress),  # HTTP "deflate" is the zlib format
    "br": (brotli.compress, brotli.decompress),
    "identity": (bytes, bytes),
}


def site_url(host: str, path: str = "/") -> str:
    """An absolute URL on a demo host, with :data:`PORT_TOKEN` for the port."""
    return f"http://{host}:{PORT_TOKEN}{path}"


def compress(body: bytes, encoding: str) -> bytes:
    """Encode ``body`` for ``Content-Encoding`` ``gzip``, ``deflate``, ``br`` or ``identity``."""
    if encoding not in _CODECS:
        raise ValueError(f"unknown content encoding {encoding!r}")
    return _CODECS[encoding][0](body)


def decompress(body: bytes, encoding: str) -> bytes:
    """The inverse of :func:`compress`."""
    if encoding not in _CODECS:
        raise ValueError(f"unknown content encoding {encoding!r}")
    return _CODECS[encoding][1](body)


def header_value(headers: dict[str, str], name: str) -> str | None:
    """A header's value, looked up case-insensitively."""
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


# The ground truth of a link has exactly the fields of the record a crawl stores for it,
# so it is that record, and the two cannot drift apart. ``kind`` is ``link`` (an ``<a
# href>``; an image link's anchor is its ``alt``), ``canonical`` (``<link rel=canonical>``)
# or ``redirect`` (a 3xx ``Location``).
ExpectedLink = Link


@dataclass(slots=True)
class Response:
    """One canned answer; ``delay`` is slept server-side before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def encoded(cls, body: bytes, encoding: str, status: int = 200, **headers: str) -> Response:
        """A response with a pre-compressed body and its ``Content-Encoding``."""
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        return cls(status, compress(body, encoding), {**headers, "Content-Encoding": encoding})


@dataclass(slots=True)
class DemoPage:
    """A path (path + query, as requested) and its successive responses; the last repeats.

    The server gives every 2xx answer validators, a strong ``ETag`` (a hash of the served
    body) and ``Last-Modified: last_modified``, and answers conditional requests with 304;
    ``validators=False`` serves the page without them. ``allow``: the methods the page
    answers; any other gets 405 (empty: every method).
    """

    path: str
    responses: list[Response]
    links: list[ExpectedLink] = field(default_factory=list)
    note: str = ""  # the trap this page exercises; "" for an ordinary page
    validators: bool = True
    last_modified: datetime = GENERATION_DATES[1]
    allow: tuple[str, ...] = ()

    @classmethod
    def html(
        cls,
        path: str,
        document: str,
        links: Iterable[ExpectedLink] = (),
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        encoding: str | None = None,
        note: str = "",
        validators: bool = True,
    ) -> DemoPage:
        """An HTML page, encoded in the charset of its Content-Type (default utf-8)."""
        headers = dict(headers or {})
        ctype = header_value(headers, "Content-Type")
        if ctype is None:
            headers["Content-Type"] = ctype = _HTML
        charset = "utf-8"
        if "charset=" in ctype.lower():
            charset = ctype.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'")
        body = document.encode(charset)
        if encoding:
            body = compress(body, encoding)
            headers["Content-Encoding"] = encoding
        response = Response(status, body, headers, delay)
        return cls(path, [response], list(links), note, validators)

    @classmethod
    def redirect(cls, path: str, location: str, status: int = 301, *, note: str = "") -> DemoPage:
        """A redirect; its expected link (kind ``redirect``) is ``location``."""
        link = ExpectedLink(location, kind="redirect")
        return cls(path, [Response(status, b"", {"Location": location})], [link], note)

    @classmethod
    def status(
        cls, path: str, code: int, headers: dict[str, str] | None = None, *, note: str = ""
    ) -> DemoPage:
        """A small HTML page answering ``code``."""
        body = f"<!DOCTYPE html><title>{code}</title><h1>Status {code}</h1>\n".encode()
        response = Response(code, body, {"Content-Type": _HTML, **(headers or {})})
        return cls(path, [response], note=note)

    @classmethod
    def file(cls, path: str, body: bytes, content_type: str, *, note: str = "") -> DemoPage:
        """A non-HTML file."""
        return cls(path, [Response(200, body, {"Content-Type": content_type})], note=note)

    @classmethod
    def robots(cls, text: str, status: int = 200, *, note: str = "") -> DemoPage:
        """A robots.txt answer (served at ``/robots.txt``)."""
        response = Response(status, text.encode(), {"Content-Type": "text/plain"})
        return cls("/robots.txt", [response], note=note)


@dataclass(slots=True)
class DemoSite:
    """One host. Unknown paths get ``fallback(path)`` when set and it returns a page, else 404.

    ``pages`` may be given as a list. ``listening=False``: in the hosts file, but connections
    are refused. ``seed``: its home page is one of the demo web's seeds.
    """

    name: str
    pages: dict[str, DemoPage] = field(default_factory=dict)
    robots: DemoPage | None = None
    address: str = ""
    listening: bool = True
    seed: bool = True
    fallback: Callable[[str], DemoPage | None] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.pages, dict):
            self.pages = {page.path: page for page in self.pages}


def _fill(text: str, port: str) -> str:
    return text.replace(PORT_TOKEN, port) if PORT_TOKEN in text else text


def _fill_response(response: Response, port: str) -> Response:
    headers = {k: _fill(v, port) for k, v in response.headers.items()}
    encoding = (header_value(headers, "Content-Encoding") or "identity").strip().lower()
    try:
        plain = decompress(response.body, encoding)
    except (ValueError, OSError, zlib.error, brotli.error):
        return replace(response, headers=headers)  # not ours to decode: serve as given
    token = PORT_TOKEN.encode()
    if token not in plain:
        return replace(response, headers=headers)
    return replace(
        response, headers=headers, body=compress(plain.replace(token, port.encode()), encoding)
    )


def fill_port(page: DemoPage, origin: str, port: str) -> DemoPage:
    """A copy of ``page`` with the port in bodies, headers and link targets.

    Link targets starting with ``/`` are made absolute on ``origin``.
    """
    links = []
    for link in page.links:
        target = _fill(link.target, port)
        links.append(link._replace(target=origin + target if target.startswith("/") else target))
    responses = [_fill_response(r, port) for r in page.responses]
    return replace(page, responses=responses, links=links)


def expected_edges(
    sites: Iterable[DemoSite], port: int | None = None
) -> list[tuple[str, ExpectedLink]]:
    """Every ``(source URL, expected link)``, in site, page and document order.

    With ``port``, :data:`PORT_TOKEN` is filled in (``DemoWeb.expected_edges()`` does it).
    """
    filler = PORT_TOKEN if port is None else str(port)
    edges = []
    for site in sites:
        if site.listening:
            origin = f"http://{site.name}:{filler}"
            for path, page in site.pages.items():
                edges += [(origin + path, ln) for ln in fill_port(page, origin, filler).links]
    return edges


def host_of_url(url: str) -> str:
    """The host name of a demo URL (no port)."""
    return url.split("/")[2].rsplit(":", 1)[0]
