"""Why a refetched page's links all stop counting: one rule for both stores' writers
(:mod:`.commit` for SQLite, :mod:`.pg.batch` for PostgreSQL)."""

from __future__ import annotations

from .records import Page
from .vocab import ROBOTS_NOINDEX

__all__ = ["page_loss"]


def page_loss(
    page: Page,
    previous: tuple[int | None, int, int | None, int],
    url_id: int,
    canonical_id: int | None,
) -> str | None:
    """Why all of a refetched page's links stop counting, or ``None`` if the page is fine."""
    status = page.status
    prev_robots, prev_canonical = previous[1], previous[2]
    if status is None or status >= 500:
        return "fetch-error"
    if status == 404:
        return "page-404"
    if status == 410:
        return "page-410"
    if 300 <= status < 400:
        return "page-redirects"
    if status >= 400:
        return "fetch-error"
    if page.noindex and not prev_robots & ROBOTS_NOINDEX:
        return "page-noindex"
    moved = canonical_id is not None and canonical_id != url_id
    was_moved = prev_canonical is not None and prev_canonical != url_id
    if moved and not was_moved:
        return "canonical-moved"
    return None
