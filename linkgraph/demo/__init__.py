"""The built-in demo web: simulated sites served on loopback, and ``linkgraph demo``.

The modules, from the data up:

- :mod:`~linkgraph.demo.model`: sites, pages and canned responses as data, with the ground
  truth of the links each page carries;
- :mod:`~linkgraph.demo.markup`: writing pages and their ground truth in one go;
- :mod:`~linkgraph.demo.sites`: :func:`generate`, the generated web, and :func:`describe`;
- :mod:`~linkgraph.demo.traps`: the generated web's trap hosts (redirects, robots.txt...);
- :mod:`~linkgraph.demo.audit`: the backlink-audit sites the generated web includes, and
  :mod:`~linkgraph.demo.truth`, what a crawl of them must find;
- :mod:`~linkgraph.demo.server`: how one site answers a request (validators, 304s, the log);
- :mod:`~linkgraph.demo.web`: :class:`DemoWeb`, the sites served, in-process or in a thread;
- :mod:`~linkgraph.demo.process`: :class:`DemoWebProcess`, the demo web in a child process
  (``python -m linkgraph.demo.process``);
- :mod:`~linkgraph.demo.run`: ``linkgraph demo``, a crawl of the demo web and its summary.

Every public name is importable from here (``from linkgraph.demo import DemoWeb``). They
load on first use: the demo server's child process imports only the server, and a crawl
test that imports :class:`DemoWeb` does not load the query API.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "GENERATION_DATES",
            "PORT_TOKEN",
            "DemoPage",
            "DemoSite",
            "ExpectedLink",
            "Response",
            "compress",
            "decompress",
            "expected_edges",
            "fill_port",
            "header_value",
            "host_of_url",
            "site_url",
        ),
        ".model",
    ),
    **dict.fromkeys(("Block", "LinkWriter", "MarkupSite"), ".markup"),
    **dict.fromkeys(("CalendarTrap", "describe", "generate"), ".sites"),
    **dict.fromkeys(
        (
            "BRAND",
            "BROKEN_LINKS",
            "CHANGES",
            "EXTERNAL",
            "EXTERNAL_LINKS",
            "FARM",
            "KEYWORDS",
            "MENTIONS",
            "NEW_REFERRER",
            "RECIPROCAL",
            "REFUSED",
            "RELEVANT",
            "SITEWIDE",
            "TARGET",
            "UNRELATED",
            "BrokenLink",
            "Change",
            "Mentions",
            "audit_facts",
            "fill",
        ),
        ".truth",
    ),
    "audit_sites": ".audit",
    **dict.fromkeys(("Answer", "DemoWebError", "Hit"), ".server"),
    **dict.fromkeys(("DemoResolver", "DemoWeb"), ".web"),
    "DemoWebProcess": ".process",
    **dict.fromkeys(
        ("DEFAULT_SITES", "DEMO_SETTINGS", "demo_settings", "demo_size", "run_demo"), ".run"
    ),
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


# Built from the table, so that the two cannot disagree.
__all__ = sorted(_LAZY)
