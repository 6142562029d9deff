"""A target's overview: its authority, counts and charts, from the CLI's own answers."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from linkgraph.storage.identity import registrable_domain

from ..errors import LinkgraphError
from . import charts
from .runner import Command, run_json

__all__ = ["Authority", "overview"]

_NAME = {"page": "url", "host": "host", "domain": "domain"}


class Authority:
    """Authority of pages, hosts and domains, read once per level from ``linkgraph top``
    (the store is opened read-only: scores change only when ``rank`` runs again, and a
    restart of the server picks them up)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._levels: dict[str, dict[str, float | None]] = {}

    def of(self, level: str, name: str) -> float | None:
        if level not in self._levels:
            try:
                rows = run_json(self.store, Command("top", ["--level", level]), limit=None)
            except LinkgraphError:  # no scores yet: `linkgraph rank` has not run
                rows = []
            self._levels[level] = {r[_NAME[level]]: r["authority"] for r in rows}
        return self._levels[level].get(name)

    def ranked(self) -> bool:
        self.of("domain", "")
        return bool(self._levels["domain"])

    def of_target(self, target: str, mode: str) -> list[tuple[str, str, float | None]]:
        """(level, name, authority) for the target and what contains it."""
        if "://" in target:
            host = (urlsplit(target).hostname or "").lower()
            found = [("page", target, self.of("page", target))]
        else:
            host = target.lower().rstrip(".")
            found = []
        domain = registrable_domain(host) or host
        if mode != "domain" or "://" in target or host != domain:
            found.append(("host", host, self.of("host", host)))
        found.append(("domain", domain, self.of("domain", domain)))
        return found


def overview(store: Any, authority: Authority, target: str, mode: str = "") -> dict[str, Any]:
    """Everything the overview page shows about ``target``."""
    base = ["--mode", mode] if mode else []
    domains = run_json(store, Command("referring-domains", base, [target]), limit=None)
    links = run_json(store, Command("backlinks", base, [target]), limit=None)
    profile = run_json(store, Command("anchors", [*base, "--classify"], [target]))
    changes = run_json(store, Command("changes", [*base, "--by", "week"], [target]))
    effective = mode or ("exact" if "://" in target else "domain")
    ips = {ip for d in domains for ip in d["ips"]}
    subnets = {net for d in domains for net in d["subnets"]}
    placements = Counter(b["placement"] or "unknown" for b in links)
    specs = {
        "referring-domains": charts.referring_domains_over_time(domains),
        "changes": charts.changes_by_week(changes["links"]),
        "anchor-classes": charts.bars(
            {c["class"]: c["backlinks"] for c in profile["classes"]},
            title="Anchor classes",
            label="backlinks",
        ),
        "rel": charts.bars(
            charts.rel_split(links), title="Follow, nofollow, sponsored, ugc", label="backlinks"
        ),
        "placement": charts.bars(
            dict(placements), title="Placement on the linking page", label="backlinks"
        ),
        "authority": charts.authority_histogram(domains),
    }
    return {
        "target": target,
        "mode": effective,
        "authority": authority.of_target(target, effective),
        "ranked": authority.ranked(),
        "numbers": {
            "backlinks": len(links),
            "follow_backlinks": sum(1 for b in links if b["follow"]),
            "referring_domains": len(domains),
            "referring_ips": len(ips),
            "subnets": len(subnets),
        },
        "charts": {name: (spec, bool(spec["data"]["values"])) for name, spec in specs.items()},
        "top_domains": domains[:10],
        "warnings": profile["warnings"],
    }
