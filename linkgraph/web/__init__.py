"""``linkgraph serve``: a local site explorer for the link store, in the browser.

The app (:func:`make_app`) reads the store through the same commands the CLI runs
(:mod:`linkgraph.web.runner`), so every number on a page is the CLI's; it never writes
to the store. Pages are jinja2 templates with autoescaping on; charts are SVG drawn on
the server (:mod:`linkgraph.web.charts`); no script runs in the browser.
"""

from __future__ import annotations

from .app import make_app
from .server import is_loopback, serve

__all__ = ["is_loopback", "make_app", "serve"]
