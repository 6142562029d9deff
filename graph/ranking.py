"""The level-ranking pipeline: page links to page, host and domain scores, no I/O.

What counts, at each level (the caller passes current links only):

- **page**: follow links (internal and external) and redirects; a page that redirects
  passes its whole score to its target (:func:`~graph.levels.fold_redirects`).
- **host** and **domain**: one edge per ordered pair of different hosts (domains) joined
  by at least one follow link or redirect (:func:`~graph.levels.group_graph`); each
  splits its score equally across the hosts (domains) it links to — the documented
  basis of Ahrefs' Domain Rating.
- ``backlinks`` / ``referring_domains`` count backlinks (distinct source page → target
  URL pairs) and distinct linking registrable domains, from other registrable domains
  only (:func:`pair_counts`).
- ``trust``: TrustRank, PageRank whose random jumps land only on the trusted seeds
  (:func:`seed_vector`, :func:`trusted_seeds`).
- ``harmonic``: inbound harmonic centrality, host and domain levels only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .authority import authority_scores
from .harmonic import harmonic_centrality
from .levels import fold_redirects, group_graph
from .pagerank import pagerank

__all__ = [
    "LEVELS",
    "LevelRanking",
    "LinkArrays",
    "pair_counts",
    "rank_levels",
    "score_level",
    "seed_vector",
    "trusted_seeds",
]

LEVELS = ("page", "host", "domain")
# Harmonic centrality is exact up to this many nodes; above, sampled from
# HARMONIC_SAMPLES sources (a few seconds on 40,000 hosts; error documented in
# graph/harmonic.py and the README).
HARMONIC_EXACT_UP_TO = 2000
HARMONIC_SAMPLES = 256


class LinkArrays(Protocol):
    """A store's current link graph as arrays (0-based ids), as ``storage`` loads it.

    ``src``/``dst``: backlink pairs, ``follow`` true when the pair is followable;
    ``redirect_src``/``redirect_dst``: redirect hops; ``url_host`` and ``host_domain``
    map a URL to its host and a host to its registrable domain.
    """

    n_urls: int
    n_hosts: int
    n_domains: int
    src: np.ndarray
    dst: np.ndarray
    follow: np.ndarray
    redirect_src: np.ndarray
    redirect_dst: np.ndarray
    url_host: np.ndarray
    host_domain: np.ndarray


@dataclass(slots=True)
class LevelRanking:
    """Per level (``page``, ``host``, ``domain``): its score columns, or ``{}`` when the
    level has no node; and the number of page-level edges PageRank ran on."""

    levels: dict[str, dict[str, np.ndarray]]
    follow_edges: int


def pair_counts(
    target: np.ndarray, source_domain: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backlinks and distinct referring domains per target id.

    ``target[i]`` and ``source_domain[i]`` are the target node and the source's domain
    of backlink ``i`` (already restricted to links between different domains).

    Examples
    --------
    >>> import numpy as np
    >>> backlinks, referring = pair_counts(np.array([0, 0, 0, 2]), np.array([5, 5, 6, 5]), 3)
    >>> backlinks.tolist(), referring.tolist()
    ([3, 0, 1], [2, 0, 1])
    """
    target = np.asarray(target, dtype=np.int64)
    backlinks = np.bincount(target, minlength=n)
    pairs = np.unique((np.asarray(source_domain, dtype=np.int64) << 32) | target)
    referring = np.bincount((pairs & 0xFFFFFFFF).astype(np.int64), minlength=n)
    return backlinks, referring


def seed_vector(ids: np.ndarray, n: int) -> np.ndarray | None:
    """A TrustRank personalization vector: 1 on the seed ids, 0 elsewhere; ``None``
    without seeds (then there is no trust to compute).

    Examples
    --------
    >>> import numpy as np
    >>> seed_vector(np.array([1, 3]), 4).tolist()
    [0.0, 1.0, 0.0, 1.0]
    >>> seed_vector(np.array([], dtype=int), 4) is None
    True
    """
    if len(ids) == 0:
        return None
    v = np.zeros(n)
    v[ids] = 1.0
    return v


