"""The crawl's side of URLs: WHATWG resolution of links, origins, and the crawl's scope.

What makes two spellings one URL (:func:`normalize`, :func:`host_of`,
:func:`registrable_domain`, :func:`url_hash`) is the store's identity, defined in
``storage/identity.py``; it is re-exported here so crawler modules keep one import. Every
URL that reaches the store went through :func:`resolve` or :func:`normalize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from linkgraph.storage.identity import (
    authority_of,
    host_of,
    is_ip_literal,
    normalize,
    registrable_domain,
    url_hash,
)

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
    "target_info",
    "targets_info",
    "url_hash",
]

SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:")
# Longer URLs are not recorded: browsers and search engines stop about here (Google's
# disavow file takes 2,048 characters), and only traps and junk run longer.
MAX_URL_LENGTH = 2048
_ORIGIN = re.compile(r"[^:/@]+://[^/@]*(?=/|\Z)")


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
    key: tuple[str, str] | str
    if href[:1] == "/" and href[1:2] not in ("/", "\\"):  # the most common, tested first
        global _last_origin
        last = _last_origin  # one read: another thread may replace it meanwhile
        if last[0] is base:  # the same page's base as the call before
            origin = last[1]
        else:
            end = base.find("/", base.find("//") + 2)
            origin = base if end < 0 else base[:end]
            _last_origin = (base, origin)
        key = (origin, href)
    else:
        known = _cache.get(href)  # only absolute hrefs are keys on their own
        if known is not None:
            return known
        if not href[:8].lower().startswith(("http://", "https://")):
            return normalize(href, base)
        key = href
    known = _cache.get(key, _MISSING)
    if known is not _MISSING:
        return known
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    result = _cache[key] = normalize(href, base)
    return result


_CACHE_SIZE = 65_536
_cache: dict[tuple[str, str] | str, str | None] = {}
_last_origin = ("", "")  # (base, its scheme and authority) of the last path-absolute href
_MISSING = ""  # never a cached answer: those are None or an absolute URL


def origin_of(url: str) -> str:
    """The origin (scheme, host, port) as ``scheme://host[:port]``; robots.txt is per origin.

    >>> origin_of("https://example.com/a?b")
    'https://example.com'
    """
    # A crawl's URLs are WHATWG serializations: when the scheme has no ":", "/" or "@"
    # and the authority no "@", the origin is the URL up to the "/" after the authority,
    # as _origin_of reads it, at half its CPU (robots.txt is looked up by origin before
    # every fetch). tests/test_robots_fastpaths.py holds the two to the same answers.
    match = _ORIGIN.match(url)
    return match[0] if match else _origin_of(url)


def _origin_of(url: str) -> str:
    """:func:`origin_of` for any URL with a ":"."""
    scheme = url[: url.index(":")]
    return f"{scheme}://{authority_of(url)}"


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


# Each link target's (hash, host, domain), kept while it is linked again: a site's pages
# share their menus, so most targets of a page were targets of the pages before. Each
# host's (host, domain) pair is kept apart, so that a page's links share one string per
# host (written once in a worker's answer, which refers back to objects written before).
_URL_INFO: dict[str, tuple[int, str, str]] = {}
_URL_INFO_MAX = 50_000  # about 10 MB at most
_HOST_INFO: dict[str, tuple[str, str]] = {}
_HOST_INFO_MAX = 100_000


def target_info(url: str) -> tuple[int, str, str]:
    """``(url_hash(url), host, registrable domain)`` of a serialized URL, remembered (a
    full memory is emptied)."""
    about = _URL_INFO.get(url)
    if about is None:
        host = host_of(url)
        known = _HOST_INFO.get(host)
        if known is None:
            if len(_HOST_INFO) >= _HOST_INFO_MAX:
                _HOST_INFO.clear()
            known = _HOST_INFO[host] = (host, registrable_domain(host))
        if len(_URL_INFO) >= _URL_INFO_MAX:
            _URL_INFO.clear()
        about = _URL_INFO[url] = (url_hash(url), *known)
    return about


def targets_info(urls: Iterable[str]) -> dict[str, tuple[int, str, str]]:
    """:func:`target_info` of each of ``urls`` (a page's targets, most of them remembered:
    those are looked up here, without a call each)."""
    known = _URL_INFO.get
    return {url: known(url) or target_info(url) for url in urls}
