"""Ranking over link graphs: pure functions over numpy / scipy.sparse arrays.

Every function takes the graph first, tuning parameters as keywords, and returns
plain arrays; nothing here reads files or databases (loading arrays out of the
store lives in ``storage/``).

- :func:`pagerank`: PageRank, personalized PageRank and TrustRank.
- :func:`pagerank_reference`: the same in plain Python, to test against.
- :func:`harmonic_centrality`: inbound harmonic centrality, exact or sampled.
- :func:`authority_scores`: raw PageRank to the 0-100 authority shown to users.
- :func:`group_graph` and :func:`fold_redirects`: page links to host and domain
  graphs, and redirects that pass authority on.
- The backlink audit's scoring: :func:`classify_anchor` (anchor classes),
  :func:`link_quality`, :func:`cosine_pairs` (TF-IDF relevance), :func:`toxic_score`
  and :func:`mutual_triangles` (link farms).
"""

from __future__ import annotations

from .anchors import AnchorProfile, anchor_shares, classify_anchor, over_optimization
from .authority import authority_scores
from .errors import ConvergenceError, GraphError, GraphInputError
from .harmonic import harmonic_centrality
from .levels import fold_redirects, group_graph
from .pagerank import pagerank
from .quality import link_quality
from .reference import pagerank_reference
from .relevance import cosine_pairs
from .toxic import DomainEvidence, mutual_triangles, toxic_score

__all__ = [
    "AnchorProfile",
    "ConvergenceError",
    "DomainEvidence",
    "GraphError",
    "GraphInputError",
    "anchor_shares",
    "authority_scores",
    "classify_anchor",
    "cosine_pairs",
    "fold_redirects",
    "group_graph",
    "harmonic_centrality",
    "link_quality",
    "mutual_triangles",
    "over_optimization",
    "pagerank",
    "pagerank_reference",
    "toxic_score",
]
