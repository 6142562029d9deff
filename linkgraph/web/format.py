"""How values read on a page: numbers with thousands separators, dates without seconds'
noise, and links only where they are safe to follow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FILTERS", "href", "number", "when"]


def number(value: Any) -> str:
    """12345 as ``12,345``; an authority or score (a float) with one decimal."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    return str(value)


def when(value: Any) -> str:
    """An ISO timestamp as ``2026-11-30 02:22`` UTC."""
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def href(url: Any) -> str | None:
    """``url`` when a browser may follow it (http or https), else None: a crawled
    ``javascript:`` or ``data:`` URL is shown as text, never made a link."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") and url == url.strip() else None


def listing(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value) if value else "—"
    return number(value)


FILTERS: dict[str, Callable[[Any], Any]] = {
    "number": number,
    "when": when,
    "href": href,
    "listing": listing,
}
