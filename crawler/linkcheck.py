"""The link check (``linkgraph broken --check-external``): a status for every link target.

Each target gets a HEAD request (GET, body unread, where the server refuses HEAD) under
the crawl's politeness rules: the same gaps, robots.txt, backoff, parking and budgets.
Nothing is parsed or followed; each answer is recorded as ``checked_only``.
"""

from __future__ import annotations

from linkgraph.storage.records import Page, QueueItem

from .fetch import FetchError, Request
from .fleet import bound
from .pagefetch import THROTTLES, FetchStep
from .politeness import Host, retry_after_seconds
from .urls import resolve

__all__ = ["LinkCheck"]


class LinkCheck(FetchStep):
    """Checks one link target per call of :meth:`run`."""

    async def run(self, host: Host, item: QueueItem, now: float, fetched_at: float) -> None:
        """A link check: HEAD (GET, body unread, where HEAD is refused); record the status."""
        s = self.settings
        method = "GET" if item.url in host.head_refused else "HEAD"
        try:
            resp = await bound(self.fetcher, host, self.clock).send(
                Request(item.url, s.max_page_bytes, want_body=lambda *_: False, method=method)
            )
        except FetchError as exc:
            self.out.fetch_failed(host, item, exc, now, fetched_at, checked_only=True)
            return
        self.out.came_back(host, now, resp.sent_ago)
        if method == "HEAD" and resp.status in (405, 501):
            # RFC 9110 §9.3.2 lets a server refuse HEAD; ask again with GET, after the delay.
            host.head_refused.add(item.url)
            self.out.frontier.push_back(host, item)  # type: ignore[union-attr]
            return
        if resp.status in THROTTLES and self.out.retry(host, item):
            host.throttled(
                self.clock.monotonic(),
                retry_after_seconds(resp.headers.get("Retry-After"), self.wallclock()),
                s.backoff_base,
                s.backoff_max,
            )
            return
        host.head_refused.discard(item.url)
        host.retries.pop(item.url, None)
        host.succeeded()
        self.out.record(
            Page(
                item.url,
                item.depth,
                fetched_at,
                status=resp.status,
                final_url=resolve(resp.headers.get("Location") or "", item.url) or item.url,
                content_type=resp.content_type,
                elapsed=resp.elapsed,
                checked_only=True,
            )
        )
