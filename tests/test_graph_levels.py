"""graph.levels: host/domain graphs and redirect folding on hand-built examples."""

from __future__ import annotations

import numpy as np
import pytest
from linkgraph.graph import GraphInputError, fold_redirects, group_graph, pagerank

# Pages and their domains:
#   domain 0 (a.example): pages 0, 1, 2
#   domain 1 (b.example): pages 3, 4
#   domain 2 (c.example): page 5
#   domain 3 (d.example): page 6 (links to nobody, nobody links to it)
DOMAIN_OF = [0, 0, 0, 1, 1, 2, 3]
#         link:  0     1     2     3     4     5     6     7     8
SRC = np.array([0, 1, 2, 0, 1, 3, 4, 3, 5])
DST = np.array([1, 3, 3, 4, 5, 4, 0, 5, 3])
FOLLOW = np.array([True, True, True, False, False, True, True, True, True])


# The followed links' domain graph, worked out by hand in test_domain_graph_by_hand.
FOLLOWED_DOMAIN_EDGES = [
    [0, 2, 0, 0],
    [1, 0, 1, 0],
    [0, 1, 0, 0],
    [0, 0, 0, 0],
]


def test_domain_graph_by_hand() -> None:
    # link 0: 0->1 is a -> a, internal: dropped.
    # links 1, 2: a -> b (pages 1->3, 2->3): one edge a -> b, valued 2.
    # link 3: 0->4 is a -> b but nofollow: not counted.
    # link 4: 1->5 is a -> c but nofollow: no edge a -> c at all.
    # link 5: 3->4 is b -> b, internal: dropped.
    # link 6: 4->0 is b -> a: edge b -> a, valued 1.
    # link 7: 3->5 is b -> c: edge b -> c, valued 1.
    # link 8: 5->3 is c -> b: edge c -> b, valued 1.
    graph = group_graph(SRC, DST, DOMAIN_OF, follow=FOLLOW)
    assert graph.shape == (4, 4)
    assert graph.toarray().tolist() == FOLLOWED_DOMAIN_EDGES


def test_without_a_follow_mask_every_link_counts() -> None:
    # The nofollow links count too: link 3 makes a -> b valued 3, link 4 adds a -> c.
    expected = [row[:] for row in FOLLOWED_DOMAIN_EDGES]
    expected[0][1] += 1
    expected[0][2] += 1
    assert group_graph(SRC, DST, DOMAIN_OF).toarray().tolist() == expected


def test_domain_pagerank_splits_equally_across_linked_domains() -> None:
    graph = group_graph(SRC, DST, DOMAIN_OF)
    # a links to b (3 page links) and c (1): by default a's score is split 1:1,
    # exactly as on the graph with one edge per pair.
    one_per_pair = np.array([[0, 1], [0, 2], [1, 0], [1, 2], [2, 1]])
    assert np.abs(pagerank(graph) - pagerank(one_per_pair, n=4)).sum() < 1e-14
    # weighted=True would split it 3:1 instead.
    assert not np.allclose(pagerank(graph, weighted=True), pagerank(graph))


def test_host_level_is_the_same_rule_with_host_ids() -> None:
    # Hosts: www.a and blog.a split domain a; the pair www.a -> blog.a now counts.
    host_of = [0, 0, 1, 2, 2, 3, 4]  # pages 0-1 on www.a, page 2 on blog.a, ...
    graph = group_graph([0, 2, 0], [2, 3, 1], host_of)
    assert graph.toarray()[0].tolist() == [0, 1, 0, 0, 0]  # 0->2 www.a -> blog.a; 0->1 inside
    assert graph.toarray()[1].tolist() == [0, 0, 1, 0, 0]  # 2->3 blog.a -> b


def test_n_groups_and_empty_input() -> None:
    graph = group_graph([], [], [0, 1], n_groups=5)
    assert graph.shape == (5, 5) and graph.nnz == 0
    with pytest.raises(GraphInputError):
        group_graph([0], [1], [0, 7], n_groups=5)


@pytest.mark.parametrize(
    ("src", "dst", "group_of", "follow"),
    [
        ([0], [1, 2], [0, 1, 2], None),  # lengths differ
        ([0], [5], [0, 1], None),  # page 5 has no group
        ([0], [1], [0, -1], None),  # negative group
        ([0], [1], [0.0, 1.0], None),  # non-integer groups
        ([-1], [1], [0, 1], None),  # negative page id
        ([0], [1], [0, 1], [True, False]),  # follow length
    ],
)
def test_group_graph_rejects_bad_input(src, dst, group_of, follow) -> None:
    with pytest.raises(GraphInputError):
        group_graph(src, dst, group_of, follow=follow)


