"""Fetching one page of a crawl: the request, its retries and throttling, and what the
answer leads to (redirect targets, sitemap entries, the links of an HTML page).

429 and 503 back off (``Retry-After`` or exponentially, never past ``backoff_max``),
failures count toward parking and the host's budgets (:mod:`.outcomes`), and the gap to
the host's next request runs from when this one left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from linkgraph.storage.records import Link, Page, QueueItem

from .encoding import is_html
from .extract import robots_directives
from .fetch import REDIRECTS, FetchError, Request, Response, header_values
from .fleet import bound
from .outcomes import Outcomes
from .parsing import PageParser
from .politeness import Host, retry_after_seconds
from .seams import Clock, HttpFetcher
from .settings import CrawlSettings
from .sitemaps import parse_sitemap
from .urls import resolve

__all__ = ["THROTTLES", "FetchStep", "PageFetch"]

log = logging.getLogger("linkgraph.crawl")

THROTTLES = frozenset({429, 503})


@dataclass(eq=False)
class FetchStep:
    """What a step of the crawl that sends requests works with (the page fetcher, the link
    checker): the settings, the fetcher, the clocks, and the outcomes it reports to."""

    settings: CrawlSettings
    fetcher: HttpFetcher
    clock: Clock
    wallclock: Callable[[], float]
    out: Outcomes


@dataclass(eq=False)
class PageFetch(FetchStep):
    """Fetches the crawl's pages, sitemaps and refreshes, one URL per call of :meth:`run`."""

    parser: PageParser
    token: str = field(init=False)

    def __post_init__(self) -> None:
        self.token = self.settings.product_token

    async def run(self, host: Host, item: QueueItem, now: float, fetched_at: float) -> None:
        """Fetch one URL that left at ``now`` (monotonic), dated ``fetched_at``."""
        assert self.out.frontier is not None
        s = self.settings
        sitemap = item.kind == "sitemap"
        conditional = {}
        if item.kind == "refresh":  # RFC 9110 §13.1: ask only for what changed
            if item.etag:
                conditional["If-None-Match"] = item.etag
            if item.last_modified:
                conditional["If-Modified-Since"] = item.last_modified
        try:
            resp = await bound(self.fetcher, host, self.clock).send(
                Request(
                    item.url,
                    s.max_page_bytes,
                    conditional or None,
                    want_body=None if sitemap else _wants_body,
                )
            )
        except FetchError as exc:
            self.out.fetch_failed(host, item, exc, now, fetched_at)
            return

        self.out.came_back(host, now, resp.sent_ago)
        if resp.status in THROTTLES:
            retry_after = retry_after_seconds(resp.headers.get("Retry-After"), self.wallclock())
            if retry_after is not None and retry_after > s.backoff_max:
                # Coming back before the server asked would be rude, and waiting longer
                # than backoff_max stalls the crawl: leave the host, as for a Crawl-delay
                # above the cap. This URL is recorded with its status, the rest as skipped.
                host.skip_reason = "throttled"
                self.out.note(
                    host,
                    f"asked to wait {retry_after:.0f}s (Retry-After) above backoff_max: host skipped",
                )
            elif self.out.retry(host, item):
                wait = host.throttled(
                    self.clock.monotonic(), retry_after, s.backoff_base, s.backoff_max
                )
                log.debug("%s answered %s: waiting %.1fs", host.name, resp.status, wait)
                return
        if resp.status >= 500:
            self.out.failed(
                host, f"gave up after repeated {resp.status} answers", f"HTTP {resp.status}"
            )
        else:
            host.succeeded()
        host.retries.pop(item.url, None)
        self.out.stats.bytes += len(resp.body)
        page = Page(
            item.url,
            item.depth,
            fetched_at,
            status=resp.status,
            final_url=item.url,
            content_type=resp.content_type,
            size=len(resp.body),
            elapsed=resp.elapsed,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
        )
        if resp.truncated:
            page.error = "too-large"
        if resp.status == 304 and item.kind == "refresh":
            page.not_modified = True
            self.out.record(page)
            return
        follow: list[tuple[str, int, int, str]] = []
        if resp.status in REDIRECTS:
            target = resolve(resp.headers.get("Location") or "", item.url)
            if target is not None and len(target) > s.max_url_length:
                self.out.stats.long_urls += 1
                target = None
            if target is not None:
                page.final_url = target
                page.links.append(Link(target, kind="redirect"))
                if item.hops < s.max_redirects:
                    follow.append((target, item.depth, item.hops + 1, item.kind))
        elif sitemap:
            if 200 <= resp.status < 300:
                found = parse_sitemap(resp.body, max_urls=s.max_sitemap_urls)
                urls = [u for u in found.urls if len(u) <= s.max_url_length]
                self.out.stats.long_urls += len(found.urls) - len(urls)
                follow.extend((u, 1, 0, "page") for u in urls)
                follow.extend((u, 0, 0, "sitemap") for u in found.sitemaps[:50])
        elif 200 <= resp.status < 300 and is_html(resp.content_type, resp.body[:512]):
            await self._parse(page, resp, follow)
        self.out.record(page, follow)

    async def _parse(
        self, page: Page, resp: Response, follow: list[tuple[str, int, int, str]]
    ) -> None:
        s = self.settings
        found = await self.parser.parse(resp.body, resp.content_type, page.url)
        # One reason per page: a cut-off parse says more than a cut-off body, and both
        # more than a link list cut at max_links_per_page.
        if found.error is not None:
            page.error = found.error
        elif found.truncated and page.error is None:
            page.error = "links-truncated"
        self.out.stats.long_urls += found.long_urls
        header = robots_directives(header_values(resp.headers, "X-Robots-Tag"), self.token)
        directives = found.robots | header
        page.title = found.title
        page.lang = found.lang
        page.canonical = found.canonical
        page.text = found.text
        page.url_info = found.url_info
        page.noindex = "noindex" in directives
        page.nofollow = "nofollow" in directives
        page.links = found.links
        if found.canonical is not None and found.canonical != page.url:
            page.links.append(Link(found.canonical, kind="canonical"))
        if page.nofollow:
            return  # meta robots / X-Robots-Tag nofollow binds even with follow_nofollow
        depth = page.depth + 1
        # A page links its menu targets again and again: offer each once.
        targets = found.follow
        if targets is None or s.follow_nofollow:
            targets = list(
                dict.fromkeys(
                    link.target for link in found.links if link.follow or s.follow_nofollow
                )
            )
        follow.extend((target, depth, 0, "page") for target in targets)


def _wants_body(status: int, headers: object) -> bool:
    """Read bodies of pages we may parse; skip those of files we never will."""
    content_type = getattr(headers, "get", lambda _k, _d=None: None)("Content-Type")
    if status in REDIRECTS:
        return False
    if not content_type:
        return True  # sniff
    lowered = content_type.lower()
    return "html" in lowered or "xml" in lowered
