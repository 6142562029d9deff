"""Output: crawled text never acts on a terminal or a spreadsheet; one CSV form for every
command; the edge list reads back; ``backlinks`` shows the linking domain's authority.

Hostile text goes through :func:`linkgraph.output.emit` directly and through the real
command on a small hand-built store whose anchors, titles and host notes carry it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pytest
from cli_support import run
from crawl_support import answered
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph.cli import _print_crawl_summary
from linkgraph.output import SafeFormatter, emit, emit_json

pytestmark = pytest.mark.timeout(60)

CLEAR = "\x1b[2J\x1b[H"
OSC8 = "\x1b]8;;http://evil.test/\x1b\\click\x1b]8;;\x1b\\"
MARKUP = "[bold red]x[/]"
BIDI = "\u202egnp.exe"
CSI_C1 = "\x9b31mred"
# What each shows instead, character for character.
VISIBLE = {
    CLEAR: r"\x1b[2J\x1b[H",
    OSC8: r"\x1b]8;;http://evil.test/\x1b\click\x1b]8;;\x1b" + "\\",
    MARKUP: "[bold red]x[/]",
    BIDI: r"\u202egnp.exe",
    CSI_C1: r"\x9b31mred",
}
# Anything that acts on a terminal: C0 but newline, DEL, C1, bidi formatting characters.
ACTIVE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def assert_inert(text: str) -> None:
    found = ACTIVE.search(text)
    assert found is None, f"raw {found.group()!r} in output"


# -- emit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", list(VISIBLE))
def test_a_table_shows_control_characters_and_markup_as_visible_text(hostile: str) -> None:
    stream = io.StringIO()
    record = {"anchor": hostile, "wide": "w" * 60}  # room for the title on one line
    emit([record], format="table", title=f"links {hostile}", stream=stream)
    out = stream.getvalue()
    assert_inert(out)
    assert out.count(VISIBLE[hostile]) == 2  # the cell and the title


@pytest.mark.parametrize("hostile", list(VISIBLE))
def test_a_csv_cell_shows_control_characters_as_visible_text(hostile: str) -> None:
    stream = io.StringIO()
    emit([{"anchor": hostile, "rel": [hostile]}], format="csv", stream=stream)
    assert_inert(stream.getvalue())
    (row,) = csv.DictReader(io.StringIO(stream.getvalue()))
    assert row == {"anchor": VISIBLE[hostile], "rel": VISIBLE[hostile]}


def test_a_tab_or_newline_inside_a_cell_is_shown_escaped() -> None:
    stream = io.StringIO()
    emit([{"anchor": "a\tb\nc\rd"}], format="csv", stream=stream)
    assert stream.getvalue() == "anchor\n" + r"a\tb\nc\rd" + "\n"


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", r"\t=1"),  # the tab is escaped, so the cell no longer starts with it
        ("a=1", "a=1"),
    ],
)
def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_text(cell: str, shown: str) -> None:
    stream = io.StringIO()
    emit([{"anchor": cell}], format="csv", stream=stream)
    (row,) = csv.DictReader(io.StringIO(stream.getvalue()))
    assert row["anchor"] == shown


def test_csv_writes_booleans_as_true_false_and_lists_with_a_separator() -> None:
    stream = io.StringIO()
    record = {"follow": True, "image": False, "reasons": ["a, b", "c d"], "n": -3, "x": None}
    emit([record], format="csv", stream=stream)
    (row,) = csv.DictReader(io.StringIO(stream.getvalue()))
    assert row == {"follow": "true", "image": "false", "reasons": "a, b; c d", "n": "-3", "x": ""}


def test_a_table_joins_list_fields_with_a_separator() -> None:
    stream = io.StringIO()
    emit([{"reasons": ["in 2 triangles", "link page"]}], format="table", stream=stream)
    assert "in 2 triangles; link page" in stream.getvalue()


def test_an_empty_csv_result_still_has_its_header() -> None:
    stream = io.StringIO()
    emit([], format="csv", fields=("domain", "score"), stream=stream)
    assert stream.getvalue() == "domain,score\n"


def test_json_escapes_what_acts_on_a_terminal_and_keeps_the_value() -> None:
    records = [{"anchor": hostile} for hostile in VISIBLE]
    stream = io.StringIO()
    emit_json(records, stream)
    assert_inert(stream.getvalue())
    assert json.loads(stream.getvalue()) == records


def test_a_log_line_shows_control_characters_escaped_and_keeps_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "crawler", logging.INFO, __file__, 1, "%s: %s", ("www.a.test", CLEAR), sys.exc_info()
        )
    text = SafeFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    first, *rest = text.splitlines()
    assert first == r"INFO crawler: www.a.test: \x1b[2J\x1b[H"
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"
    assert_inert(text)


# -- the command on a hostile store --------------------------------------------------------------

TARGET = "http://www.acme.test/"


async def build_hostile(db: Path) -> None:
    now = time.time()
    async with await StoreWriter.open(db) as writer:
        for i, hostile in enumerate(VISIBLE):
            source = f"http://www.site{i}.test/"
            links = [Link(TARGET, hostile), Link("http://www.gone.test/", hostile)]
            title, text = f"title {hostile}", f"acme shoes reviewed {hostile}"
            writer.add_page(answered(source, links, at=now, title=title, text=text))
            writer.note_host(f"www.site{i}.test", note=f"note {hostile}")
        writer.add_page(Page("http://www.gone.test/", 1, now, status=404))


def ranked_store(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Awaitable[None]]
) -> Path:
    """A store filled by ``build`` and ranked, in a fresh folder: what a module's tests read."""
    db = tmp_path_factory.mktemp(name) / "links.db"
    asyncio.run(build(db))
    linkgraph.rank(db)
    return db


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ranked_store(tmp_path_factory, "hostile", build_hostile)


