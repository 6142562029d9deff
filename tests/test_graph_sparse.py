"""graph/_sparse.in_links: a canonical sparse matrix is read as it is, with the same
in-link matrix the edge-list path builds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from linkgraph.graph._sparse import edge_arrays, in_links, transpose_csr
from linkgraph.graph.errors import GraphInputError


def by_edge_list(adjacency: object) -> tuple[list[int], list[int], list[float], int]:
    src, dst, weight, n = edge_arrays(adjacency, None)
    indptr, indices, data = transpose_csr(src, dst, weight, n)
    return indptr.tolist(), indices.tolist(), data.tolist(), n


def random_matrix(fmt: str) -> sp.sparray:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 60, size=400)
    cols = rng.integers(0, 60, size=400)
    matrix = sp.coo_array((rng.integers(1, 5, size=400), (rows, cols)), shape=(60, 60))
    return matrix.tocsr() if fmt == "csr" else matrix.tocsc()  # duplicates summed


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_in_links_of_a_canonical_matrix_equal_the_edge_list_path(fmt: str) -> None:
    matrix = random_matrix(fmt)
    indptr, indices, data, n = in_links(matrix, None)
    assert (indptr.tolist(), indices.tolist(), data.tolist(), n) == by_edge_list(matrix)
    assert indptr.dtype == indices.dtype == np.int32


def test_in_links_data_is_a_copy_the_caller_may_change() -> None:
    matrix = random_matrix("csc")
    before = matrix.data.copy()
    _, _, data, _ = in_links(matrix, None)
    data.fill(0.0)
    assert matrix.data.tolist() == before.tolist()


def test_in_links_of_other_matrices_take_the_edge_list_path() -> None:
    # Rows 0 -> 1, 0 -> 2 (an explicit zero: not a link) and 1 -> 0.
    zero = sp.csr_array((np.array([1.0, 0.0, 2.0]), np.array([1, 2, 0]), np.array([0, 2, 3, 3])))
    indptr, indices, data, n = in_links(zero, None)
    assert (indptr.tolist(), indices.tolist(), data.tolist(), n) == by_edge_list(zero)
    assert indices.tolist() == [1, 0]  # into 0: from 1; into 1: from 0; into 2: none
    with pytest.raises(GraphInputError):
        in_links(sp.csr_array(np.array([[0.0, -1.0], [0.0, 0.0]])), None)
    with pytest.raises(GraphInputError):
        in_links(random_matrix("csr"), 61)


def test_in_links_without_values_give_the_structure_only() -> None:
    for matrix in (random_matrix("csc"), random_matrix("csr"), np.array([[0, 1], [1, 2], [0, 2]])):
        indptr, indices, data, n = in_links(matrix, None, values=False)
        assert data is None
        assert (indptr.tolist(), indices.tolist(), n) == tuple(
            by_edge_list(matrix)[i] for i in (0, 1, 3)
        )
