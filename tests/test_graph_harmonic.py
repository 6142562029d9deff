"""graph.harmonic_centrality: exact against networkx and scipy, sampled within its bound."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from linkgraph.graph import GraphInputError, harmonic_centrality
from linkgraph.graph.harmonic import EXACT_MAX_NODES
from scipy.sparse import csgraph


def _web_like(seed: int, n: int, out_degree: int) -> np.ndarray:
    """Links whose targets favour a few popular pages, as on the web; some dead ends."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n + 1) ** 0.8
    popularity = popularity[rng.permutation(n)]
    sources = np.repeat(np.arange(n), rng.poisson(out_degree, size=n))
    targets = rng.choice(n, size=sources.size, p=popularity / popularity.sum())
    return np.stack([sources, targets], axis=1)


def _exact_by_scipy(edges: np.ndarray, n: int) -> np.ndarray:
    """An independent exact answer: scipy's shortest paths from every source."""
    graph = sp.csr_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    distances = csgraph.shortest_path(graph, directed=True, unweighted=True)
    with np.errstate(divide="ignore"):
        reciprocal = 1.0 / distances
    reciprocal[~np.isfinite(reciprocal)] = 0.0  # unreachable (inf) and itself (0)
    return reciprocal.sum(axis=0)  # column v: the sources reaching v


@pytest.mark.parametrize("seed", range(5))
def test_exact_matches_networkx(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30 + 15 * seed
    edges = rng.integers(0, n, size=(3 * n, 2))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    theirs = nx.harmonic_centrality(graph)
    ours = harmonic_centrality(edges, n=n)
    assert np.allclose(ours, [theirs[i] for i in range(n)], rtol=0, atol=1e-12)


def test_direction_is_inbound() -> None:
    # A star of links into 0: only 0 is reached by anyone.
    edges = np.array([[1, 0], [2, 0], [3, 0]])
    assert harmonic_centrality(edges).tolist() == [3.0, 0.0, 0.0, 0.0]


def test_sources_sum_over_those_sources_only_as_networkx_does() -> None:
    n = 60
    edges = np.random.default_rng(9).integers(0, n, size=(200, 2))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    sources = [0, 5, 17, 42]
    theirs = nx.harmonic_centrality(graph, sources=sources)
    ours = harmonic_centrality(edges, n=n, sources=sources)
    assert np.allclose(ours, [theirs[i] for i in range(n)], rtol=0, atol=1e-12)


def test_exact_on_a_medium_graph_matches_scipy_shortest_paths() -> None:
    # More than one 128-source batch, long and short paths, unreachable pairs.
    n = 1500
    edges = _web_like(1, n, 4)
    assert np.allclose(harmonic_centrality(edges, n=n), _exact_by_scipy(edges, n), atol=1e-9)


def test_sampled_estimate_is_within_the_documented_error() -> None:
    n, k = 3000, 300
    edges = _web_like(2, n, 6)
    exact = harmonic_centrality(edges, n=n)
    assert exact.sum() > 0
    top = np.argsort(-exact)[:50]
    # Documented: relative standard error <= sqrt((n / H - 1) * (1 - k / n) / k).
    bound = np.sqrt((n / exact[top] - 1) * (1 - k / n) / k)
    estimates = np.array(
        [harmonic_centrality(edges, n=n, exact=False, samples=k, seed=s)[top] for s in range(20)]
    )
    relative = estimates / exact[top] - 1
    # Unbiased: the mean of 20 estimates is within 4 standard errors of the truth.
    assert np.all(np.abs(relative.mean(axis=0)) < 4 * bound / np.sqrt(20))
    # The spread is what the bound says (with slack for estimating it from 20 draws).
    assert np.all(np.sqrt((relative**2).mean(axis=0)) < 1.5 * bound)
    # And the estimate is reproducible for a given seed.
    again = harmonic_centrality(edges, n=n, exact=False, samples=k, seed=0)[top]
    assert np.array_equal(again, estimates[0])


def test_automatic_choice_and_exact_when_samples_cover_the_graph() -> None:
    edges = _web_like(3, 400, 3)
    exact = harmonic_centrality(edges, n=400, exact=True)
    assert np.array_equal(harmonic_centrality(edges, n=400), exact)  # 400 <= EXACT_MAX_NODES
    assert EXACT_MAX_NODES == 20_000
    assert np.array_equal(harmonic_centrality(edges, n=400, exact=False, samples=400), exact)
    assert not np.array_equal(harmonic_centrality(edges, n=400, exact=False, samples=40), exact)


def test_edge_cases_and_bad_input() -> None:
    assert harmonic_centrality(np.zeros((0, 2), dtype=int)).shape == (0,)
    assert harmonic_centrality(np.zeros((0, 2), dtype=int), n=3).tolist() == [0.0] * 3
    assert harmonic_centrality([[0, 0]]).tolist() == [0.0]  # a self-loop is no path
    with pytest.raises(GraphInputError):
        harmonic_centrality([[0, 1]], sources=[2])
    with pytest.raises(GraphInputError):
        harmonic_centrality([[0, 1]], sources=[0.5])
    assert harmonic_centrality([[0, 1]], sources=[]).tolist() == [0.0, 0.0]
    with pytest.raises(GraphInputError):
        harmonic_centrality([[0, 1]], exact=False, samples=0)


def test_links_searched_in_small_ranges_give_the_same_centrality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linkgraph.graph import harmonic

    rng = np.random.default_rng(11)
    edges = rng.integers(0, 300, size=(2500, 2))
    whole = harmonic_centrality(edges, n=300, exact=True)
    monkeypatch.setattr(harmonic, "_SLICE_LINKS", 7)  # hundreds of ranges, a hub's links whole
    assert harmonic_centrality(edges, n=300, exact=True).tolist() == whole.tolist()
    graph = nx.DiGraph()
    graph.add_nodes_from(range(300))
    graph.add_edges_from(edges.tolist())
    theirs = nx.harmonic_centrality(graph)
    assert np.allclose(whole, [theirs[i] for i in range(300)], rtol=0, atol=1e-9)


def test_a_search_skips_the_links_into_nodes_every_source_has_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linkgraph.graph import harmonic

    # Three nodes all linked both ways: from every node at once, level 1 reaches all
    # of them from every source; a second level over the same links would add nothing.
    links = np.array([[a, b] for a in range(3) for b in range(3) if a != b])
    searched: list[int] = []
    real = harmonic._popcount

    def popcount(words: np.ndarray) -> np.ndarray:
        searched.append(len(words))
        return real(words)

    monkeypatch.setattr(harmonic, "_popcount", popcount)
    assert harmonic_centrality(links, exact=True).tolist() == [2.0, 2.0, 2.0]
    assert searched == [3]  # the three targets of level 1, and no second level
