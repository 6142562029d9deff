"""The public surface of graph/, and the Examples in its docstrings (run as doctests)."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

from linkgraph import graph

MODULES = [
    "linkgraph.graph",
    "linkgraph.graph.anchors",
    "linkgraph.graph.authority",
    "linkgraph.graph.errors",
    "linkgraph.graph.harmonic",
    "linkgraph.graph.levels",
    "linkgraph.graph.pagerank",
    "linkgraph.graph.quality",
    "linkgraph.graph.ranking",
    "linkgraph.graph.reference",
    "linkgraph.graph.relevance",
    "linkgraph.graph.toxic",
    "linkgraph.graph._sparse",
]


def test_public_names_are_pinned() -> None:
    # The list lives in docs/architecture.md; __all__ must be it, in its order.
    docs = (Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text()
    paragraph = docs[docs.index("`linkgraph.graph` (`linkgraph.graph.__all__`)") :]
    listed = re.findall(r"`([^`]+)`", paragraph.split("\n\n", 1)[0].split(":\n", 1)[1])
    assert graph.__all__ == listed
    for name in graph.__all__:
        assert getattr(graph, name).__module__.startswith("linkgraph.graph.")
        assert (getattr(graph, name).__doc__ or "").strip(), f"{name} has no docstring"


def test_exception_tree() -> None:
    assert issubclass(graph.ConvergenceError, graph.GraphError)
    assert issubclass(graph.GraphInputError, graph.GraphError)
    assert issubclass(graph.GraphInputError, ValueError)


def test_every_public_function_has_an_example() -> None:
    for name in graph.__all__:
        obj = getattr(graph, name)
        if callable(obj) and not isinstance(obj, type):
            assert ">>>" in (obj.__doc__ or ""), f"{name} has no Examples"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest failures in {name}"


def test_the_private_sparse_kernel_is_in_use() -> None:
    # scipy's csr_matvec is private API: when a scipy release moves it, the public
    # fallback keeps results right but PageRank gets slower, and this test says so.
    from linkgraph.graph import _sparse

    assert _sparse._KERNEL_OK