def test_fold_redirects_by_hand() -> None:
    # Links: 0->1, 1->2, 1->4, 2->0, 3->1. Redirects: 1 -> 3 (page 1's recorded links
    # 1->2 and 1->4 are replaced by the one link 1->3), 2 -> 2 (a self-redirect: page 2
    # loses its link 2->0 and becomes a dead end).
    src, dst, follow = fold_redirects(
        [0, 1, 1, 2, 3],
        [1, 2, 4, 0, 1],
        [[1, 3], [2, 2]],
        follow=[True, False, True, True, False],
    )
    # Kept in order: 0->1 (follow), 3->1 (nofollow); then the redirect 1->3 (followed).
    assert list(zip(src.tolist(), dst.tolist(), follow.tolist(), strict=True)) == [
        (0, 1, True),
        (3, 1, False),
        (1, 3, True),
    ]


def test_a_redirect_passes_its_whole_score_to_its_target() -> None:
    # 0 -> 1, and 1 redirects to 2. After folding, 1's only out-link is 2, so 2 gets
    # alpha * score(1) from it, like any single link; links into 1 still count for 1.
    src, dst, _ = fold_redirects([0, 1], [1, 0], [[1, 2]])
    scores = pagerank(np.stack([src, dst], axis=1), n=3, tol=1e-14)
    assert list(zip(src.tolist(), dst.tolist(), strict=True)) == [(0, 1), (1, 2)]
    assert scores[2] > scores[1] > scores[0]


def test_fold_redirects_edge_cases() -> None:
    src, dst, follow = fold_redirects([0], [1], [])
    assert (src.tolist(), dst.tolist(), follow.tolist()) == ([0], [1], [True])
    with pytest.raises(GraphInputError):
        fold_redirects([0], [1], [[1, 2], [1, 3]])  # two targets for page 1
    with pytest.raises(GraphInputError):
        fold_redirects([0], [1], [[1, 2, 3]])
    with pytest.raises(GraphInputError):
        fold_redirects([0], [1], [[1, -2]])
    with pytest.raises(GraphInputError):
        fold_redirects([0], [1], [], follow=[True, True])


def test_fold_redirects_keeps_int32_ids_and_without_redirects_copies_nothing() -> None:
    src = np.array([0, 1, 2], dtype=np.int32)
    dst = np.array([1, 2, 0], dtype=np.int32)
    same_src, same_dst, _ = fold_redirects(src, dst, np.zeros((0, 2), dtype=np.int32))
    assert np.shares_memory(same_src, src) and np.shares_memory(same_dst, dst)
    folded_src, folded_dst, _ = fold_redirects(src, dst, np.array([[1, 0]], dtype=np.int32))
    assert (folded_src.tolist(), folded_dst.tolist()) == ([0, 2, 1], [1, 0, 0])
    assert folded_src.dtype == folded_dst.dtype == np.int32


def test_group_graph_of_int32_ids_counts_like_int64() -> None:
    src, dst, group = [0, 0, 1, 2, 3], [1, 2, 2, 3, 0], [0, 0, 1, 2]
    narrow = group_graph(*(np.array(a, dtype=np.int32) for a in (src, dst, group)))
    wide = group_graph(*(np.array(a, dtype=np.int64) for a in (src, dst, group)))
    assert narrow.toarray().tolist() == wide.toarray().tolist() == [[0, 2, 0], [0, 0, 1], [1, 0, 0]]
    assert narrow.dtype == np.int64


def test_group_graph_compares_groups_in_slices_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linkgraph.graph import levels

    rng = np.random.default_rng(4)
    src, dst = rng.integers(0, 50, size=(2, 400))
    group, follow = rng.integers(0, 9, size=50), rng.random(400) < 0.7
    whole = group_graph(src, dst, group, follow=follow, n_groups=9)
    monkeypatch.setattr(levels, "_MASK_SLICE", 3)
    sliced = group_graph(src, dst, group, follow=follow, n_groups=9)
    expected = np.zeros((9, 9), dtype=np.int64)
    for s, d, f in zip(src, dst, follow, strict=True):
        if f and group[s] != group[d]:
            expected[group[s], group[d]] += 1
    assert sliced.toarray().tolist() == whole.toarray().tolist() == expected.tolist()


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_group_graph_is_canonical_in_either_format(fmt: str) -> None:
    # Unsorted, repeated pairs: each row (column) must come out sorted, each pair once.
    rng = np.random.default_rng(7)
    src, dst = rng.integers(0, 300, size=(2, 5000))
    group = rng.integers(0, 40, size=300)
    graph = group_graph(src, dst, group, n_groups=40, format=fmt)
    assert graph.format == fmt
    major = graph.indptr
    for i in range(40):  # strictly increasing indices within each row (column)
        assert np.all(np.diff(graph.indices[major[i] : major[i + 1]]) > 0)
    expected = np.zeros((40, 40), dtype=np.int64)
    np.add.at(expected, (group[src], group[dst]), group[src] != group[dst])
    assert graph.toarray().tolist() == expected.tolist()
    assert graph.data.dtype == np.int64 and graph.indices.dtype == np.int32


def test_group_graph_refuses_an_unknown_format() -> None:
    with pytest.raises(GraphInputError, match="format"):
        group_graph([0], [1], [0, 1], format="coo")
