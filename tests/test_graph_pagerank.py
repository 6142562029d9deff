"""graph.pagerank against networkx.pagerank, on its options and on malformed input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from linkgraph.graph import ConvergenceError, GraphError, GraphInputError, pagerank

# Tight on both sides so the comparison measures the formulas, not the stopping
# rules: ours stops when the L1 change is below TOL, networkx when it is below
# n * NX_TOL.
TOL = 1e-13
NX_TOL = 1e-15
MATCH = 1e-8


def _nx_scores(graph: nx.DiGraph, n: int, **kwargs: object) -> np.ndarray:
    scores = nx.pagerank(graph, tol=NX_TOL, max_iter=10_000, **kwargs)
    return np.array([scores[i] for i in range(n)])


def _random_edges(seed: int, n: int, m: int) -> np.ndarray:
    """Random links, always with a repeated link, a self-loop and a page without links."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, n, size=(m, 2))
    edges = edges[edges[:, 0] != n - 1]  # n - 1 is a dead end
    return np.concatenate([edges, edges[:1], [[1, 1]]])


def _digraph(edges: np.ndarray, n: int, multi: bool = False) -> nx.DiGraph:
    graph = nx.MultiDiGraph() if multi else nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    return graph


@pytest.mark.parametrize("seed", range(6))
def test_matches_networkx_on_random_graphs(seed: int) -> None:
    n = 40 + 10 * seed
    edges = _random_edges(seed, n, 3 * n)
    ours = pagerank(edges, n=n, tol=TOL)
    theirs = _nx_scores(_digraph(edges, n), n)
    assert np.abs(ours - theirs).sum() < MATCH
    assert ours.dtype == np.float64
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)


def test_the_random_graphs_have_what_the_comparison_is_about() -> None:
    for seed in range(6):
        n = 40 + 10 * seed
        edges = _random_edges(seed, n, 3 * n)
        assert np.any(edges[:, 0] == edges[:, 1]), "a self-loop"
        assert len({tuple(e) for e in edges.tolist()}) < len(edges), "a repeated link"
        assert n - 1 not in edges[:, 0], "a dangling page"


def test_repeated_links_count_once_by_default_and_by_multiplicity_when_weighted() -> None:
    edges = np.array([[0, 1], [0, 1], [0, 1], [0, 2], [1, 0], [2, 0]])
    plain = pagerank(edges, tol=TOL)
    weighted = pagerank(edges, tol=TOL, weighted=True)
    assert np.abs(plain - _nx_scores(_digraph(edges, 3), 3)).sum() < MATCH
    assert np.abs(weighted - _nx_scores(_digraph(edges, 3, multi=True), 3)).sum() < MATCH
    # Page 0 splits 1:1 between 1 and 2 by default, 3:1 with weights.
    assert plain[1] == pytest.approx(plain[2])
    assert weighted[1] > weighted[2]


def test_sparse_matrix_values_are_weights_only_when_asked() -> None:
    rng = np.random.default_rng(7)
    n = 30
    dense = (rng.random((n, n)) < 0.1) * rng.integers(1, 5, size=(n, n))
    matrix = sp.csr_array(dense.astype(float))
    graph = nx.from_numpy_array(dense, create_using=nx.DiGraph)
    weighted = pagerank(matrix, tol=TOL, weighted=True)
    assert np.abs(weighted - _nx_scores(graph, n, weight="weight")).sum() < MATCH
    plain = pagerank(matrix, tol=TOL)
    assert np.abs(plain - _nx_scores(graph, n, weight=None)).sum() < MATCH
    # The same links as an edge array give the same answer; so does another format.
    edges = np.argwhere(dense)
    assert np.abs(pagerank(edges, n=n, tol=TOL) - plain).sum() < 1e-14
    assert np.abs(pagerank(sp.coo_matrix(dense), tol=TOL) - plain).sum() < 1e-14


def test_explicit_zeros_in_a_sparse_matrix_are_not_links() -> None:
    matrix = sp.csr_array((np.array([1.0, 0.0]), (np.array([0, 0]), np.array([1, 2]))), (3, 3))
    edges = np.array([[0, 1]])
    assert np.abs(pagerank(matrix, tol=TOL) - pagerank(edges, n=3, tol=TOL)).sum() < 1e-15


@pytest.mark.parametrize("seed", range(4))
def test_personalization_and_dangling_match_networkx(seed: int) -> None:
    n = 50
    edges = _random_edges(100 + seed, n, 120)
    graph = _digraph(edges, n)
    rng = np.random.default_rng(seed)
    teleport = rng.random(n) * (rng.random(n) < 0.5)
    teleport[0] = 1.0
    sink = rng.random(n)
    as_dict = {i: float(w) for i, w in enumerate(teleport) if w}

    # Personalization alone: dead ends follow it too, as in networkx.
    ours = pagerank(edges, n=n, tol=TOL, personalization=as_dict)
    assert np.abs(ours - _nx_scores(graph, n, personalization=as_dict)).sum() < MATCH
    assert np.abs(pagerank(edges, n=n, tol=TOL, personalization=teleport) - ours).sum() < 1e-14

    both = pagerank(edges, n=n, tol=TOL, personalization=teleport, dangling=sink)
    theirs = _nx_scores(
        graph, n, personalization=as_dict, dangling={i: float(w) for i, w in enumerate(sink)}
    )
    assert np.abs(both - theirs).sum() < MATCH

    # A dangling distribution with uniform teleport (networkx: uniform personalization).
    only_sink = pagerank(edges, n=n, tol=TOL, dangling=sink)
    theirs = _nx_scores(
        graph,
        n,
        personalization=dict.fromkeys(range(n), 1.0),
        dangling={i: float(w) for i, w in enumerate(sink)},
    )
    assert np.abs(only_sink - theirs).sum() < MATCH


