"""What the app's handlers share: the open store and what was read from it once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jinja2
from aiohttp import web

from .overview import Authority

__all__ = ["EXPLORER", "Explorer"]


@dataclass
class Explorer:
    """The server's state: the store (opened read-only), its path as shown, the templates,
    the token (``None`` on loopback without one), and the crawl page's last samples."""

    store: Any
    db: str
    env: jinja2.Environment
    token: str | None
    authority: Authority
    samples: list[tuple[float, int]] = field(default_factory=list)


EXPLORER = web.AppKey("explorer", Explorer)
