"""Fetching robots.txt (RFC 9309 §2.3): the requests a crawl and ``linkgraph robots`` share.

The engine makes one request per turn (:func:`fetch_robots_hop`), so each redirect hop
waits for the host's delay like any request; ``linkgraph robots`` follows the hops in a
row (:func:`fetch_robots`). Both read at most ``max_bytes + 1`` octets, so that
:meth:`~crawler.robots.RobotsRules.parse` can tell a file of exactly ``max_bytes`` from a
longer one and keep a last line whose end is the first octet past the limit, and both
turn the final response into rules with :func:`~crawler.robots.rules_for_response`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fetch import REDIRECTS, FetchError, Request
from .robots import RobotsOutcome, RobotsRules, rules_for_response
from .seams import HttpFetcher
from .urls import resolve

__all__ = ["RobotsFetch", "RobotsHop", "fetch_robots", "fetch_robots_hop"]

_ACCEPT = {"Accept": "text/plain,*/*"}


@dataclass(slots=True)
class RobotsHop:
    """One robots.txt request: a status and body, or the fetch error; and where it leads."""

    url: str
    status: int | None
    body: bytes | None
    error: FetchError | None
    sent_ago: float | None
    """Seconds since the request left (None when it never did), as in ``Response``."""
    redirect: str | None
    """The next URL to request when this was a redirect to follow (§2.3.1.2)."""


@dataclass(slots=True)
class RobotsFetch:
    """A whole robots.txt fetch: the final URL and status, and the rules they mean."""

    url: str
    status: int | None
    outcome: RobotsOutcome
    rules: RobotsRules
    error: FetchError | None


async def fetch_robots_hop(
    fetcher: HttpFetcher, url: str, hop: int, *, max_bytes: int, max_redirects: int
) -> RobotsHop:
    """Request ``url`` (the ``hop``-th redirect of a robots.txt, 0 for the first)."""
    try:
        resp = await fetcher.send(Request(url, max_bytes + 1, _ACCEPT))
    except FetchError as exc:
        return RobotsHop(url, None, None, exc, exc.sent_ago, None)
    target = None
    location = resp.headers.get("Location")
    # §2.3.1.2: follow at least five consecutive redirects; past the limit the 3xx itself
    # is the answer (rules_for_response reads it as "unavailable").
    if resp.status in REDIRECTS and location and hop < max_redirects:
        target = resolve(location, url)
    return RobotsHop(url, resp.status, resp.body, None, resp.sent_ago, target)


async def fetch_robots(
    fetcher: HttpFetcher, url: str, *, max_bytes: int, max_redirects: int
) -> RobotsFetch:
    """Fetch the robots.txt at ``url``, following redirects, and read it as a crawl does."""
    hop = 0
    while True:
        result = await fetch_robots_hop(
            fetcher, url, hop, max_bytes=max_bytes, max_redirects=max_redirects
        )
        if result.redirect is None:
            break
        url, hop = result.redirect, hop + 1
    rules, outcome = rules_for_response(result.status, result.body, max_bytes=max_bytes)
    return RobotsFetch(url, result.status, RobotsOutcome(outcome), rules, result.error)
