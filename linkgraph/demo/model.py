"""The demo web's data model: sites, pages, canned responses and the links they carry.

A site is data: :class:`DemoSite` holds :class:`DemoPage` objects, each a list of canned
:class:`Response` objects plus the ground truth of the links its HTML carries
(:class:`ExpectedLink`, the same fields as ``storage.records.Link``). The port is only known
once the demo web is bound, so absolute URLs are written with :data:`PORT_TOKEN`
(:func:`site_url`); the running demo web serves copies with the real port (:func:`fill_port`).
:class:`LinkWriter` writes a page's links and their ground
truth in one go, and :class:`MarkupSite` whole pages from a tiny link markup, for the
generators (:mod:`linkgraph.demo.sites`, :mod:`linkgraph.demo.audit`).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from typing import Any

import brotli

__all__ = [
    "GENERATION_DATES",
    "PORT_TOKEN",
    "DemoPage",
    "DemoSite",
    "ExpectedLink",
    "LinkWriter",
    "MarkupSite",
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


@dataclass(frozen=True, slots=True)
class ExpectedLink:
    """Ground truth for one link a page carries; the fields of ``storage.records.Link``.

    ``kind`` is ``link`` (an ``<a href>``; an image link's anchor is its ``alt``),
    ``canonical`` (``<link rel=canonical>``) or ``redirect`` (a 3xx ``Location``).
    """

    target: str
    anchor: str = ""
    rel: tuple[str, ...] = ()
    placement: str = "content"
    image: bool = False
    kind: str = "link"


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
        links.append(replace(link, target=origin + target if target.startswith("/") else target))
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


class LinkWriter:
    """Writes a page's links and their ground truth together, so the two cannot disagree."""

    def __init__(self, host: str, path: str, base: str | None = None) -> None:
        self.base = base or f"http://{host}:{PORT_TOKEN}{path}"
        self.links: list[ExpectedLink] = []

    def _absolute(self, href: str) -> str:
        if "://" in href:
            return href
        if href.startswith("/"):
            return self.base[: self.base.index("/", 8)] + href
        return self.base[: self.base.rfind("/") + 1] + href

    def a(self, href: str, text: str, placement: str, rel: tuple[str, ...] = ()) -> str:
        self.links.append(ExpectedLink(self._absolute(href), text, rel, placement))
        attr = f' rel="{" ".join(rel)}"' if rel else ""
        return f'<a href="{escape(href)}"{attr}>{escape(text)}</a>'

    def img(self, href: str, alt: str, placement: str, src: str = "/img/photo.png") -> str:
        self.links.append(ExpectedLink(self._absolute(href), alt, (), placement, True))
        return f'<a href="{escape(href)}"><img src="{src}" alt="{escape(alt)}"></a>'

    def canonical(self, href: str) -> str:
        self.links.append(ExpectedLink(self._absolute(href), kind="canonical"))
        return f'<link rel="canonical" href="{escape(href)}">\n'


# "[anchor](href)" is a link, with its rel after the href in quotes: [a](href "nofollow");
# "[!alt](href)" is an image link and "[](href)" a link with an empty anchor.
_MARKUP_LINK = re.compile(r'\[(!?)([^\]]*)\]\(([^)\s"]+)(?: "([^"]*)")?\)')
Block = str | list[str]  # a paragraph, or a list of items


@dataclass
class MarkupSite:
    """Writes the pages of one host from paragraphs in a tiny link markup.

    Every page has a header (a link home), a nav, an article of ``blocks``, optional
    comments, and a footer showing ``footer`` on every page. In markup, ``[anchor](href)``
    is a link (``[anchor](href "rel tokens")`` with a rel), ``[!alt](href)`` an image link
    and ``[](href)`` a link with an empty anchor. An href ``key:/path`` whose key is in
    ``aliases`` is ``site_url(aliases[key], path)``; any other href is written as given.

    >>> s = MarkupSite("www.a.test", "A", nav=[("/", "Home")], aliases={"b": "www.b.test"})
    >>> page = s.page("/x", "X", ["See [B](b:/) or [more](/y)."])
    >>> [(link.target, link.anchor) for link in page.links][-2:]
    [('http://www.b.test:@PORT@/', 'B'), ('http://www.a.test:@PORT@/y', 'more')]
    """

    name: str
    title: str
    nav: list[tuple[str, str]]
    footer: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    pages: list[DemoPage] = field(default_factory=list)

    def href(self, href: str) -> str:
        key, sep, path = href.partition(":")
        return site_url(self.aliases[key], path) if sep and key in self.aliases else href

    def markup(self, d: LinkWriter, text: str, placement: str) -> str:
        """``text`` as HTML, its links written through ``d`` at ``placement``."""
        out, at = [], 0
        for m in _MARKUP_LINK.finditer(text):
            image, label, href, rel = m.groups()
            out.append(escape(text[at : m.start()]))
            if image:
                out.append(d.img(self.href(href), label, placement, "/img/photo.png"))
            else:
                out.append(d.a(self.href(href), label, placement, tuple((rel or "").split())))
            at = m.end()
        out.append(escape(text[at:]))
        return "".join(out)

    def page(
        self,
        path: str,
        title: str,
        blocks: Iterable[Block],
        *,
        comments: Iterable[tuple[str, str]] = (),
        head: str = "",
        canonical: str | None = None,
        note: str = "",
        validators: bool = True,
    ) -> DemoPage:
        """Add (and return) an HTML page; ``comments`` are ``(author, markup)`` pairs."""
        d, mark = LinkWriter(self.name, path), self.markup
        out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n']
        out.append(f"<title>{escape(title)} | {escape(self.title)}</title>\n")
        out.append(d.canonical(canonical) if canonical else "")
        out.append(f'{head}</head>\n<body>\n<header class="site-header">')
        out.append(f"{d.a('/', self.title, 'header')}</header>\n<nav>\n<ul>\n")
        out += [f"<li>{d.a(href, label, 'nav')}</li>\n" for href, label in self.nav]
        out.append(f"</ul>\n</nav>\n<main>\n<article>\n<h1>{escape(title)}</h1>\n")
        for block in blocks:
            if isinstance(block, str):
                out.append(f"<p>{mark(d, block, 'content')}</p>\n")
            else:
                items = "".join(f"<li>{mark(d, item, 'content')}</li>\n" for item in block)
                out.append(f"<ul>\n{items}</ul>\n")
        out.append("</article>\n")
        said = [
            f"<p>{escape(who)} wrote: {mark(d, text, 'comments')}</p>" for who, text in comments
        ]
        if said:
            out.append('<section id="comments">\n<h2>Replies</h2>\n')
            out += [f'<div class="comment">{p}</div>\n' for p in said]
            out.append("</section>\n")
        out.append(f"</main>\n<footer>\n<p>&copy; 2024 {escape(self.title)}.</p>\n<ul>\n")
        out += [f"<li>{mark(d, item, 'footer')}</li>\n" for item in self.footer]
        out.append("</ul>\n</footer>\n</body>\n</html>\n")
        return self.add(
            DemoPage.html(path, "".join(out), d.links, note=note, validators=validators)
        )

    def add(self, page: DemoPage) -> DemoPage:
        """Add a page written some other way (a status page, a redirect)."""
        self.pages.append(page)
        return page

    def site(self, robots: str | None = "User-agent: *\nDisallow:\n", **kw: Any) -> DemoSite:
        """The :class:`DemoSite` of the pages so far (``kw``: its other fields)."""
        robots_page = DemoPage.robots(robots) if robots is not None else None
        return DemoSite(self.name, self.pages, robots_page, **kw)
