"""networkx interop and graph exports (GraphML, GEXF, edge lists) for Gephi and friends.

``to_networkx(db, level=...)`` (``db``: a store's path or an open store) builds a
``networkx.DiGraph`` whose nodes are URLs, hosts or registrable domains (named by their
text) with the stored scores as attributes, and whose edges carry ``links`` (the current
backlinks, distinct source page -> target URL pairs, behind the edge) and ``follow_links``
(those of them that are follow). At page level an edge is a backlink pair plus redirects
(``kind`` = ``link`` or ``redirect``).
"""

from __future__ import annotations

from typing import IO, Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from linkgraph.crawler.settings import SettingsError
from linkgraph.graph.levels import group_graph
from linkgraph.storage.interface import GraphArrays
from linkgraph.storage.vocab import LEVELS

from .stores import AuditStore, reading

__all__ = ["LEVELS", "export_graph", "to_networkx"]


def _level_edges(
    g: GraphArrays, level: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(source, target, links, follow_links, is_redirect) per edge of the level, sorted
    by source then target."""
    src = np.concatenate([g.src, g.redirect_src]).astype(np.int64)
    dst = np.concatenate([g.dst, g.redirect_dst]).astype(np.int64)
    follow = np.concatenate([g.follow, np.ones(len(g.redirect_src), dtype=bool)])
    if level == "page":
        n = g.n_urls

        # A page's link to itself is an edge of the page graph (group_graph drops links
        # inside a group), so pages are counted directly, the way group_graph counts.
        def count(s: np.ndarray, d: np.ndarray) -> sp.csr_array:
            m = sp.csr_array((np.ones(len(s), dtype=np.int64), (s, d)), shape=(n, n))
            m.sum_duplicates()
            return m

    else:
        group = g.url_host if level == "host" else g.url_domain
        n = g.n_hosts if level == "host" else g.n_domains

        def count(s: np.ndarray, d: np.ndarray) -> sp.csr_array:
            return group_graph(s, d, group, n_groups=n)

    links = count(src, dst).tocoo()
    rows, cols = links.coords
    edge_keys = (rows.astype(np.int64) << 32) | cols

    def at_edges(m: sp.csr_array) -> np.ndarray:
        # m's pairs are a subset of the edges, both sorted by (row, col): a binary search
        # places each count.
        sub = m.tocoo()
        sub_rows, sub_cols = sub.coords
        values = np.zeros(len(edge_keys), dtype=np.int64)
        values[np.searchsorted(edge_keys, (sub_rows.astype(np.int64) << 32) | sub_cols)] = sub.data
        return values

    follow_links = at_edges(count(src[follow], dst[follow]))
    any_redirect = at_edges(count(g.redirect_src, g.redirect_dst)) > 0
    return (
        rows.astype(np.int64),
        cols.astype(np.int64),
        links.data.astype(np.int64),
        follow_links,
        any_redirect,
    )


def _level(db: AuditStore, level: str) -> tuple[Any, ...]:
    """The level's edges (source, target, links, follow_links, redirect) and node names."""
    if level not in LEVELS:
        raise SettingsError(f"unknown level {level!r}: use page, host or domain")
    with reading(db) as store:
        g = store.link_graph()
        src, dst, links, follow_links, redirect = _level_edges(g, level)
        names = store.node_names(level, np.concatenate([src, dst]))
        scores = store.node_scores(level)
    return src, dst, links, follow_links, redirect, names, scores


def to_networkx(db: AuditStore, *, level: str = "domain") -> nx.DiGraph:
    """The link graph of a store at one level, as a ``networkx.DiGraph``.

    Node attributes: ``authority``, ``pagerank``, ``backlinks``, ``referring_domains``
    (after ``linkgraph rank``). Edge attributes: ``links``, ``follow_links``, and at page
    level ``kind``.
    """
    src, dst, links, follow_links, redirect, names, scores = _level(db, level)
    graph = nx.DiGraph(level=level)
    for node_id, name in names.items():
        graph.add_node(name, **scores.get(node_id, {}))
    for s, t, n_links, n_follow, is_redirect in zip(
        src.tolist(),
        dst.tolist(),
        links.tolist(),
        follow_links.tolist(),
        redirect.tolist(),
        strict=True,
    ):
        attrs: dict[str, Any] = {"links": n_links, "follow_links": n_follow}
        if level == "page":
            attrs["kind"] = "redirect" if is_redirect else "link"
        graph.add_edge(names[s], names[t], **attrs)
    return graph


def export_graph(db: AuditStore, stream: IO[Any], *, format: str, level: str) -> int:
    """Write the level's graph as GraphML, GEXF or a tab-separated edge list; returns edges.

    The edge list is one line per edge, ``source``, ``target``, ``links``,
    ``follow_links``, and no header, so that every line is an edge: networkx reads it
    back with ``nx.read_edgelist(path, delimiter="\\t", create_using=nx.DiGraph,
    data=[("links", int), ("follow_links", int)])``. Node names (URLs, host and domain
    names) hold neither tabs nor newlines, nor ``#`` (fragments are not stored).
    """
    if format == "edgelist":
        src, dst, links, follow_links, _, names, _ = _level(db, level)
        for s, t, n_links, n_follow in zip(
            src.tolist(), dst.tolist(), links.tolist(), follow_links.tolist(), strict=True
        ):
            stream.write(f"{names[s]}\t{names[t]}\t{n_links}\t{n_follow}\n")
        return len(src)
    graph = to_networkx(db, level=level)
    if format == "graphml":
        nx.write_graphml(graph, stream)
    elif format == "gexf":
        nx.write_gexf(graph, stream)
    else:
        raise SettingsError(f"unknown graph format {format!r}: use graphml, gexf or edgelist")
    return graph.number_of_edges()
