"""The backlink audit: anchor profile, link quality, changes, broken links, toxic triage,
disavow, unlinked mentions. Each is one function of the Python API and one command.

Composition only: the store reads rows (:class:`~storage.interface.AuditReader`),
``graph.anchors`` / ``graph.quality`` / ``graph.relevance`` / ``graph.toxic`` score them,
this module joins the two. Every function takes a store's path or a store opened with
:func:`linkgraph.open_store`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Unpack

from linkgraph.crawler.settings import SettingsError, read_toml
from linkgraph.graph.anchors import (
    DEFAULT_GENERIC,
    AnchorProfile,
    anchor_shares,
    classify_anchor,
    over_optimization,
)
from linkgraph.graph.levels import group_graph
from linkgraph.graph.quality import link_quality
from linkgraph.graph.relevance import cosine_pairs
from linkgraph.graph.toxic import (
    domain_evidence,
    domain_graph_signals,
    domain_links,
    is_sitewide,
    toxic_score,
)
from linkgraph.storage.interface import AuditReader, LinkFilter, TargetOptions, split_options
from linkgraph.storage.records import BacklinkDetail, Target

from . import api
from .disavow import DisavowEntry, format_disavow
from .inputs import read_list_file
from .stores import AuditStore, reading, refuse_overwriting_store, shown

__all__ = [
    "AuditProfile",
    "anchor_profile",
    "backlink_quality",
    "broken",
    "changes",
    "disavow",
    "load_profile",
    "mentions",
    "toxic",
]


@dataclass(frozen=True, slots=True)
class AuditProfile:
    """A target's brand names and keywords, and the audit's thresholds."""

    brands: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    generic: frozenset[str] = DEFAULT_GENERIC
    max_exact_share: float = 0.10
    max_money_share: float = 0.30
    sitewide_share: float = 0.5

    @property
    def anchors(self) -> AnchorProfile:
        return AnchorProfile(brands=self.brands, keywords=self.keywords, generic=self.generic)


def read_generic(path: str | os.PathLike[str]) -> frozenset[str]:
    return frozenset(line for _, line in read_list_file(path, "generic anchors file"))


def load_profile(
    path: str | os.PathLike[str] | None = None,
    *,
    brand: Sequence[str] = (),
    keyword: Sequence[str] = (),
    generic_file: str | os.PathLike[str] | None = None,
) -> AuditProfile:
    """A profile from a TOML file (``[profile]`` table), extended by ``brand`` / ``keyword``."""
    values = _read_profile(path) if path is not None else {}
    generic_path = generic_file or values.pop("generic_file", None)
    return AuditProfile(
        brands=tuple(values.get("brands", ())) + tuple(brand),
        keywords=tuple(values.get("keywords", ())) + tuple(keyword),
        generic=read_generic(generic_path) if generic_path else DEFAULT_GENERIC,
        max_exact_share=float(values.get("max_exact_share", 0.10)),
        max_money_share=float(values.get("max_money_share", 0.30)),
        sitewide_share=float(values.get("sitewide_share", 0.5)),
    )


_SHARES = ("max_exact_share", "max_money_share", "sitewide_share")


def _read_profile(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``[profile]`` table of a TOML file, each value checked: a profile is hand-written,
    and a string where a list belongs would otherwise become one brand per letter."""
    table = read_toml(path, "profile").get("profile", {})
    if not isinstance(table, dict):
        raise SettingsError(f"profile {path}: profile must be a table ([profile]), not {table!r}")
    for key, value in table.items():
        if key in ("brands", "keywords"):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            want = "a list of strings"
        elif key == "generic_file":
            ok, want = isinstance(value, str), "a file name"
        elif key in _SHARES:  # nan fails the range test too
            number = isinstance(value, int | float) and not isinstance(value, bool)
            ok, want = number and 0 <= value <= 1, "a number from 0 to 1"
        else:
            raise SettingsError(f"profile {path}: unknown setting {key!r}")
        if not ok:
            raise SettingsError(f"profile {path}: {key} must be {want}, not {value!r}")
    return dict(table)


