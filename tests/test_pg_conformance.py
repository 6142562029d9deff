"""The query side on both backends: the same queries, asked of the audit's crawled demo
store in SQLite and of its PostgreSQL copy, must give equal answers, for every mode and
filter (follow_only, include_internal, include_lost, placement, limit).

Each test is parametrized over the query; ``answers`` asks it of both backends. The
store is the live audit's web after its second generation (``tests/audit_support.py``):
ranked, with lost links, nofollow, images, internal links and link farms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from audit_support import DOMAIN, PROFILE

import linkgraph
from linkgraph.demo import BRAND, TARGET


@pytest.fixture(scope="module")
def pg_copy(pg_server: Any, audit: SimpleNamespace) -> Iterator[str]:
    """The audit's second-generation store, copied into a database of its own."""
    name = pg_server.create_database()
    try:
        url = pg_server.url(name)
        linkgraph.copy(audit.gen2, url)
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, audit: SimpleNamespace) -> str:
    """The store as ``--db`` names it, on each backend."""
    if request.param == "sqlite":
        return str(audit.gen2)
    return request.getfixturevalue("pg_copy")


def answers(audit: SimpleNamespace, pg_copy: str, ask: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``ask`` answered by the SQLite store and by its PostgreSQL copy."""
    return ask(audit.gen2), ask(pg_copy)


def targets(audit: SimpleNamespace) -> dict[str, tuple[str, str | None]]:
    """A target of each mode, as the user writes it, with the mode it is read in."""
    home = f"http://{TARGET}:{audit.port}/"
    return {
        "domain": (DOMAIN, None),
        "host": (TARGET, "host"),
        "exact": (home, None),
        "prefix": (home, "prefix"),
        "farm": ("seo-backlink-farm.test", "domain"),
    }


FILTERS: dict[str, dict[str, Any]] = {
    "default": {},
    "follow_only": {"follow_only": True},
    "include_internal": {"include_internal": True},
    "include_lost": {"include_lost": True},
    "placement": {"placement": "content"},
    "all_filters": {"follow_only": True, "include_internal": True, "include_lost": True},
    "limit_3": {"limit": 3},
    "no_limit": {"limit": None},
}
TARGET_QUERIES = ("backlinks", "referring_domains", "anchors")


@pytest.mark.parametrize("which", ["domain", "host", "exact", "prefix", "farm"])
@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize("query", TARGET_QUERIES)
def test_target_queries_agree(
    audit: SimpleNamespace, pg_copy: str, query: str, filters: dict[str, Any], which: str
) -> None:
    target, mode = targets(audit)[which]
    function = getattr(linkgraph, query)
    on_sqlite, on_pg = answers(
        audit, pg_copy, lambda db: function(db, target, mode=mode, **filters)
    )
    assert on_pg == on_sqlite


@pytest.mark.parametrize("limit", [3, None])
def test_backlinks_newest_first_agree(
    audit: SimpleNamespace, pg_copy: str, limit: int | None
) -> None:
    on_sqlite, on_pg = answers(
        audit, pg_copy, lambda db: linkgraph.backlinks(db, DOMAIN, sort="first_seen", limit=limit)
    )
    assert on_pg == on_sqlite


@pytest.mark.parametrize("level", ["page", "host", "domain"])
@pytest.mark.parametrize("limit", [5, None])
def test_top_agrees(audit: SimpleNamespace, pg_copy: str, level: str, limit: int | None) -> None:
    on_sqlite, on_pg = answers(
        audit, pg_copy, lambda db: linkgraph.top(db, level=level, limit=limit)
    )
    assert on_pg == on_sqlite and len(on_sqlite) > 0


@pytest.mark.parametrize(
    "gap",
    [
        {"min": 1},
        {"min": 2},
        {"min": 1, "include_lost": True},
        {"min": 1, "exclude": "bravo.test"},
        {"min": 1, "limit": 4},
    ],
    ids=["min1", "min2", "include_lost", "exclude", "limit"],
)
def test_intersect_agrees(audit: SimpleNamespace, pg_copy: str, gap: dict[str, Any]) -> None:
    competitors = [DOMAIN, "alpha.test", "golf.test"]
    on_sqlite, on_pg = answers(
        audit, pg_copy, lambda db: linkgraph.intersect(db, competitors, **gap)
    )
    assert on_pg == on_sqlite and len(on_sqlite) > 0


def test_stats_agree(audit: SimpleNamespace, pg_copy: str) -> None:
    on_sqlite, on_pg = answers(audit, pg_copy, linkgraph.stats)
    assert on_pg == on_sqlite
    assert list(on_pg["pages"]["not_fetched"]) == list(on_sqlite["pages"]["not_fetched"])


@pytest.mark.parametrize("include_lost", [False, True])
def test_export_records_agree(audit: SimpleNamespace, pg_copy: str, include_lost: bool) -> None:
    on_sqlite, on_pg = answers(
        audit, pg_copy, lambda db: list(linkgraph.iter_links(db, include_lost=include_lost))
    )
    assert sorted(on_pg, key=repr) == sorted(on_sqlite, key=repr)


def test_queries_read_current_links_unless_asked_on_each_backend(backend: str) -> None:
    current = linkgraph.backlinks(backend, DOMAIN, limit=None)
    everything = linkgraph.backlinks(backend, DOMAIN, limit=None, include_lost=True)
    lost = [r for r in everything if r["lost_at"] is not None]
    assert lost and all(r["lost_reason"] for r in lost)
    assert len(everything) == len(current) + len(lost)


def test_a_bad_target_is_the_same_error_on_each_backend(backend: str) -> None:
    with pytest.raises(linkgraph.LinkgraphError, match="not a host or domain name"):
        linkgraph.backlinks(backend, "a b/c")


def test_backlinks_on_postgresql_from_the_command_line(pg_copy: str, capsys) -> None:
    from cli_support import run

    code, out, err = run(capsys, "backlinks", DOMAIN, "--db", pg_copy, "--format", "json")
    assert (code, err) == (0, "")
    assert out.count('"source"') == len(linkgraph.backlinks(pg_copy, DOMAIN))


# -- the audits and the graph export (AuditReader) --------------------------------------

AUDITS: dict[str, Callable[[Any, SimpleNamespace], Any]] = {
    "anchor_profile": lambda db, a: linkgraph.anchor_profile(db, DOMAIN, profile=PROFILE),
    "anchor_profile_lost": lambda db, a: linkgraph.anchor_profile(
        db, DOMAIN, profile=PROFILE, include_lost=True, include_internal=True
    ),
    "backlink_quality": lambda db, a: linkgraph.backlink_quality(
        db, DOMAIN, profile=PROFILE, limit=None
    ),
    "backlink_quality_lost": lambda db, a: linkgraph.backlink_quality(
        db, DOMAIN, profile=PROFILE, include_lost=True, limit=5
    ),
    "changes": lambda db, a: linkgraph.changes(db, DOMAIN),
    "changes_since_by_week": lambda db, a: linkgraph.changes(
        db, DOMAIN, since=a.between, by="week", include_internal=True
    ),
    "broken": lambda db, a: linkgraph.broken(db),
    "broken_into": lambda db, a: linkgraph.broken(db, DOMAIN),
    "broken_outbound_limit": lambda db, a: linkgraph.broken(db, DOMAIN, outbound=True, limit=2),
    "toxic": lambda db, a: linkgraph.toxic(db, DOMAIN, profile=PROFILE),
    "disavow": lambda db, a: linkgraph.disavow(db, DOMAIN, profile=PROFILE, min_score=30),
}


@pytest.mark.parametrize("audit_name", AUDITS)
def test_audits_agree(audit: SimpleNamespace, pg_copy: str, audit_name: str) -> None:
    on_sqlite, on_pg = answers(audit, pg_copy, lambda db: AUDITS[audit_name](db, audit))
    assert on_pg == on_sqlite
    assert on_sqlite  # the demo web gives every audit something to report


@pytest.mark.parametrize("exclude", [None, DOMAIN])
def test_mentions_find_the_same_pages(
    audit: SimpleNamespace, pg_copy: str, exclude: str | None
) -> None:
    # Ranking (bm25 against ts_rank) and snippets are each engine's own: the pages found,
    # and whether each links to the target, are what must agree.
    on_sqlite, on_pg = answers(
        audit,
        pg_copy,
        lambda db: linkgraph.mentions(db, BRAND, exclude_linking=exclude, limit=None),
    )
    assert on_sqlite
    assert sorted((r["url"], r["links_to_target"]) for r in on_pg) == sorted(
        (r["url"], r["links_to_target"]) for r in on_sqlite
    )
    assert all(BRAND.split()[0].lower() in r["snippet"].lower() for r in on_pg)


@pytest.mark.parametrize("level", ["page", "host", "domain"])
def test_graph_export_agrees(audit: SimpleNamespace, pg_copy: str, level: str) -> None:
    import networkx as nx

    on_sqlite, on_pg = answers(audit, pg_copy, lambda db: linkgraph.to_networkx(db, level=level))
    assert on_sqlite.number_of_edges() > 0
    assert nx.utils.graphs_equal(on_pg, on_sqlite)


def test_the_crawl_record_and_seed_outcomes_agree(audit: SimpleNamespace, pg_copy: str) -> None:
    from linkgraph import api

    on_sqlite, on_pg = answers(audit, pg_copy, api.stored_settings)
    assert on_sqlite is not None and on_pg == on_sqlite
    with linkgraph.open_store(audit.gen2) as lite, linkgraph.open_store(pg_copy) as pg:
        record = lite.crawl_record()
        assert record is not None and pg.crawl_record() == record
        urls = [*record["seeds"], "http://never.test/"]
        assert pg.url_outcomes(urls) == lite.url_outcomes(urls)
        assert lite.url_outcomes(urls)  # the seeds were fetched
