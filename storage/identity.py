"""URL identity: when two spellings are one URL, its host, its registrable domain, its key.

The store keys every URL, host and domain by these functions, and the crawler files every
link it finds by them, so both sides import them from here (``storage`` imports nothing
from the crawler; the crawler's own URL logic, resolution and scope, is in
``crawler/urls.py``).

The serialization is the WHATWG URL Standard's (via ada-url) with the fragment and any
credentials dropped and nothing else rewritten: no query sorting, no trailing-slash games,
no lowercasing of paths. Those rewrites change what a server sees, and a link graph must
record what pages actually link to.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from functools import lru_cache
from typing import Any

import ada_url

__all__ = [
    "authority_of",
    "host_of",
    "hosts_of",
    "is_ip_literal",
    "normalize",
    "registrable_domain",
    "url_hash",
    "web_url",
]

_WEB_SCHEMES = ("http:", "https:")


@lru_cache(maxsize=1)
def _suffixes() -> Any:
    """The bundled Public Suffix List, built on first use: it takes ~50 ms, which a command
    that never asks for a domain (``linkgraph --help``) should not pay."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def web_url(href: str) -> str | None:
    """A WHATWG serialization as the store holds it: ``None`` unless http(s), else without
    its fragment and its credentials.

    Credentials in a link are a secret someone leaked, and never part of the page's
    identity. In a WHATWG serialization "@" in the user info is percent-encoded, so the
    only "@" before the path ends the credentials.

    >>> web_url("https://user:pw@a.test/x#top")
    'https://a.test/x'
    >>> web_url("ftp://a.test/") is None
    True
    """
    # Check the scheme on the serialization, not the raw text: WHATWG drops tabs and
    # newlines anywhere and leading C0 controls, so "h\tttp://host/" is an http URL.
    if not href.startswith(_WEB_SCHEMES):
        return None
    cut = href.find("#")
    if cut >= 0:
        href = href[:cut]
    start = href.index("//") + 2
    end = href.find("/", start)
    at = href.rfind("@", start, len(href) if end < 0 else end)
    return href if at < 0 else href[:start] + href[at + 1 :]


def normalize(url: str, base: str | None = None) -> str | None:
    """Parse an absolute URL (a seed, an imported edge, a query target), or a link's href
    resolved against the page's ``base``, and serialize it as the store holds it, or
    ``None`` when it is not an http(s) URL.

    >>> normalize("HTTP://user:pw@Example.COM:80/a b#top")
    'http://example.com/a%20b'
    >>> normalize("../g?x#frag", "http://a/b/c/d")
    'http://a/b/g?x'
    """
    try:
        href = ada_url.URL(url.strip()).href if base is None else ada_url.join_url(base, url)
    except ValueError:
        return None
    return web_url(href)


def authority_of(url: str) -> str:
    """``host[:port]`` of a serialized http(s) URL (without credentials).

    >>> authority_of("https://user@www.example.com:8443/x")
    'www.example.com:8443'
    """
    # Our URLs are WHATWG serializations, so the authority sits between "//" and the next "/".
    start = url.index("//") + 2
    end = url.find("/", start)
    authority = url[start:] if end < 0 else url[start:end]
    at = authority.rfind("@")
    return authority[at + 1 :] if at >= 0 else authority


def host_of(url: str) -> str:
    """The host name of a serialized http(s) URL, without port (IPv6 keeps its brackets).

    >>> host_of("https://user@www.example.com:8443/x")
    'www.example.com'
    """
    authority = authority_of(url)
    if authority.startswith("["):
        return authority[: authority.index("]") + 1]
    colon = authority.rfind(":")
    return authority if colon < 0 else authority[:colon]


def hosts_of(urls: list[str]) -> list[str]:
    """:func:`host_of` of each serialized http(s) URL of ``urls``, a batch at a time.

    >>> hosts_of(["https://a.example/x", "http://[::1]:8080/", "http://b.example:81/"])
    ['a.example', '[::1]', 'b.example']
    """
    # An import works out the host of every URL of a batch: most are the authority
    # alone (no port, credentials or brackets), cut out by one split, a third of
    # host_of's time. The first "//" of an http(s) serialization is the scheme's, so the
    # authority is what lies between the second and third "/", as in authority_of.
    authorities = [url.split("/", 3)[2] for url in urls]
    joined = "".join(authorities)
    if ":" not in joined and "@" not in joined:
        return authorities
    return [
        host if ":" not in host and "@" not in host else host_of(url)
        for host, url in zip(authorities, urls, strict=True)
    ]


def is_ip_literal(host: str) -> bool:
    """True for ``192.0.2.1`` and ``[2001:db8::1]``."""
    # Most hosts are names: an IPv4 address ends in a digit and an IPv6 one holds a
    # colon, so a name without either is answered without ipaddress's raise-and-catch
    # (most of registrable_domain's time for a host seen first).
    if ":" not in host and not host[-1:].isdigit():
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain ("eTLD+1") of a host, from the bundled Public Suffix List.

    Hosts that are IP addresses, or are themselves a public suffix, are their own domain.
    Unknown top-level domains follow the PSL's default rule (``*``), so ``a.b.test`` is in
    ``b.test``.

    >>> registrable_domain("news.bbc.co.uk")
    'bbc.co.uk'
    >>> registrable_domain("foo.blogspot.com")
    'foo.blogspot.com'
    """
    host = host.lower().rstrip(".")
    if is_ip_literal(host):
        return host
    return _suffixes().privatesuffix(host) or host


_blake2b = hashlib.blake2b
_INT64_LE = struct.Struct("<q").unpack


def url_hash(url: str) -> int:
    """A stable signed 64-bit hash of a serialized URL: the store's lookup key, the seen-set key.

    Stable across processes (unlike ``hash()``), so a resumed crawl rebuilds the same keys.
    """
    # Called once per URL of every batch: plain encode() (the surrogatepass error handler
    # only for the rare string that needs it) and one struct unpack cost a third of
    # encode(..., "surrogatepass") and int.from_bytes(..., signed=True); same value.
    try:
        data = url.encode()
    except UnicodeEncodeError:
        data = url.encode("utf-8", "surrogatepass")
    return _INT64_LE(_blake2b(data, digest_size=8).digest())[0]
