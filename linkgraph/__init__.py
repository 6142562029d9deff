"""linkgraph: a polite crawler and link-graph builder.

The Python API mirrors the command line, one function per command with the same keyword
names (``linkgraph import`` is :func:`import_links`, since ``import`` is a keyword;
``anchors --classify`` is :func:`anchor_profile` and ``backlinks --quality`` is
:func:`backlink_quality`, since they return different records)::

    import linkgraph
    linkgraph.crawl("links.db", ["https://example.com/"], max_pages=100)
    linkgraph.rank("links.db")
    linkgraph.backlinks("links.db", "example.com", follow_only=True)
"""

from __future__ import annotations

from crawler.settings import CrawlSettings

from .api import (
    anchors,
    backlinks,
    crawl,
    crawl_async,
    export,
    intersect,
    iter_links,
    referring_domains,
    robots,
    stats,
    top,
)
from .audit import (
    anchor_profile,
    backlink_quality,
    broken,
    changes,
    disavow,
    load_profile,
    mentions,
    toxic,
)
from .graphs import to_networkx
from .importer import import_links
from .ranking import rank

__version__ = "0.1.0"

__all__ = [
    "CrawlSettings",
    "__version__",
    "anchor_profile",
    "anchors",
    "backlink_quality",
    "backlinks",
    "broken",
    "changes",
    "crawl",
    "crawl_async",
    "disavow",
    "export",
    "import_links",
    "intersect",
    "iter_links",
    "load_profile",
    "mentions",
    "rank",
    "referring_domains",
    "robots",
    "stats",
    "to_networkx",
    "top",
    "toxic",
]