# -- anchors -------------------------------------------------------------------------------


def anchor_profile(
    db: AuditStore,
    target: str,
    *,
    profile: AuditProfile | None = None,
    mode: str | None = None,
    include_internal: bool = False,
    include_lost: bool = False,
) -> dict[str, Any]:
    """Classify every current backlink's anchor: per-class counts and shares, and warnings
    (``include_lost``: lost backlinks too).

    Returns ``{"classes": [...], "warnings": [...], "over_optimized": bool, "anchors": [...]}``;
    shares are of backlinks (distinct source page → target URL pairs).
    """
    profile = profile or AuditProfile()
    with reading(db) as store:
        rows = store.anchors(
            target,
            LinkFilter(include_internal=include_internal, include_lost=include_lost),
            mode=mode,
            limit=None,
        )
    # One AnchorProfile for every row: each one normalizes the brands, keywords and the
    # generic list (52 phrases) again: over 90% of the CPU of a 751-anchor profile.
    anchors = profile.anchors
    for row in rows:
        row["class"] = classify_anchor(row["anchor"], image=row["image"], profile=anchors)
    weights = [r["backlinks"] for r in rows]
    shares = anchor_shares([r["class"] for r in rows], weights)
    by_class: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_class.setdefault(
            row["class"], {"class": row["class"], "backlinks": 0, "anchors": 0, "examples": []}
        )
        entry["backlinks"] += row["backlinks"]
        entry["anchors"] += 1
        if len(entry["examples"]) < 3 and row["anchor"]:
            entry["examples"].append(row["anchor"])
    classes = [{**by_class[c], "share": round(shares[c], 4)} for c in shares if c in by_class]
    classes.sort(key=lambda r: -r["backlinks"])
    warnings = over_optimization(
        shares, max_exact=profile.max_exact_share, max_money=profile.max_money_share
    )
    return {
        "classes": classes,
        "warnings": warnings,
        "over_optimized": bool(warnings),
        "anchors": rows,
    }


# -- link quality --------------------------------------------------------------------------


def _sitewide_domains(store: AuditReader, details: list[BacklinkDetail], share: float) -> set[int]:
    pages_linking: dict[int, set[int]] = defaultdict(set)
    for d in details:
        pages_linking[d.source_domain_id].add(d.source_id)
    sizes = store.domain_sizes(set(pages_linking))
    return {
        did
        for did, pages in pages_linking.items()
        if is_sitewide(len(pages), sizes.get(did, 0), share)
    }


def _relevance(store: AuditReader, details: list[BacklinkDetail]) -> dict[tuple[int, int], float]:
    ids = {d.source_id for d in details} | {d.target_id for d in details}
    texts = store.page_texts(ids)
    order = sorted(texts)
    index = {url_id: i for i, url_id in enumerate(order)}
    pairs = sorted(
        {
            (d.source_id, d.target_id)
            for d in details
            if d.source_id in index and d.target_id in index
        }
    )
    sims = cosine_pairs([texts[i] for i in order], [(index[s], index[t]) for s, t in pairs])
    return dict(zip(pairs, (float(x) for x in sims), strict=True))


