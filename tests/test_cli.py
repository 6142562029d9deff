"""The ``linkgraph`` command: help, usage errors, refusing foreign files, stats and export
of a crawled store, and ``linkgraph demo`` end to end.

Commands run in-process through :func:`linkgraph.cli.main` where that is enough, and as a
child process where the process itself is under test (exit status, the demo).
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import hashlib
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cli_support import run
from crawl_support import child, crawl, page_hits, stored_pages
from linkgraph.storage import schema
from linkgraph.storage.queries import EXPORT_FIELDS
from linkgraph.storage.records import KINDS, PLACEMENTS, Page
from linkgraph.storage.writer import StoreWriter

from linkgraph import api
from linkgraph.cli import build_parser
from linkgraph.cli.common import describe
from linkgraph.demo import DemoWeb, demo_size, expected_edges, generate

pytestmark = pytest.mark.timeout(90)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def subcommands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return list(sub.choices)  # type: ignore[attr-defined]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- help and usage errors ---------------------------------------------------------------------


def test_help_of_every_command_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Example:" in out
    for name in subcommands():
        code, out, _ = run(capsys, name, "--help")
        assert code == 0, name
        assert "Example:" in out and f"linkgraph {name}" in out, name


def test_a_command_is_named_and_described_by_its_function() -> None:
    def cmd_some_report(args: object) -> int:
        """Counts some things,
        over two lines.

        Example:
          linkgraph some-report --db links.db
          linkgraph some-report --db links.db   # aligned comment
        """
        return 0

    assert describe(cmd_some_report) == (
        "some-report",
        "Counts some things, over two lines.",
        "Example:\n  linkgraph some-report --db links.db\n"
        "  linkgraph some-report --db links.db   # aligned comment",
    )


def test_a_command_without_an_example_is_refused() -> None:
    def cmd_bare(args: object) -> int:
        """Does something, but shows no one how."""
        return 0

    with pytest.raises(TypeError, match="cmd_bare's docstring has no Example"):
        describe(cmd_bare)


@pytest.mark.parametrize(
    "argv",
    [
        # Bad values of setting flags are settings errors (exit 1): tests/test_settings.py
        ["crawl", "http://a.test/", "--db", "x.db", "--no-such-flag"],
        ["stats"],
        ["export", "--db", "x.db", "--format", "xml"],
        ["no-such-command"],
    ],
)
def test_bad_flags_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0]
    assert errors[0].startswith("linkgraph")
    assert out == "" and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing created


# -- files that are not ours --------------------------------------------------------------------


def foreign_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers(name) VALUES ('Ada')")
    conn.commit()
    conn.close()
    return path


def text_file(path: Path) -> Path:
    path.write_text("these are my notes, not a database\n" * 10)
    return path


def newer_store(path: Path) -> Path:
    schema.connect(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (foreign_sqlite, "another program"),
        (text_file, "not a SQLite database"),
        (newer_store, "newer"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["crawl", "http://a.test/"],
        ["crawl"],
        ["stats"],
        ["stats", "--format", "json"],
        ["export"],
        ["export", "--format", "csv", "--output", "out.csv"],
    ],
)
def test_a_file_that_is_not_our_store_is_refused_and_untouched(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: object,
    says: str,
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = make(tmp_path / "data.db")  # type: ignore[operator]
    before = (sha256(path), sorted(p.name for p in tmp_path.iterdir()))
    code, out, err = run(capsys, *command, "--db", str(path))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("linkgraph: error:"), err
    assert says in err and "Traceback" not in err
    assert out == ""
    assert (sha256(path), sorted(p.name for p in tmp_path.iterdir())) == before


@pytest.mark.parametrize("seed", ["htp:/broken", "example.com", "mailto:someone@example.com"])
def test_a_malformed_seed_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, seed: str
) -> None:
    db = tmp_path / "links.db"
    code, _, err = run(capsys, "crawl", seed, "--db", str(db))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("linkgraph: error:") and seed in err
    assert not db.exists()


# -- a crawled store: stats and export ------------------------------------------------------------


@dataclass
class Crawled:
    web: DemoWeb
    db: Path
    requested: set[str]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """The demo web with its traps, crawled once: redirects, nofollow, images, robots."""
    tmp = tmp_path_factory.mktemp("crawled")
    with DemoWeb(generate(14, 6, seed=3)) as web:
        _, db = asyncio.run(crawl(web, tmp, max_depth=3, max_crawl_delay=1.0))
        # www.delta.test's robots.txt redirects to /robots-real.txt: not a page either.
        hits = [h for h in page_hits(web) if h.path != "/robots-real.txt"]
        requested = {web.url(h.site, h.path) for h in hits}
        yield Crawled(web, db, requested)


def truth_of(crawled: Crawled) -> set[tuple]:
    """The demo web's own record of the links of every declared page the crawl fetched.

    Keyed as the store keys a link: (source, target, anchor, placement, kind, rel, image).
    Pages made up on the fly by a site's fallback (the calendar) have no ground truth.
    """
    fetched = {u for u, p in stored_pages(crawled.db).items() if p.status is not None}
    return {
        (s, ln.target, ln.anchor, ln.placement, ln.kind, tuple(ln.rel), ln.image)
        for s, ln in crawled.web.expected_edges()
        if s in fetched and not (ln.kind == "canonical" and ln.target == s)
    }


def declared(crawled: Crawled) -> set[str]:
    return {crawled.web.url(s.name, p) for s in crawled.web.sites for p in s.pages}


def record_key(record: dict, rel: tuple[str, ...], image: bool) -> tuple:
    fields = ("source", "target", "anchor", "placement", "kind")
    return (*(record[f] for f in fields), rel, image)


def check_against_truth(crawled: Crawled, exported: list[tuple]) -> None:
    """``exported``: (source, target, anchor, placement, kind, rel, image) per record."""
    sources = declared(crawled)
    records = [r for r in exported if r[0] in sources]
    truth = truth_of(crawled)
    assert len(records) == len(set(records))  # one record per link
    assert set(records) == truth


def test_stats_json(capsys: pytest.CaptureFixture[str], crawled: Crawled) -> None:
    code, out, err = run(capsys, "stats", "--db", str(crawled.db), "--format", "json")
    assert code == 0, err
    stats = json.loads(out)
    pages, links = stats["pages"], stats["links"]
    # Each URL requested is one fetched page, however many tries it took (429, 503).
    assert pages["fetched"] == len(crawled.requested)
    with sqlite3.connect(crawled.db) as conn:  # counted here straight from the tables
        total, redirects = conn.execute("SELECT count(*), sum(kind = 1) FROM links").fetchone()
    assert (links["total"], links["redirect"]) == (total, redirects)
    truth = truth_of(crawled)
    assert links["redirect"] == sum(key[4] == "redirect" for key in truth)
    assert links["follow"] + links["nofollow"] == links["link"]

    # The URLs robots.txt keeps out, by the demo sites' robots.txt files, read by hand:
    # /private/ on every site that has a robots.txt (www.bravo.test's answers 404: all
    # allowed; shop.alpha.test allows /private/press/), /members/ on
    # blog.alpha.test (its linkgraph group), /secret/ on www.delta.test (behind its
    # robots.txt redirect), and /*.pdf$ and /search? on shop.alpha.test. Each one a page
    # the crawl fetched links to (the ground truth) is skipped, no more.
    def kept_out(target: str) -> bool:
        parts = urlsplit(target)
        if parts.port != crawled.web.port:
            return False  # not a demo site
        host, path = parts.hostname, parts.path + (f"?{parts.query}" if parts.query else "")
        if path.startswith("/private/") and host != "www.bravo.test":
            return not (host == "shop.alpha.test" and path.startswith("/private/press/"))
        return (
            (host == "blog.alpha.test" and path.startswith("/members/"))
            or (host == "www.delta.test" and path.startswith("/secret/"))
            or (
                host == "shop.alpha.test" and (path.endswith(".pdf") or path.startswith("/search?"))
            )
        )

    skipped = {u: p.error for u, p in stored_pages(crawled.db).items() if p.status is None}
    robots = {key[1] for key in truth if key[4] == "link" and kept_out(key[1])}
    assert {u for u, e in skipped.items() if e == "robots"} == robots
    assert pages["not_fetched"]["robots"] == len(robots)
    # robots.txt answers 500 on www.charlie.test; old.alpha.test refuses connections.
    unavailable = {crawled.web.url("www.charlie.test"), crawled.web.url("old.alpha.test")}
    assert {u for u, e in skipped.items() if e == "robots-unavailable"} == unavailable
    assert pages["not_fetched"]["robots-unavailable"] == 2
    notes = {n["host"] for n in stats["host_notes"]}
    assert {"www.charlie.test", "old.alpha.test", "www.echo.test", "www.foxtrot.test"} <= notes
    assert stats["frontier"] == 0


def test_stats_table(capsys: pytest.CaptureFixture[str], crawled: Crawled) -> None:
    code, out, _ = run(capsys, "stats", "--db", str(crawled.db))
    assert code == 0 and "pages fetched" in out and "links" in out


def test_export_jsonl_matches_the_ground_truth(
    capsys: pytest.CaptureFixture[str], crawled: Crawled
) -> None:
    code, out, _ = run(capsys, "export", "--db", str(crawled.db))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    for r in records:
        assert tuple(r) == EXPORT_FIELDS
        assert isinstance(r["rel"], list) and isinstance(r["follow"], bool)
        assert isinstance(r["image"], bool)
        assert r["placement"] in PLACEMENTS and r["kind"] in KINDS
        assert ISO_UTC.match(r["first_seen"]) and ISO_UTC.match(r["last_seen"])
        assert r["follow"] == (
            r["kind"] != "link" or not {"nofollow", "sponsored", "ugc"} & set(r["rel"])
        )
    check_against_truth(crawled, [record_key(r, tuple(r["rel"]), r["image"]) for r in records])
    now = time.time()
    seen = {calendar.timegm(time.strptime(r["first_seen"], "%Y-%m-%dT%H:%M:%SZ")) for r in records}
    assert all(abs(s - now) < 3600 for s in seen)  # UTC, and from this crawl


def test_export_csv_to_a_file(
    capsys: pytest.CaptureFixture[str], crawled: Crawled, tmp_path: Path
) -> None:
    target = tmp_path / "links.csv"
    code, out, err = run(
        capsys, "export", "--db", str(crawled.db), "--format", "csv", "--output", str(target)
    )
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert f"wrote {len(rows):,} links to {target}" in err
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert {r["follow"] for r in rows} == {"true", "false"}
    assert {r["image"] for r in rows} == {"true", "false"}
    check_against_truth(
        crawled,
        [
            record_key(r, tuple(r["rel"].split("; ") if r["rel"] else ()), r["image"] == "true")
            for r in rows
        ],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.csv"]  # no partial file left


def test_export_to_dash_writes_standard_output(
    capsys: pytest.CaptureFixture[str],
    crawled: Crawled,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        capsys, "export", "--db", str(crawled.db), "--format", "csv", "--output", "-"
    )
    assert code == 0
    assert out.splitlines()[0] == ",".join(EXPORT_FIELDS)
    assert not (tmp_path / "-").exists()


# -- linkgraph demo -------------------------------------------------------------------------------


def test_demo_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    args = ["demo", "--db", str(db), "--sites", "28", "--pages", "6", "--quiet"]
    with child(args) as process:
        out, err = process.communicate(timeout=80)
    assert process.returncode == 0, err
    assert re.search(r"crawled \d+ pages on \d+ hosts", out), out
    assert "Traceback" not in err
    # The store holds, for every declared page the demo fetched, exactly the links the
    # demo web's ground truth gives that page: the web is the one generate() makes.
    pages = stored_pages(db)
    port = urlsplit(next(iter(pages))).port
    sites = generate(demo_size(28, 6), 6)
    declared = {f"http://{site.name}:{port}{path}" for site in sites for path in site.pages}
    fetched = {u for u, p in pages.items() if p.status is not None}
    truth = {
        (s, ln.target, ln.anchor, ln.placement, ln.kind, ln.rel, ln.image)
        for s, ln in expected_edges(sites, port)
        if s in fetched and not (ln.kind == "canonical" and ln.target == s)
    }
    records = [record_key(r, tuple(r["rel"]), r["image"]) for r in api.iter_links(db)]
    assert {r for r in records if r[0] in declared} == truth
    assert len(records) == len(set(records))
    # Besides declared pages, only the calendar trap's made-up days and broken links' 404s.
    for url in fetched - declared:
        assert "/calendar/" in url or pages[url].status == 404, url
    # stats counts what the store holds, and the redirects and not-followed links are the
    # ground truth's (the calendar's days carry neither).
    stats = api.stats(db)
    assert stats["pages"]["fetched"] == len(fetched)
    assert stats["links"]["total"] == len(records)
    assert stats["links"]["redirect"] == sum(t[4] == "redirect" for t in truth) > 0
    not_followed = {"nofollow", "sponsored", "ugc"}
    assert (
        stats["links"]["nofollow"]
        == sum(t[4] == "link" and bool(not_followed & set(t[5])) for t in truth)
        > 0
    )
    # Run again over its own store: a demo store is replaced.
    with child(args) as process:
        _, err = process.communicate(timeout=80)
    assert process.returncode == 0, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--sites", "1", "--pages", "1"], "at least 28 sites"),
        (["--sites", "27"], "at least 28 sites"),
        (["--pages", "5"], "at least 6 pages"),
    ],
)
def test_demo_refuses_a_web_smaller_than_it_can_build(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], says: str
) -> None:
    db = tmp_path / "demo.db"
    code, out, err = run(capsys, "demo", "--db", str(db), "--quiet", *argv)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("linkgraph: error:") and says in err
    assert list(tmp_path.iterdir()) == []


def test_demo_sites_is_the_number_of_sites_served() -> None:
    from linkgraph.demo import demo_size, describe, generate

    for sites in (28, 30, 56):
        assert describe(generate(demo_size(sites, 6), 6))["sites"] == sites


def crawl_store(path: Path) -> Path:
    """A store holding a (tiny) crawl of a site that is not the demo's."""

    async def write() -> None:
        async with await StoreWriter.open(path) as writer:
            writer.add_page(Page("https://example.com/", 0, time.time(), status=200))

    asyncio.run(write())
    return path


@pytest.mark.parametrize("make", [crawl_store, foreign_sqlite, text_file])
def test_demo_refuses_to_replace_a_store_that_is_not_a_demo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object
) -> None:
    path = make(tmp_path / "precious.db")  # type: ignore[operator]
    before = sha256(path)
    code, _, err = run(capsys, "demo", "--db", str(path), "--quiet")
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("linkgraph: error:") and "refusing" in err
    assert sha256(path) == before
