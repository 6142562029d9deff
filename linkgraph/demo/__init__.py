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
from types import ModuleType
from typing import Any

# The modules whose ``__all__`` make up the package's names, in the order a name is looked
# up: a lookup imports only the modules up to the one that defines the name, and ``run``,
# which loads the query API, comes last.
_MODULES = (
    "model",
    "markup",
    "server",
    "web",
    "process",
    "traps",
    "truth",
    "audit",
    "sites",
    "run",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name: str) -> Any:
    if name == "__all__":
        names = sorted({n for m in _MODULES for n in _module(m).__all__})
        globals()["__all__"] = names
        return names
    if name in _MODULES:  # ``from linkgraph.demo import web``: the module, loading no other
        return _module(name)
    if not name.startswith("_"):
        for m in _MODULES:
            module = _module(m)
            if name in module.__all__:
                value = globals()[name] = getattr(module, name)
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__getattr__("__all__")})