def backlink_quality(
    db: AuditStore,
    target: str,
    *,
    profile: AuditProfile | None = None,
    **options: Unpack[TargetOptions],
) -> list[dict[str, Any]]:
    """Every current link into the target with its quality score and the parts behind it,
    best first (``include_lost``: lost links too, with ``lost_at`` and ``lost_reason``).

    ``options`` are those of :func:`linkgraph.backlinks` (``mode``, ``limit``, the link
    filters)."""
    profile = profile or AuditProfile()
    mode, limit, where = split_options(options, "backlink_quality")
    with reading(db) as store:
        t = store.resolve_target(target, mode)
        details = store.backlink_details(t, where)
        sitewide = _sitewide_domains(store, details, profile.sitewide_share)
        relevance = _relevance(store, details)
    records = []
    for d in details:
        rel = relevance.get((d.source_id, d.target_id))
        q = link_quality(
            domain_authority=d.source_domain_authority,
            follow=d.follow,
            placement=d.placement,
            relevance=rel,
            outlinks=d.source_outlinks,
            sitewide=d.source_domain_id in sitewide,
        )
        records.append(
            {
                "source": d.source,
                "target": d.target,
                "anchor": d.anchor,
                "rel": d.rel,
                "follow": d.follow,
                "placement": d.placement,
                "image": d.image,
                "first_seen": d.first_seen,
                "last_seen": d.last_seen,
                "source_authority": d.source_authority,
                "source_domain_authority": d.source_domain_authority,
                "source_outlinks": d.source_outlinks,
                "sitewide": d.source_domain_id in sitewide,
                "relevance": None if rel is None else round(rel, 3),
                "quality": q.score,
                "quality_parts": q.parts,
            }
            | ({"lost_at": d.lost_at, "lost_reason": d.lost_reason} if where.include_lost else {})
        )
    records.sort(key=lambda r: (-r["quality"], r["source"]))
    return records[:limit] if limit is not None else records


# -- changes and broken links ---------------------------------------------------------------