COMMANDS = [
    ["backlinks", "acme.test"],
    ["backlinks", "acme.test", "--quality"],
    ["anchors", "acme.test"],
    ["anchors", "acme.test", "--classify", "--brand", "Acme"],
    ["referring-domains", "acme.test"],
    ["changes", "acme.test", "--show", "links"],
    ["broken"],
    ["mentions", "acme shoes"],
    ["toxic", "acme.test"],
]


@pytest.mark.parametrize("format", ["table", "csv"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_no_command_prints_crawled_control_characters_or_markup(
    capsys: pytest.CaptureFixture[str], hostile_store: Path, command: list[str], format: str
) -> None:
    code, out, err = run(capsys, *command, "--db", str(hostile_store), "--format", format)
    assert code == 0, err
    assert_inert(out + err)
    if command[0] not in ("toxic", "referring-domains"):  # these show names, not text
        assert MARKUP in out  # shown, not parsed


@pytest.mark.parametrize("command", [["anchors", "acme.test"], ["broken"]])
def test_csv_of_a_command_holds_the_visible_escapes(
    capsys: pytest.CaptureFixture[str], hostile_store: Path, command: list[str]
) -> None:
    code, out, _ = run(capsys, *command, "--db", str(hostile_store), "--format", "csv")
    assert code == 0
    assert {row["anchor"] for row in csv.DictReader(io.StringIO(out))} == set(VISIBLE.values())


def test_mentions_show_the_match_markers_of_the_snippet(
    capsys: pytest.CaptureFixture[str], hostile_store: Path
) -> None:
    code, out, _ = run(capsys, "mentions", "acme shoes", "--db", str(hostile_store))
    assert code == 0
    assert out.count("[acme shoes] reviewed") == len(VISIBLE)  # rich took them for markup


def test_the_anchors_table_holds_the_visible_escapes(
    capsys: pytest.CaptureFixture[str], hostile_store: Path
) -> None:
    code, out, _ = run(capsys, "anchors", "acme.test", "--db", str(hostile_store))
    assert code == 0
    for shown in VISIBLE.values():
        assert shown in out


def test_stats_shows_host_notes_escaped(
    capsys: pytest.CaptureFixture[str], hostile_store: Path
) -> None:
    code, out, _ = run(capsys, "stats", "--db", str(hostile_store))
    assert code == 0
    assert_inert(out)
    for shown in VISIBLE.values():
        assert f"note {shown}" in out


def test_the_crawl_summary_shows_host_notes_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    result = SimpleNamespace(
        interrupted=False,
        pages=1,
        errors=0,
        skipped=0,
        elapsed=1.0,
        links=1,
        queued=0,
        host_notes={f"h{i}.test": f"note {h}" for i, h in enumerate(VISIBLE)},
    )
    _print_crawl_summary(result, "links.db", quiet=False)
    _, err = capsys.readouterr()
    assert_inert(err)
    for shown in VISIBLE.values():
        assert f"note {shown}" in err


def test_export_csv_is_escaped_and_formula_safe(tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "source,target,anchor,rel\n"
        f"http://www.a.test/,http://www.b.test/,{CLEAR}wipe,nofollow ugc\n"
        'http://www.a.test/,http://www.c.test/,"=HYPERLINK(""http://evil.test"")",\n',
        encoding="utf-8",
    )
    db = tmp_path / "links.db"
    linkgraph.import_links(db, edges)
    out = io.StringIO()
    linkgraph.export(db, format="csv", output=out)
    assert_inert(out.getvalue())
    rows = {r["target"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["http://www.b.test/"]["anchor"] == r"\x1b[2J\x1b[Hwipe"
    assert rows["http://www.b.test/"]["rel"] == "nofollow; ugc"
    assert rows["http://www.c.test/"]["anchor"] == '\'=HYPERLINK("http://evil.test")'
    assert {r["follow"] for r in rows.values()} == {"true", "false"}


def test_export_jsonl_escapes_what_acts_on_a_terminal_and_keeps_the_anchors(
    hostile_store: Path,
) -> None:
    out = io.StringIO()
    linkgraph.export(hostile_store, format="jsonl", output=out)
    assert_inert(out.getvalue())
    anchors = {json.loads(line)["anchor"] for line in out.getvalue().splitlines()}
    assert anchors == set(VISIBLE)


# -- one CSV form in every command ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "header"),
    [
        (["backlinks", "nowhere.test"], "source,target,anchor,rel,follow,placement,first_seen"),
        (["backlinks", "nowhere.test", "--quality"], "source,target,anchor,rel,follow"),
        (["referring-domains", "nowhere.test"], "domain,backlinks,follow_backlinks"),
        (["anchors", "nowhere.test"], "anchor,backlinks,follow_backlinks,referring_domains"),
        (["mentions", "nothing like this"], "url,title,snippet,links_to_target"),
        (["toxic", "acme.test", "--min-score", "100"], "domain,score,reasons"),
        (["intersect", "nowhere.test", "acme.test"], "domain,competitors,count,authority"),
        (["changes", "nowhere.test", "--show", "velocity"], "period,new,lost"),
    ],
    ids=lambda x: " ".join(x) if isinstance(x, list) else None,
)
def test_an_empty_result_as_csv_is_its_header(
    capsys: pytest.CaptureFixture[str], hostile_store: Path, command: list[str], header: str
) -> None:
    code, out, err = run(capsys, *command, "--db", str(hostile_store), "--format", "csv")
    assert code == 0, err
    assert out.startswith(header) and out.count("\n") == 1


def test_query_csv_writes_booleans_as_the_export_does(
    capsys: pytest.CaptureFixture[str], hostile_store: Path
) -> None:
    code, out, _ = run(capsys, "broken", "--db", str(hostile_store), "--format", "csv")
    assert code == 0
    assert {row["follow"] for row in csv.DictReader(io.StringIO(out))} == {"true"}


# -- the edge list -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["page", "domain"])
def test_the_edge_list_reads_back_into_networkx_with_every_edge(
    capsys: pytest.CaptureFixture[str], hostile_store: Path, tmp_path: Path, level: str
) -> None:
    path = tmp_path / "edges.tsv"
    code, _, err = run(
        capsys, "export", "--db", str(hostile_store), "--format", "edgelist", "--level", level,
        "--output", str(path),
    )  # fmt: skip
    assert code == 0
    expected = linkgraph.to_networkx(hostile_store, level=level)
    graph = nx.read_edgelist(
        path,
        delimiter="\t",
        create_using=nx.DiGraph,
        data=[("links", int), ("follow_links", int)],
    )

    def edges(g: nx.DiGraph) -> list[tuple[str, str, int, int]]:
        return sorted((u, v, d["links"], d["follow_links"]) for u, v, d in g.edges(data=True))

    assert edges(graph) == edges(expected)
    lines = path.read_text().splitlines()
    assert f"wrote {len(lines)} {level}-level edges" in err
    assert len(lines) == expected.number_of_edges() > 0


# -- backlinks: why a source ranks first -------------------------------------------------------

# a.test is linked from b and c, b from c: domain authority a > b > c. a's deep page links to
# the target, so its page authority is low while its domain's is the highest.
SITES = {
    "http://www.a.test/": ["http://www.a.test/deep", "http://www.t.test/"],
    "http://www.a.test/deep": ["http://www.t.test/"],
    "http://www.b.test/": ["http://www.a.test/", "http://www.t.test/"],
    "http://www.c.test/": ["http://www.a.test/", "http://www.b.test/", "http://www.t.test/"],
}


async def build_sites(db: Path) -> None:
    async with await StoreWriter.open(db) as writer:
        for source, targets in SITES.items():
            writer.add_page(answered(source, [Link(t, f"to {t}") for t in targets]))


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ranked_store(tmp_path_factory, "ranked", build_sites)


def test_backlinks_carry_the_linking_domains_authority(ranked: Path) -> None:
    domains = {r["domain"]: r["authority"] for r in linkgraph.top(ranked, level="domain")}
    pages = {r["url"]: r["authority"] for r in linkgraph.top(ranked, level="page", limit=100)}
    records = linkgraph.backlinks(ranked, "t.test")
    assert {r["source"] for r in records} == {s for s in SITES if s != "http://www.t.test/"}
    for r in records:
        assert r["source_authority"] == pages[r["source"]]
        assert r["source_domain_authority"] == domains[r["source"].split(".")[1] + ".test"]
    deep = next(r for r in records if r["source"].endswith("/deep"))
    assert deep["source_domain_authority"] > deep["source_authority"]


def test_the_backlinks_table_shows_domain_authority_and_what_it_is_sorted_by(
    capsys: pytest.CaptureFixture[str], ranked: Path
) -> None:
    code, out, _ = run(capsys, "backlinks", "t.test", "--db", str(ranked))
    assert code == 0
    header = out.split("┡")[0]
    assert "source_authority" in header and "source_domain_auth" in header
    assert out.splitlines()[-1].startswith("sorted by the linking page's authority")
    assert "linkgraph toxic t.test" in out.splitlines()[-1]
    code, out, _ = run(capsys, "backlinks", "t.test", "--db", str(ranked), "--sort", "first_seen")
    assert "sorted by" not in out
