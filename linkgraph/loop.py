"""Running a coroutine to its end from synchronous code: every command that does async
work (a crawl, an import, a robots.txt fetch) goes through :func:`run`.

Its own module, needing only asyncio, so that a command which only writes the store
(``linkgraph import``) does not load the crawl engine to get an event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
