"""A target's neighbourhood at domain level: who links to it, and who links to them.

Bounded so it stays readable: the ``first`` strongest referring domains of the target
(by authority, as ``referring-domains`` lists them) and, for each, the ``second``
strongest of its own referring domains. Drawn radially: the target in the middle, its
referring domains on the inner ring, theirs on the outer ring within their parent's
sector; a circle's area grows with the domain's authority; an edge is a link between
two domains shown (from the link's source). Each domain's referring domains come from
the same command as everywhere (``linkgraph referring-domains DOMAIN``).
"""

from __future__ import annotations

import math
from typing import Any

from .runner import Command, run_json

__all__ = ["neighbourhood", "spec"]


def _referrers(store: Any, domain: str, limit: int) -> list[dict[str, Any]]:
    rows = run_json(store, Command("referring-domains", ["--mode", "domain"], [domain]), limit=None)
    rows.sort(key=lambda r: (-(r["authority"] or 0.0), r["domain"]))
    return rows[:limit]


def neighbourhood(store: Any, domain: str, *, first: int = 12, second: int = 5) -> dict[str, Any]:
    """Nodes (``name``, ``ring``, ``authority``, ``x``, ``y``) and edges (source → target
    names) of ``domain``'s neighbourhood: at most ``1 + first + first * second`` nodes."""
    inner = _referrers(store, domain, first)
    nodes: dict[str, dict[str, Any]] = {domain: {"name": domain, "ring": 0, "authority": None}}
    edges: set[tuple[str, str]] = set()
    outer: list[tuple[int, list[dict[str, Any]]]] = []
    for r in inner:
        nodes[r["domain"]] = {"name": r["domain"], "ring": 1, "authority": r["authority"]}
        edges.add((r["domain"], domain))
    for i, r in enumerate(inner):
        theirs = [s for s in _referrers(store, r["domain"], second + 1) if s["domain"] != domain]
        outer.append((i, theirs[:second]))
        for s in theirs[:second]:
            edges.add((s["domain"], r["domain"]))
    # Positions: the inner ring evenly; each inner node's referrers spread over its sector.
    sector = 2 * math.pi / max(len(inner), 1)
    for i, r in enumerate(inner):
        nodes[r["domain"]].update(x=math.cos(i * sector), y=math.sin(i * sector))
    for i, theirs in outer:
        new = [s for s in theirs if s["domain"] not in nodes]
        for j, s in enumerate(new):
            angle = i * sector + sector * ((j + 1) / (len(new) + 1) - 0.5)
            nodes[s["domain"]] = {
                "name": s["domain"],
                "ring": 2,
                "authority": s["authority"],
                "x": 2 * math.cos(angle),
                "y": 2 * math.sin(angle),
            }
    nodes[domain].update(x=0.0, y=0.0)
    return {"nodes": list(nodes.values()), "edges": sorted(edges)}


_RING = ["target", "links to it", "links to those"]


def spec(graph: dict[str, Any], title: str) -> dict[str, Any]:
    """The Vega-Lite drawing of :func:`neighbourhood`'s graph."""
    where = {n["name"]: n for n in graph["nodes"]}
    edges = [
        {"x": where[a]["x"], "y": where[a]["y"], "x2": where[b]["x"], "y2": where[b]["y"]}
        for a, b in graph["edges"]
    ]
    nodes = [
        {
            "name": n["name"],
            "x": n["x"],
            "y": n["y"],
            "ring": _RING[n["ring"]],
            "authority": 100.0 if n["ring"] == 0 else (n["authority"] or 0.0),
            "label": n["name"] if n["ring"] < 2 else "",
        }
        for n in graph["nodes"]
    ]
    reach = 2.45 if any(n["ring"] == 2 for n in graph["nodes"]) else 1.35
    axis = {"axis": None, "scale": {"domain": [-reach, reach]}}
    return {
        "title": title,
        "width": 720,
        "height": 720,
        "layer": [
            {
                "data": {"values": edges},
                "mark": {"type": "rule", "color": "#9aa5bd", "opacity": 0.55},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative", **axis},
                    "y": {"field": "y", "type": "quantitative", **axis},
                    "x2": {"field": "x2"},
                    "y2": {"field": "y2"},
                },
            },
            {
                "data": {"values": nodes},
                "layer": [
                    {
                        "mark": {"type": "circle", "opacity": 0.9, "stroke": "#fff"},
                        "encoding": {
                            "x": {"field": "x", "type": "quantitative", **axis},
                            "y": {"field": "y", "type": "quantitative", **axis},
                            "size": {
                                "field": "authority",
                                "type": "quantitative",
                                "scale": {"domain": [0, 100], "range": [40, 900]},
                                "title": "authority",
                            },
                            "color": {
                                "field": "ring",
                                "type": "nominal",
                                "scale": {
                                    "domain": _RING,
                                    "range": ["#151c2f", "#2f5bea", "#8fb0ff"],
                                },
                                "title": None,
                            },
                        },
                    },
                    {
                        "mark": {"type": "text", "dy": -14, "fontSize": 11, "color": "#1b2233"},
                        "encoding": {
                            "x": {"field": "x", "type": "quantitative", **axis},
                            "y": {"field": "y", "type": "quantitative", **axis},
                            "text": {"field": "label"},
                        },
                    },
                ],
            },
        ],
    }
