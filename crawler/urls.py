"""URL identity: WHATWG resolution, host and origin, registrable domain, scope.

Every URL that reaches the store went through :func:`resolve` or :func:`normalize`, so two
spellings of one address are one URL. The serialization is the WHATWG URL Standard's
(via ada-url) with the fragment dropped and nothing else rewritten: no query sorting, no
trailing-slash games, no lowercasing of paths. Those rewrites change what a server sees,
and a link graph must record what pages actually link to.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache

import ada_url
from publicsuffixlist import PublicSuffixList

__all__ = [
    "MAX_URL_LENGTH",
    "SKIPPED_SCHEMES",
    "Scope",
    "host_of",
    "is_ip_literal",
    "normalize",
    "origin_of",
    "registrable_domain",
    "resolve",
    "url_hash",
]

SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:")
_WEB_SCHEMES = ("http:", "https:")
# Longer URLs are not recorded: browsers and search engines stop about here (Google's
# disavow file takes 2,048 characters), and only traps and junk run longer.
MAX_URL_LENGTH = 2048

_psl = PublicSuffixList()


def resolve(href: str, base: str) -> str | None:
    """Resolve ``href`` against ``base`` per the WHATWG URL Standard.

    Returns the serialized absolute URL without its fragment and without credentials
    (``user:pass@``), or ``None`` when the result is not a valid http(s) URL
    (``javascript:``, ``mailto:``, ``tel:``, ``data:`` and any other scheme are not web
    links).

    >>> resolve("../g?x#frag", "http://a/b/c/d")
    'http://a/b/g?x'
    >>> resolve("//user:secret@a/x", "https://b/")
    'https://a/x'
    >>> resolve("mailto:someone@example.com", "http://a/") is None
    True
    """
    # Most hrefs are absolute or path-absolute, and their result does not depend on the
    # base's path: cache those (a site's menu repeats on every page). The key keeps what
    # the result does depend on: nothing for an absolute URL, the base's scheme and
    # authority for a path-absolute one.
    head = href[:8].lower()
    if head.startswith(("http://", "https://")):
        key: tuple[str, str] | str = href
    elif href[:1] == "/" and href[1:2] not in ("/", "\\"):
        end = base.find("/", base.find("//") + 2)
        key = (base if end < 0 else base[:end], href)
    else:
        return _resolve(href, base)
    try:
        return _cache[key]
    except KeyError:
        pass
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    result = _cache[key] = _resolve(href, base)
    return result


_CACHE_SIZE = 65_536
_cache: dict[tuple[str, str] | str, str | None] = {}


def _resolve(href: str, base: str) -> str | None:
    try:
        joined = ada_url.join_url(base, href)
    except ValueError:
        return None
    if not joined.startswith(_WEB_SCHEMES):
        return None
    return _bare(joined)


def _bare(href: str) -> str:
    """A serialized http(s) URL without its fragment and its credentials.

    Credentials in a link are a secret someone leaked, and never part of the page's
    identity. In a WHATWG serialization "@" in the user info is percent-encoded, so the
    only "@" before the path ends the credentials.
    """
    cut = href.find("#")
    if cut >= 0:
        href = href[:cut]
    start = href.index("//") + 2
    end = href.find("/", start)
    at = href.rfind("@", start, len(href) if end < 0 else end)
    return href if at < 0 else href[:start] + href[at + 1 :]


def normalize(url: str) -> str | None:
    """Parse an absolute URL (a seed, an imported edge) and serialize it as :func:`resolve` does.

    >>> normalize("HTTP://user:pw@Example.COM:80/a b#top")
    'http://example.com/a%20b'
    """
    url = url.strip()
    try:
        href = ada_url.URL(url).href
    except ValueError:
        return None
    # Check the scheme after parsing: WHATWG drops tabs and newlines anywhere and leading
    # C0 controls, so "h\tttp://host/" is an http URL that a check on the raw text misses.
    if not href.startswith(_WEB_SCHEMES):
        return None
    return _bare(href)


def _authority(url: str) -> str:
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
    authority = _authority(url)
    if authority.startswith("["):
        return authority[: authority.index("]") + 1]
    colon = authority.rfind(":")
    return authority if colon < 0 else authority[:colon]


def origin_of(url: str) -> str:
    """The origin (scheme, host, port) as ``scheme://host[:port]``; robots.txt is per origin.

    >>> origin_of("https://example.com/a?b")
    'https://example.com'
    """
    scheme = url[: url.index(":")]
    return f"{scheme}://{_authority(url)}"


def is_ip_literal(host: str) -> bool:
    """True for ``192.0.2.1`` and ``[2001:db8::1]``."""
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
    return _psl.privatesuffix(host) or host


def url_hash(url: str) -> int:
    """A stable signed 64-bit hash of a serialized URL: the store's lookup key, the seen-set key.

    Stable across processes (unlike ``hash()``), so a resumed crawl rebuilds the same keys.
    """
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


class Scope:
    """Which discovered URLs the crawl may fetch.

    ``domain`` (default): hosts under the registrable domains of the seeds.
    ``host``: exactly the seed hosts. ``any``: every http(s) URL.
    Out-of-scope links are still recorded; they are never fetched.
    """

    __slots__ = ("domains", "hosts", "mode")

    def __init__(self, mode: str, seeds: list[str] | tuple[str, ...]) -> None:
        if mode not in ("domain", "host", "any"):
            raise ValueError(f"unknown scope {mode!r}: use domain, host or any")
        self.mode = mode
        self.hosts = frozenset(host_of(s) for s in seeds)
        self.domains = frozenset(registrable_domain(h) for h in self.hosts)

    def allows_host(self, host: str) -> bool:
        if self.mode == "any":
            return True
        if self.mode == "host":
            return host in self.hosts
        return registrable_domain(host) in self.domains

    def extended(self, seeds: list[str] | tuple[str, ...]) -> Scope:
        """This scope with more seeds (a resumed crawl given new seed URLs)."""
        merged = Scope(self.mode, [])
        extra = Scope(self.mode, seeds)
        merged.hosts = self.hosts | extra.hosts
        merged.domains = self.domains | extra.domains
        return merged
