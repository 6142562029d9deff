"""What ``linkgraph import`` stores, row by row, for a small export with repeats and odd
URLs: the expected rows are written out by hand, so a faster import cannot drift."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import linkgraph

EXPORT = (
    "Source URL,Target URL,Anchor Text,Rel\n"
    "https://a.example/p,https://b.example/x,  Hello   World ,NoFollow\n"
    "https://a.example/p,https://B.Example:443/x#frag,Hello World,nofollow\n"  # line 2 again
    "https://a.example/p,https://www.a.example/,home,\n"
    'HTTPS://user:pw@a.example/p,http://b.example/a/./b/../c,,"ugc, sponsored"\n'
    "https://a.example/p,https://b\u00fccher.example/\u00e9?q='x',caf\u00e9,\n"
    "https://a.example/q,https://xn--bcher-kva.example,idn,UGC;ugc\n"
    "ftp://a.example/,https://b.example/,skipped,\n"
    "https://a.example/q,,empty target,\n"
    "https://192.0.2.1/,https://a.example/p,ip,\n"
    "\n"
    "https://a.example/q,https://b.example/x,Hello World,nofollow\n"
)


def stored_rows(db: Path) -> tuple[list[tuple], list[tuple], set[int]]:
    conn = sqlite3.connect(db)
    try:
        links = conn.execute(
            "SELECT s.url, t.url, l.kind, a.text, l.placement, r.tokens, l.flags & 31, l.last_seen,"
            " l.lost_at, l.lost_reason FROM links l JOIN urls s ON s.id = l.source_id"
            " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
            " JOIN rels r ON r.id = l.rel_id ORDER BY s.url, t.url"
        ).fetchall()
        hosts = conn.execute(
            "SELECT h.name, d.name FROM hosts h JOIN domains d ON d.id = h.domain_id ORDER BY h.name"
        ).fetchall()
        first_seen = {t for (t,) in conn.execute("SELECT first_seen FROM links")}
        assert conn.execute("SELECT count(*) FROM pages").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM frontier").fetchone() == (0,)
    finally:
        conn.close()
    return links, hosts, first_seen


def test_import_stores_these_rows_and_counts(tmp_path: Path) -> None:
    edges = tmp_path / "export.csv"
    edges.write_text(EXPORT, encoding="utf-8")
    db = tmp_path / "i.db"

    result = linkgraph.import_links(db, edges)

    assert (result.rows, result.links, result.skipped) == (10, 8, 2)
    assert result.problems == [
        "line 8: not an http(s) URL: 'ftp://a.example/'",
        "line 9: not an http(s) URL: ''",
    ]
    links, hosts, first_seen = stored_rows(db)
    b_idn = "https://xn--bcher-kva.example/"
    assert links == [
        # source, target, kind, anchor, placement, rel, flags, last_seen, lost_at, reason
        ("https://192.0.2.1/", "https://a.example/p", 0, "ip", 0, "", 0, None, None, None),
        ("https://a.example/p", "http://b.example/a/c", 0, "", 0, "ugc sponsored", 6, None, None, None),
        ("https://a.example/p", "https://b.example/x", 0, "Hello World", 0, "nofollow", 1, None, None, None),
        ("https://a.example/p", "https://www.a.example/", 0, "home", 0, "", 16, None, None, None),
        ("https://a.example/p", b_idn + "%C3%A9?q=%27x%27", 0, "caf\u00e9", 0, "", 0, None, None, None),
        ("https://a.example/q", "https://b.example/x", 0, "Hello World", 0, "nofollow", 1, None, None, None),
        ("https://a.example/q", b_idn, 0, "idn", 0, "ugc", 4, None, None, None),
    ]  # fmt: skip
    assert hosts == [
        ("192.0.2.1", "192.0.2.1"),
        ("a.example", "a.example"),
        ("b.example", "b.example"),
        ("www.a.example", "a.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ]
    assert len(first_seen) == 1  # one import, one time


def test_importing_the_same_export_again_stores_no_new_row(tmp_path: Path) -> None:
    edges = tmp_path / "export.csv"
    edges.write_text(EXPORT, encoding="utf-8")
    db = tmp_path / "i.db"
    linkgraph.import_links(db, edges)
    before, hosts, _ = stored_rows(db)

    again = linkgraph.import_links(db, edges)

    assert (again.rows, again.links, again.skipped) == (10, 8, 2)
    after, hosts_after, first_seen = stored_rows(db)
    assert hosts_after == hosts
    # Every link was seen again: last_seen is set (the same second or later), nothing else moves.
    assert [row[:7] for row in after] == [row[:7] for row in before]
    assert all(row[7] is not None and row[7] >= min(first_seen) for row in after)


def test_a_quote_never_closed_is_a_skipped_row_not_a_made_up_url(tmp_path: Path) -> None:
    # The quote opened on line 2 runs to the end: the csv module returns the rest of the
    # file as one target field, which a URL parser would turn into one long URL.
    edges = tmp_path / "broken.csv"
    edges.write_text(
        "source,target\n"
        'http://a1.test/,"http://b1.test/\n'
        "http://a2.test/,http://b2.test/\n"
        "http://c.test/,http://d.test/\n",
        encoding="utf-8",
    )
    db = tmp_path / "i.db"

    result = linkgraph.import_links(db, edges)

    assert (result.rows, result.links, result.skipped) == (1, 0, 1)
    assert result.problems == [
        "line 2: a line break inside a URL (a quote never closed?): "
        "'http://b1.test/\\nhttp://a2.test/,http://b2.test/\\nhttp://c.test/,http://d.test/'"
    ]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT url FROM urls").fetchall() == []
    finally:
        conn.close()


def test_a_bad_cell_is_quoted_in_its_problem_line_cut_short(tmp_path: Path) -> None:
    edges = tmp_path / "long.csv"
    edges.write_text("http://a.test/,ftp://" + "x" * 5000 + "\n", encoding="utf-8")

    result = linkgraph.import_links(tmp_path / "i.db", edges)

    assert result.problems == [f"line 1: not an http(s) URL: {'ftp://' + 'x' * 194 + '...'!r}"]


def test_an_edge_list_read_from_a_fifo_is_imported(tmp_path: Path) -> None:
    # A FIFO (or a shell's `<(zcat links.csv.gz)`) cannot be read twice: it is read whole.
    fifo = tmp_path / "links.fifo"
    os.mkfifo(fifo)
    written = threading.Thread(
        target=fifo.write_text,
        args=("http://a.test/,http://b.test/x,caf\u00e9\nhttp://a.test/,http://c.test/,\n",),
        kwargs={"encoding": "utf-8"},
        daemon=True,
    )
    written.start()

    result = linkgraph.import_links(tmp_path / "i.db", fifo)

    written.join(timeout=10)
    assert (result.rows, result.links, result.skipped) == (2, 2, 0)
    links, _, _ = stored_rows(tmp_path / "i.db")
    assert [(s, t, a) for s, t, _, a, *_ in links] == [
        ("http://a.test/", "http://b.test/x", "caf\u00e9"),
        ("http://a.test/", "http://c.test/", ""),
    ]