def changes(
    db: AuditStore,
    target: str,
    *,
    since: str | None = None,
    by: str = "day",
    mode: str | None = None,
    include_internal: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """New and lost backlinks (with the reason) and referring domains, and link velocity."""
    return _ask(
        db,
        target,
        mode,
        lambda store, t: store.changes(t, since=since, by=by, include_internal=include_internal),
    )


def _ask(
    db: AuditStore,
    target: str | None,
    mode: str | None,
    query: Callable[[AuditReader, Target | None], Any],
) -> Any:
    """``query(store, resolved target)`` on the store ``db`` names (no target: ``None``);
    the ``ValueError`` storage raises for a bad argument becomes a one-line settings error."""
    with reading(db) as store:
        t = store.resolve_target(target, mode) if target is not None else None
        try:
            return query(store, t)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None


def broken(
    db: AuditStore,
    target: str | None = None,
    *,
    mode: str | None = None,
    outbound: bool = False,
    check_external: bool = False,
    limit: int | None = None,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Links whose target answered 4xx/5xx or could not be reached.

    ``check_external`` first checks every link target the crawl did not fetch (HEAD, GET
    where HEAD is refused) under the crawl's own politeness settings; since that writes to
    the store, ``db`` must then be its path or PostgreSQL URL (there, the check leases
    hosts as a crawl worker does).
    """
    if check_external:
        if not isinstance(db, str | os.PathLike):
            # The check crawls, and so writes: an open store is only read through.
            raise SettingsError(
                "check_external writes to the store: give its path, not an open store"
            )
        settings = api.stored_settings(db)
        if settings is None:
            raise SettingsError(f"{shown(db)} holds no crawl whose settings the check could reuse")
        if settings.hosts_file and not os.path.exists(settings.hosts_file):
            hint = (
                "the demo web is gone once `linkgraph demo` ends: run"
                " `linkgraph demo --check-external` instead"
                if "linkgraph-demo-" in settings.hosts_file
                else "put it back, then run the check again"
            )
            raise SettingsError(
                f"the hosts file of {shown(db)}'s crawl, {settings.hosts_file}, no longer exists;"
                f" {hint}"
            )
        api.run(api.crawl_async(db, settings, progress=progress, check=True))
    return _ask(
        db,
        target or None,
        mode,
        lambda store, t: store.broken_links(t, outbound=outbound, limit=limit),
    )


# -- toxic links and disavow ----------------------------------------------------------------


def toxic(
    db: AuditStore,
    target: str,
    *,
    profile: AuditProfile | None = None,
    min_score: int = 0,
    mode: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Per referring domain with a current link: a 0-100 toxicity score for triage, with
    its reasons. Lost links are history, not a risk: they are left out, here and in the
    domain graph the link-farm signal reads."""
    profile = profile or AuditProfile()
    with reading(db) as store:
        t = store.resolve_target(target, mode)
        details = store.backlink_details(t, LinkFilter())
        by_domain = domain_links(
            details, anchors=profile.anchors, relevance=_relevance(store, details)
        )
        sizes = store.domain_sizes(set(by_domain))
        reciprocal = store.target_domain_links_to(t, set(by_domain))
        authority = store.domain_authority()
        g = store.link_graph()
    # The domain graph, all links (a farm interlinks whether or not it says nofollow).
    adjacency = group_graph(g.src, g.dst, g.url_domain, n_groups=max(g.n_domains, 1))
    triangles, inbound = domain_graph_signals(adjacency)
    records = []
    for did, links in by_domain.items():
        evidence = domain_evidence(
            links,
            domain_pages=sizes.get(did, 0),
            triangles=int(triangles[did - 1]),
            inbound_domains=int(inbound[did - 1]),
            reciprocal=did in reciprocal,
            authority=authority.get(did - 1),
            sitewide_share=profile.sitewide_share,
        )
        score = toxic_score(evidence)
        if score.score < min_score:
            continue
        records.append(
            {
                "domain": score.domain,
                "score": score.score,
                "reasons": score.reasons,
                "signals": score.signals,
                "backlinks": evidence.backlinks,
                "authority": evidence.authority,
                "link_pages": sorted(links.link_pages),
            }
        )
    records.sort(key=lambda r: (-r["score"], r["domain"]))
    return records[:limit] if limit is not None else records


def disavow(
    db: AuditStore,
    target: str,
    *,
    min_score: int = 50,
    profile: AuditProfile | None = None,
    mode: str | None = None,
    output: str | os.PathLike[str] | IO[str] | None = None,
    domains: Collection[str] | None = None,
) -> str:
    """Google's disavow file for the referring domains scoring at least ``min_score``.

    Domains at or above the score become ``domain:`` lines; on domains below it, pages
    with hundreds of outbound links (link pages) that scored at least half of it become
    URL lines. Returns the text; writes it to ``output`` when given (a path or a file).

    ``domains``, when given, are a reviewer's choice of the domains to disavow whole, in
    place of those scoring ``min_score`` or more (the web UI's ticks); a domain scoring that
    much that the reviewer left out gets no line at all.
    """
    scored = toxic(db, target, profile=profile, mode=mode)
    entries = []
    for r in scored:
        reason = "; ".join(r["reasons"])
        whole = r["score"] >= min_score if domains is None else r["domain"] in domains
        if whole:
            entries.append(DisavowEntry("domain", r["domain"], r["score"], reason))
        elif r["link_pages"] and min_score / 2 <= r["score"] < min_score:
            for url in r["link_pages"]:
                entries.append(
                    DisavowEntry("url", url, r["score"], f"link page on {r['domain']}: {reason}")
                )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    header = [
        f"disavow file for {target}, written by linkgraph on {stamp}",
        f"domains scoring {min_score}+ in `linkgraph toxic`; review before uploading to Search Console"
        if domains is None
        else f"domains chosen in a review of `linkgraph toxic` (scores shown); link pages of domains scoring {min_score / 2:g}-{min_score - 1}",
    ]
    text = format_disavow(entries, header=header)
    if output is not None:
        if hasattr(output, "write"):
            output.write(text)  # type: ignore[union-attr]
        else:
            refuse_overwriting_store(output)
            Path(output).write_text(text, encoding="utf-8")  # type: ignore[arg-type]
    return text


# -- mentions ---------------------------------------------------------------------------------


def mentions(
    db: AuditStore,
    phrase: str,
    *,
    exclude_linking: str | None = None,
    mode: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Pages that mention ``phrase`` in their visible text; with ``exclude_linking`` only
    those that do not link to that target (unlinked mentions: outreach material)."""
    return _ask(
        db,
        exclude_linking or None,
        mode,
        lambda store, t: store.mentions(phrase, exclude_linking=t, limit=limit),
    )
