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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkgraph.crawler.settings import CrawlSettings

    from .api import (
        anchors,
        backlinks,
        crawl,
        crawl_async,
        export,
        intersect,
        iter_links,
        open_store,
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
    from .errors import LinkgraphError
    from .graphs import to_networkx
    from .importer import import_links
    from .parquet import import_parquet
    from .ranking import rank
    from .scoreimport import import_scores
    from .stores import copy, init_db
    from .warcimport import import_warc
    from .watimport import import_wat

# The public names load on first use. crawler/, graph/ and storage/ install inside this
# package, so importing any of them (a parse worker imports only linkgraph.crawler.parsing)
# runs this file first: importing the API here would load aiohttp, numpy and scipy into every
# such process, and would import linkgraph.crawler while linkgraph itself is half-initialised.
_LAZY: dict[str, str] = {
    "CrawlSettings": "linkgraph.crawler.settings",
    "LinkgraphError": ".errors",
    "anchors": ".api",
    "backlinks": ".api",
    "crawl": ".api",
    "crawl_async": ".api",
    "export": ".api",
    "intersect": ".api",
    "iter_links": ".api",
    "open_store": ".api",
    "referring_domains": ".api",
    "robots": ".api",
    "stats": ".api",
    "top": ".api",
    "anchor_profile": ".audit",
    "backlink_quality": ".audit",
    "broken": ".audit",
    "changes": ".audit",
    "disavow": ".audit",
    "load_profile": ".audit",
    "mentions": ".audit",
    "toxic": ".audit",
    "to_networkx": ".graphs",
    "import_links": ".importer",
    "rank": ".ranking",
    "import_parquet": ".parquet",
    "import_scores": ".scoreimport",
    "import_warc": ".warcimport",
    "import_wat": ".watimport",
    "copy": ".stores",
    "init_db": ".stores",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """The package module, so that a submodule import cannot rebind a public function.

    ``linkgraph.disavow`` is the function; importing the submodule ``linkgraph.disavow``
    would otherwise make the attribute the module (the import system binds each submodule
    on its package).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"

__all__ = [
    "CrawlSettings",
    "LinkgraphError",
    "__version__",
    "anchor_profile",
    "anchors",
    "backlink_quality",
    "backlinks",
    "broken",
    "changes",
    "copy",
    "crawl",
    "crawl_async",
    "disavow",
    "export",
    "import_links",
    "import_parquet",
    "import_scores",
    "import_warc",
    "import_wat",
    "init_db",
    "intersect",
    "iter_links",
    "load_profile",
    "mentions",
    "open_store",
    "rank",
    "referring_domains",
    "robots",
    "stats",
    "to_networkx",
    "top",
    "toxic",
]
