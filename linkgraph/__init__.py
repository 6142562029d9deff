"""linkgraph: a polite crawler and link-graph builder.

The Python API mirrors the command line, one function per command with the same keyword
names::

    import linkgraph
    linkgraph.crawl("links.db", ["https://example.com/"], max_pages=100)
    linkgraph.stats("links.db")
"""

from __future__ import annotations

from crawler.settings import CrawlSettings

from .api import crawl, crawl_async, export, iter_links, stats

__version__ = "0.1.0"

__all__ = [
    "CrawlSettings",
    "__version__",
    "crawl",
    "crawl_async",
    "export",
    "iter_links",
    "stats",
]
