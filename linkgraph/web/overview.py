"""A target's overview: its authority, counts and charts, counted by the store."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from linkgraph.storage.identity import registrable_domain

from .. import api
from ..audit import anchor_profile
from ..audit import changes as audit_changes
from ..errors import LinkgraphError
from . import charts
from .runner import Command, run_json

__all__ = ["Authority", "overview"]

_NAME = {"page": "url", "host": "host", "domain": "domain"}


class Authority:
    """Authority of pages, hosts and domains. A store that looks one up by name
    (``authority_of``, :class:`~storage.interface.PageReader`) is asked each time; from
    another, each level is read once from ``linkgraph top`` (the store is opened
    read-only: scores change only when ``rank`` runs again, and a restart of the server
    picks them up)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._levels: dict[str, dict[str, float | None]] = {}
        self._ranked: bool | None = None

    def of(self, level: str, name: str) -> float | None:
        if hasattr(self.store, "authority_of"):
            return self.store.authority_of(level, name)  # type: ignore[no-any-return]
        if level not in self._levels:
            try:
                rows = run_json(self.store, Command("top", ["--level", level]), limit=None)
            except LinkgraphError:  # no scores yet: `linkgraph rank` has not run
                rows = []
            self._levels[level] = {r[_NAME[level]]: r["authority"] for r in rows}
        return self._levels[level].get(name)

    def ranked(self) -> bool:
        if self._ranked is None:
            try:
                self._ranked = bool(self.store.top(level="domain", limit=1))
            except LinkgraphError:  # no scores yet: `linkgraph rank` has not run
                self._ranked = False
        return self._ranked

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


TOP_DOMAINS = 10


def overview(store: Any, authority: Authority, target: str, mode: str = "") -> dict[str, Any]:
    """Everything the overview page shows about ``target``: from the store's counts
    (:meth:`~storage.interface.PageReader.target_overview`) where it has them, else
    from every record of the commands."""
    counted = _counted if hasattr(store, "target_overview") else _from_records
    numbers, parts, top_domains = counted(store, target, mode)
    profile = anchor_profile(store, target, mode=mode or None)
    effective = mode or ("exact" if "://" in target else "domain")
    specs = {
        "referring-domains": charts.referring_domains_over_time(parts["first_seen"]),
        "changes": charts.changes_by_week(parts["changes"]),
        "anchor-classes": charts.bars(
            {c["class"]: c["backlinks"] for c in profile["classes"]},
            title="Anchor classes",
            label="backlinks",
        ),
        "rel": charts.bars(
            charts.rel_split(parts["rels"]),
            title="Follow, nofollow, sponsored, ugc",
            label="backlinks",
        ),
        "placement": charts.bars(
            dict(parts["placements"]), title="Placement on the linking page", label="backlinks"
        ),
        "authority": charts.authority_histogram(parts["authority"]),
    }
    return {
        "target": target,
        "mode": effective,
        "authority": authority.of_target(target, effective),
        "ranked": authority.ranked(),
        "numbers": numbers,
        "charts": {name: (spec, bool(spec["data"]["values"])) for name, spec in specs.items()},
        "top_domains": top_domains,
        "warnings": profile["warnings"],
    }


Parts = tuple[dict[str, int], dict[str, Any], list[dict[str, Any]]]


def _counted(store: Any, target: str, mode: str) -> Parts:
    """The numbers, the charts' data and the strongest domains from the store's counts."""
    found = store.target_overview(target, mode=mode or None, top=TOP_DOMAINS)
    links, domains = found["links"], found["domains"]
    placements: Counter[str] = Counter()
    for placement, _, _, n in links:
        placements[placement or "unknown"] += n
    numbers = {
        "backlinks": sum(n for *_, n in links),
        "follow_backlinks": sum(n for _, _, follow, n in links if follow),
        "referring_domains": domains["count"],
        "referring_ips": domains["ips"],
        "subnets": domains["subnets"],
    }
    parts = {
        "first_seen": {charts.day_of(d * 86400): n for d, n in domains["first_seen_days"].items()},
        "changes": found["changes"],
        "rels": [(rel, n) for _, rel, _, n in links],
        "placements": placements,
        "authority": {charts.authority_bin(ten): n for ten, n in domains["authority_tens"].items()},
    }
    return numbers, parts, domains["top"]


def _from_records(store: Any, target: str, mode: str) -> Parts:
    """The same from every record of ``referring-domains``, ``backlinks`` and ``changes``
    (a store without counts of its own)."""
    options = {"mode": mode or None, "limit": None}
    domains = api.referring_domains(store, target, **options)  # type: ignore[arg-type]
    links = api.backlinks(store, target, **options)  # type: ignore[arg-type]
    changes = audit_changes(store, target, by="week", mode=mode or None)
    numbers = {
        "backlinks": len(links),
        "follow_backlinks": sum(1 for b in links if b["follow"]),
        "referring_domains": len(domains),
        "referring_ips": len({ip for d in domains for ip in d["ips"]}),
        "subnets": len({net for d in domains for net in d["subnets"]}),
    }
    parts = {
        "first_seen": Counter(
            charts.day_of_iso(d["first_seen"]) for d in domains if d["first_seen"]
        ),
        "changes": charts.change_counts(changes["links"]),
        "rels": [(b["rel"], 1) for b in links],
        "placements": Counter(b["placement"] or "unknown" for b in links),
        "authority": Counter(
            charts.authority_bin(d["authority"]) for d in domains if d["authority"] is not None
        ),
    }
    return numbers, parts, domains[:TOP_DOMAINS]
