"""What a WARC record becomes in the store: the crawler's :class:`Page`, built as a crawl
builds it from the same HTTP answer (``crawler/pagefetch.py``), or a reason to skip it.

- ``response``, 2xx, HTML (``crawler.encoding.is_html``): a page with the links, title,
  canonical, meta robots and ``X-Robots-Tag`` the crawler's own decoder and extractor find;
- ``response``, 301/302/303/307/308: a page whose ``final_url`` is its ``Location`` and
  whose one link is a ``redirect`` edge to it;
- ``response``, 4xx or 5xx (or another 3xx): a page with that status and no links, so a
  page that went missing between two captures loses its links as in a recrawl;
- ``revisit`` of the same URL, and ``response`` 304: the page seen again, unchanged
  (``Page.not_modified``): its stored links get ``last_seen`` = the capture date. The
  importer keeps such a record only when the store holds a capture of the page.
- everything else is skipped with a reason the importer counts: other record types,
  2xx non-HTML payloads, 1xx, a revisit of another URL (its original's links are not
  known here). A record without a usable target URL or date is reported as damaged.

``fetched_at`` is the ``WARC-Date``, so links get ``first_seen``/``last_seen`` from
capture dates; ``WARC-IP-Address`` is the host's address.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkgraph.crawler.encoding import decode_html, is_html
from linkgraph.crawler.extract import Budget, extract, robots_directives
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.crawler.urls import normalize, resolve
from linkgraph.storage.records import Link, Page

from .warcread import Capture

__all__ = ["REDIRECTS", "Bad", "Skip", "page_of", "parse_html"]

# The crawler's redirect statuses (crawler/fetch.py REDIRECTS; not imported from there,
# which would load aiohttp for an import that makes no request).
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SETTINGS = CrawlSettings()
_OTHER_TYPES = frozenset(
    {"warcinfo", "request", "metadata", "resource", "conversion", "continuation"}
)


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that is no page of ours, counted under ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class Bad:
    """A record that should be a page but cannot be read as one; reported."""

    reason: str


def parse_html(
    page: Page, body: bytes, content_type: str | None, robots_headers: list[str]
) -> None:
    """Fill ``page`` from an HTML body, as ``PageFetch._parse`` does for a crawl."""
    s = _SETTINGS
    token = s.product_token
    text, _ = decode_html(body, content_type)
    found = extract(
        text,
        page.url,
        agent_token=token,
        want_text=s.store_text,
        max_links=s.max_links_per_page,
        max_url_length=s.max_url_length,
        budget=Budget(s.parse_cpu_seconds),
    )
    if found.error is not None:
        page.error = found.error
    elif found.truncated:
        page.error = "links-truncated"
    directives = found.robots | robots_directives(robots_headers, token)
    page.title = found.title
    page.lang = found.lang
    page.canonical = found.canonical
    page.text = found.text
    page.noindex = "noindex" in directives
    page.nofollow = "nofollow" in directives
    page.links = found.links
    if found.canonical is not None and found.canonical != page.url:
        page.links.append(Link(found.canonical, kind="canonical"))


def page_of(capture: Capture) -> Page | Skip | Bad:
    """The page a ``response`` or ``revisit`` record stands for (see the module docstring)."""
    kind = capture.type
    if kind not in ("response", "revisit"):
        # The type is the file's text: only names we know reach the summary.
        return Skip(kind if kind in _OTHER_TYPES else "unknown record type")
    http = capture.http
    if http is None and kind == "response":
        return Skip("response not HTTP")
    url = normalize(capture.url) if capture.url else None
    if url is None:
        shown = f": {capture.url[:200]}" if capture.url else ""  # escaped where printed
        return Bad(f"{kind} without an http(s) WARC-Target-URI{shown}")
    if len(url) > _SETTINGS.max_url_length:  # the crawler never records one either
        return Skip("URL longer than max_url_length")
    if capture.date is None:
        return Bad(f"{kind} without a valid WARC-Date")
    status = http.status if http is not None else None
    page = Page(
        url,
        0,
        capture.date,
        status=status,
        final_url=url,
        content_type=http.get("content-type") if http is not None else None,
        size=capture.size,
        etag=http.get("etag") if http is not None else None,
        last_modified=http.get("last-modified") if http is not None else None,
    )
    if kind == "revisit" or status == 304:
        if kind == "revisit" and capture.refers_to_url is not None:
            if normalize(capture.refers_to_url) != url:
                return Skip("revisit of another URL")
        page.not_modified = True
        return page
    assert http is not None and status is not None
    if status < 200:
        return Skip("1xx interim response")
    if status in REDIRECTS:
        target = resolve(http.get("location") or "", url)
        if target is not None and len(target) <= _SETTINGS.max_url_length:
            page.final_url = target
            page.links.append(Link(target, kind="redirect"))
        return page
    if 200 <= status < 300:
        if not is_html(page.content_type, capture.body[:512]):
            return Skip("not HTML")
        parse_html(page, capture.body, page.content_type, http.values("x-robots-tag"))
    return page
