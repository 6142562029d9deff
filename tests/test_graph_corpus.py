"""graph/ on real web graphs from the shared corpus: cnr-2000 and polblogs.

Both reference PageRank vectors were computed by the corpus maintainers (damping
0.85, uniform teleport, dangling score spread uniformly, self-loops kept as
ordinary links; polblogs with repeated links collapsed), not published: see each
folder's PROVENANCE.md.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from linkgraph.graph import authority_scores, group_graph, harmonic_centrality, pagerank

CNR_NODES = 325_557
CNR_ARCS = 3_216_152


def _numbers(text: bytes, dtype: type) -> np.ndarray:
    # np.fromstring's text mode parses whitespace-separated numbers in C: ~0.15 s for
    # cnr-2000's 6.4M ids, where splitting into Python objects takes ~1.5 s.
    return np.fromstring(text, dtype=dtype, sep=" ")


def _gzip_body(path: Path) -> bytes:
    """The file's bytes after its first line (a comment or a header)."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    return data[data.index(b"\n") + 1 :]


def _cnr(corpus: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = corpus / "webgraph-cnr-2000"
    edges = _numbers(_gzip_body(folder / "cnr-2000.edges.tsv.gz"), np.int64).reshape(-1, 2)
    table = _numbers(_gzip_body(folder / "pagerank_computed_reference.tsv.gz"), np.float64)
    table = table.reshape(-1, 2)
    reference = np.zeros(CNR_NODES)
    reference[table[:, 0].astype(np.int64)] = table[:, 1]
    return edges, reference


def _tsv_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def _polblogs(corpus: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Edges (every record, repeats included), reference PageRank, labels; 0-based ids."""
    folder = corpus / "webgraph-polblogs"
    labels = [row[1] for row in _tsv_rows(folder / "nodes.tsv")]
    assert [int(row[0]) for row in _tsv_rows(folder / "nodes.tsv")] == list(
        range(1, len(labels) + 1)
    )
    edges = np.array(
        [(int(row[0]) - 1, int(row[1]) - 1) for row in _tsv_rows(folder / "edges.tsv")]
    )
    reference = np.zeros(len(labels))
    for row in _tsv_rows(folder / "pagerank_computed_reference.tsv"):
        reference[int(row[0]) - 1] = float(row[2])
    return edges, reference, labels


@pytest.fixture(scope="module")
def cnr(corpus: Path) -> tuple[np.ndarray, np.ndarray]:
    return _cnr(corpus)


def test_cnr_2000_loads_completely(corpus: Path) -> None:
    edges, reference = _cnr(corpus)
    assert edges.shape == (CNR_ARCS, 2)
    assert edges.max() == CNR_NODES - 1
    assert reference.sum() == pytest.approx(1.0, abs=1e-9)


def test_cnr_2000_matches_the_reference_vector(cnr: tuple[np.ndarray, np.ndarray]) -> None:
    edges, reference = cnr
    scores = pagerank(edges, n=CNR_NODES)
    assert np.abs(scores - reference).sum() < 1e-6
    # The top nodes named in PROVENANCE.md.
    assert set(np.argsort(scores)[-2:].tolist()) == {60595, 60597}
    assert scores[60595] == pytest.approx(0.0177719, abs=1e-7)
    assert scores[285152] == pytest.approx(0.0075049, abs=1e-7)


def test_cnr_2000_numbers_from_provenance(cnr: tuple[np.ndarray, np.ndarray]) -> None:
    edges, _ = cnr
    assert int((edges[:, 0] == edges[:, 1]).sum()) == 87_442
    has_links = np.zeros(CNR_NODES, dtype=bool)
    has_links[edges[:, 0]] = True
    assert int((~has_links).sum()) == 78_056


def test_cnr_2000_authority_is_a_0_to_100_scale(cnr: tuple[np.ndarray, np.ndarray]) -> None:
    _, reference = cnr
    authority = authority_scores(reference)
    assert authority.min() == 0.0 and authority.max() == 100.0
    assert authority[np.argmax(reference)] == 100.0
    order = np.argsort(reference, kind="stable")
    assert np.all(np.diff(authority[order]) >= 0)
    # Every cnr-2000 page has an in-link, so the floor is the least-ranked page.
    assert np.all(authority[reference == reference.min()] == 0.0)
    # Most pages have little authority; the log scale still spreads out the top.
    assert np.median(authority) < 10 < np.percentile(authority, 99)


def test_polblogs_matches_the_reference_vector(corpus: Path) -> None:
    edges, reference, labels = _polblogs(corpus)
    assert edges.shape == (19_090, 2)
    # The reference collapses repeated links, as pagerank does by default.
    scores = pagerank(edges, n=len(labels))
    assert np.abs(scores - reference).sum() < 1e-9
    top = [labels[i] for i in np.argsort(-scores)[:5]]
    assert top == [
        "dailykos.com",
        "atrios.blogspot.com",
        "instapundit.com",
        "blogsforbush.com",
        "talkingpointsmemo.com",
    ]


def test_polblogs_statistics_from_provenance(corpus: Path) -> None:
    edges, _, labels = _polblogs(corpus)
    distinct = {tuple(edge) for edge in edges.tolist()}
    assert len(distinct) == 19_025
    assert sum(1 for a, b in distinct if a == b) == 3
    # Each blog as its own group: group_graph drops the 3 self-links.
    graph = group_graph(edges[:, 0], edges[:, 1], np.arange(len(labels)))
    assert graph.nnz == 19_022
    assert int(graph.sum()) == 19_090 - int((edges[:, 0] == edges[:, 1]).sum())


def test_polblogs_harmonic_centrality_ranks_the_big_blogs_first(corpus: Path) -> None:
    edges, _, labels = _polblogs(corpus)
    centrality = harmonic_centrality(edges, n=len(labels))
    top = {labels[i] for i in np.argsort(-centrality)[:10]}
    assert {"dailykos.com", "atrios.blogspot.com", "talkingpointsmemo.com"} <= top