def test_trustrank_from_a_seed_set_gives_nothing_to_pages_the_seeds_cannot_reach() -> None:
    # 0 -> 1 -> 2 and 3 -> 4; seeds {0}; 2 and 4 are dead ends.
    edges = np.array([[0, 1], [1, 2], [3, 4]])
    scores = pagerank(edges, personalization={0: 1.0}, tol=TOL)
    assert scores[3] == 0.0 and scores[4] == 0.0
    assert scores[0] > scores[1] > 0


def test_alpha_matches_networkx() -> None:
    n = 60
    edges = _random_edges(42, n, 200)
    for alpha in (0.5, 0.9, 0.99):
        ours = pagerank(edges, n=n, alpha=alpha, tol=TOL, max_iter=100_000)
        assert np.abs(ours - _nx_scores(_digraph(edges, n), n, alpha=alpha)).sum() < MATCH
    assert np.allclose(pagerank(edges, n=n, alpha=0.0), 1.0 / n)


def test_tol_is_the_l1_change_of_the_last_iteration() -> None:
    n = 80
    edges = _random_edges(3, n, 300)
    exact = pagerank(edges, n=n, tol=1e-15)
    for tol in (1e-4, 1e-6, 1e-8):
        approx = pagerank(edges, n=n, tol=tol)
        # The documented bound: the distance to the fixed point is <= tol * alpha / (1 - alpha).
        assert np.abs(approx - exact).sum() <= tol * 0.85 / 0.15


def test_threads_do_not_change_the_answer() -> None:
    n = 2000
    edges = _random_edges(11, n, 20_000)
    one = pagerank(edges, n=n, threads=1)
    for threads in (2, 3, 5):
        # Each row is computed the same way; only the order of a few sums changes.
        assert np.abs(pagerank(edges, n=n, threads=threads) - one).sum() < 1e-14
        # For a given thread count the result is reproducible to the bit.
        assert np.array_equal(
            pagerank(edges, n=n, threads=threads), pagerank(edges, n=n, threads=threads)
        )


def test_nodes_without_links_and_tiny_graphs() -> None:
    assert pagerank(np.zeros((0, 2), dtype=int)).shape == (0,)
    assert pagerank(np.zeros((0, 2), dtype=int), n=4).tolist() == [0.25] * 4
    assert pagerank([[0, 0]]).tolist() == [1.0]
    # Trailing isolated nodes exist only if n says so.
    assert pagerank([[0, 1]]).shape == (2,)
    assert pagerank([[0, 1]], n=5).shape == (5,)


def test_non_convergence_raises_with_the_iteration_count_and_last_error() -> None:
    edges = _random_edges(5, 100, 400)
    with pytest.raises(ConvergenceError) as caught:
        pagerank(edges, n=100, max_iter=2, tol=1e-15)
    error = caught.value
    assert isinstance(error, GraphError)
    assert error.iterations == 2
    assert error.error > error.tol == 1e-15
    assert "2 iterations" in str(error)


@pytest.mark.parametrize(
    ("adjacency", "kwargs"),
    [
        (np.array([[0, 1, 2]]), {}),
        (np.array([[0.0, 1.0]]), {}),
        (np.array([[0, -1]]), {}),
        (np.array([[0, 5]]), {"n": 3}),
        (sp.csr_array(np.ones((2, 3))), {}),
        (sp.csr_array(np.ones((2, 2))), {"n": 3}),
        (sp.csr_array(-np.ones((2, 2))), {}),
        (np.array([[0, 1]]), {"alpha": 1.5}),
        (np.array([[0, 1]]), {"tol": 0}),
        (np.array([[0, 1]]), {"max_iter": 0}),
        (np.array([[0, 1]]), {"threads": 0}),
        (np.array([[0, 1]]), {"personalization": [1.0]}),
        (np.array([[0, 1]]), {"personalization": [0.0, 0.0]}),
        (np.array([[0, 1]]), {"personalization": [1.0, -1.0]}),
        (np.array([[0, 1]]), {"personalization": {7: 1.0}}),
        (np.array([[0, 1]]), {"personalization": {"a": 1.0}}),
        (np.array([[0, 1]]), {"dangling": [np.nan, 1.0]}),
    ],
)
def test_malformed_input_raises_graph_input_error(adjacency: object, kwargs: dict) -> None:
    with pytest.raises(GraphInputError):
        pagerank(adjacency, **kwargs)


def test_graph_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        pagerank(np.array([[0, -1]]))


def test_public_scipy_fallback_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkgraph.graph import _sparse

    n = 500
    edges = _random_edges(21, n, 3000)
    fast = pagerank(edges, n=n, threads=2, personalization=np.arange(n))
    monkeypatch.setattr(_sparse, "_KERNEL_OK", False)
    slow = pagerank(edges, n=n, threads=2, personalization=np.arange(n))
    assert np.abs(fast - slow).sum() < 1e-14