def trusted_seeds(
    domain_ids: np.ndarray, host_ids: np.ndarray, url_host: np.ndarray
) -> dict[str, np.ndarray]:
    """TrustRank seeds per level: the trusted domains, the trusted hosts and every page
    on a trusted host.

    Examples
    --------
    >>> import numpy as np
    >>> seeds = trusted_seeds(np.array([0]), np.array([1]), np.array([0, 1, 1, 2]))
    >>> {level: ids.tolist() for level, ids in seeds.items()}
    {'page': [1, 2], 'host': [1], 'domain': [0]}
    """
    host_ids = np.asarray(host_ids, dtype=np.int64)
    page_ids = np.flatnonzero(np.isin(url_host, host_ids))
    return {"page": page_ids, "host": host_ids, "domain": np.asarray(domain_ids, dtype=np.int64)}


def score_level(
    adjacency: Any,
    n: int,
    *,
    target_of: np.ndarray,
    source_domain: np.ndarray,
    alpha: float = 0.85,
    seeds: np.ndarray | None = None,
    harmonic: bool = False,
) -> dict[str, np.ndarray]:
    """The score columns of one level: PageRank, authority (0-100), backlink counts, and
    ``trust`` (with seeds) and ``harmonic`` (when asked).

    ``adjacency`` is an ``(m, 2)`` edge array (page level: every edge counts, duplicates
    too) or a square sparse matrix (host and domain levels); ``target_of`` and
    ``source_domain`` name, per backlink between different domains, its target node and
    its source's domain.

    Examples
    --------
    Node 0 links to 1 and 2, both link back; one external backlink into node 0.

    >>> import numpy as np
    >>> edges = np.array([[0, 1], [0, 2], [1, 0], [2, 0]])
    >>> cols = score_level(edges, 3, target_of=np.array([0]), source_domain=np.array([7]))
    >>> [round(x, 4) for x in cols["pagerank"].tolist()], cols["backlinks"].tolist()
    ([0.4865, 0.2568, 0.2568], [1, 0, 0])
    """
    sized = isinstance(adjacency, np.ndarray)
    pr = pagerank(adjacency, n=n, alpha=alpha) if sized else pagerank(adjacency, alpha=alpha)
    backlinks, referring = pair_counts(target_of, source_domain, n)
    result: dict[str, np.ndarray] = {
        "pagerank": pr,
        "authority": authority_scores(pr, alpha=alpha),
        "backlinks": backlinks,
        "referring_domains": referring,
    }
    v = seed_vector(seeds, n) if seeds is not None else None
    if v is not None:
        result["trust"] = pagerank(
            adjacency, n=n if sized else None, alpha=alpha, personalization=v
        )
    if harmonic:
        result["harmonic"] = harmonic_centrality(
            adjacency, exact=n <= HARMONIC_EXACT_UP_TO, samples=HARMONIC_SAMPLES, seed=0
        )
    return result


def rank_levels(
    g: LinkArrays,
    *,
    alpha: float = 0.85,
    seeds: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[str], object] | None = None,
) -> LevelRanking:
    """Rank every page, host and domain of a link graph (see the module docstring).

    ``seeds`` holds TrustRank seed ids per level (:func:`trusted_seeds`); ``progress``
    is told which level is being ranked.
    """
    say = progress or (lambda _msg: None)
    url_domain = g.host_domain[g.url_host]
    src_f, dst_f = g.src[g.follow], g.dst[g.follow]
    redirects = np.column_stack([g.redirect_src, g.redirect_dst])
    p_src, p_dst, _ = fold_redirects(src_f, dst_f, redirects)
    external = url_domain[g.src] != url_domain[g.dst]
    ext_src, ext_dst = g.src[external], g.dst[external]
    source_domain = url_domain[ext_src]
    # Redirects join the host and domain graphs as links: a site that moved passes on.
    all_src = np.concatenate([src_f, g.redirect_src])
    all_dst = np.concatenate([dst_f, g.redirect_dst])
    levels: list[tuple[str, int, np.ndarray | None]] = [
        ("page", g.n_urls, None),
        ("host", g.n_hosts, g.url_host),
        ("domain", g.n_domains, url_domain),
    ]
    results: dict[str, dict[str, np.ndarray]] = {}
    for level, n, group in levels:
        if n == 0:
            results[level] = {}
            continue
        say(f"ranking {n:,} {level}s")
        if group is None:
            adjacency: Any = np.column_stack([p_src, p_dst])
            target_of = ext_dst
        else:
            adjacency = group_graph(all_src, all_dst, group, n_groups=n)
            target_of = group[ext_dst]
        results[level] = score_level(
            adjacency,
            n,
            target_of=target_of,
            source_domain=source_domain,
            alpha=alpha,
            seeds=None if seeds is None else seeds[level],
            harmonic=group is not None,
        )
    return LevelRanking(results, len(p_src))
