"""``linkgraph import`` does each costly step once per distinct thing, not once per row.

Counted in calls, never in wall time: the numbers are in docs/benchmarks.md ("Import").
"""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import pytest
from linkgraph.storage import identity
from linkgraph.storage.identity import normalize
from linkgraph.storage.records import Link
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph import importer


def test_a_host_name_is_no_ip_literal_without_parsing_an_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = ipaddress.ip_address

    def counting(address: str) -> object:
        calls.append(address)
        return real(address)

    monkeypatch.setattr(identity.ipaddress, "ip_address", counting)
    assert not identity.is_ip_literal("www.site7.example")
    assert not identity.is_ip_literal("example.com.")
    assert calls == []
    # Addresses, and names ending in a digit, are still parsed and told apart.
    assert identity.is_ip_literal("192.0.2.1")
    assert identity.is_ip_literal("[2001:db8::1]")
    assert identity.is_ip_literal("fe80::")
    assert not identity.is_ip_literal("host1")
    assert calls == ["192.0.2.1", "2001:db8::1", "fe80::", "host1"]


# Cells that look almost like the store's form; each must come out as normalize() has it.
TRICKY = [
    "https://a.example/x?y=1&z=%20",
    "https://a.example",
    "https://a.example?q",
    "https://a.example/?",
    "http://a.example//double//slash",
    "https://a.example/./x",
    "https://a.example/a/../b",
    "https://a.example/%2e%2E/x",
    "https://a.example/.well-known/x",
    "https://A.example/x",
    "HTTPS://a.example/x",
    "https://a.example:443/x",
    "http://a.example:80/x",
    "https://a.example:8443/x",
    "https://u:p@a.example/x",
    "https://a.example/x#frag",
    "https://a.example/a'b?c'd",
    "https://a.example/a b",
    "https://a.example/a\\b",
    "https://a.example/a|b^c[d]",
    "https://a.example/x?a<b",
    "https://a.example./x",
    "https://1.2.3.4/x",
    "https://1.2.3/x",
    "https://a.0x1f/x",
    "https://a.123/x",
    "https://x.1a/y",
    "https://xn--bcher-kva.example/",
    "https://xn--a.example/",
    "https://b\u00fccher.example/\u00e9",
    "https://a-.-b.example/",
    "https://a..b.example/",
    "https://a.example/%zz",
    "ftp://a.example/",
    "https://",
    "http://[::1]/x",
]


def test_the_store_form_shortcut_agrees_with_normalize() -> None:
    for cell in TRICKY:
        assert importer._normalize_cell(cell) == normalize(cell), cell


def test_a_url_in_store_form_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    monkeypatch.setattr(importer, "normalize", lambda url: parsed.append(url) or normalize(url))
    assert importer._normalize_cell("https://www.site7.example/a/1?x=y") == (
        "https://www.site7.example/a/1?x=y"
    )
    assert importer._normalize_cell("https://site7.example") == "https://site7.example/"
    assert parsed == []
    assert importer._normalize_cell("https://Site7.example/") == "https://site7.example/"
    assert parsed == ["https://Site7.example/"]


def test_each_distinct_url_cell_is_normalized_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = importer._normalize_cell
    monkeypatch.setattr(importer, "_normalize_cell", lambda cell: seen.append(cell) or real(cell))
    edges = tmp_path / "e.csv"
    edges.write_text(
        "".join(f"https://s.example/,https://t.example/{i % 5},a,\n" for i in range(60))
    )
    assert linkgraph.import_links(tmp_path / "i.db", edges).links == 60
    assert sorted(seen) == ["https://s.example/"] + [f"https://t.example/{i}" for i in range(5)]


async def test_a_host_is_interned_once_per_store_not_once_per_batch(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_links("https://a.example/1", [Link("https://www.b.example/1")], 1.0)
        await writer.flush()
        statements: list[str] = []
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://a.example/2", [Link("https://www.b.example/2")], 2.0)
        writer.add_links("https://c.example/", [Link("https://a.example/2")], 2.0)
        await writer.flush()
    # Only c.example was looked up; a.example and www.b.example were known.
    # (link_sources reads the domain of its new pages' hosts by id: not a lookup by name.)
    host_lookups = [s for s in statements if "hosts" in s and "link_sources" not in s]
    assert len(host_lookups) == 2
    assert all('"c.example"' in s and "a.example" not in s for s in host_lookups)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT u.url, h.name, d.name FROM urls u JOIN hosts h ON h.id = u.host_id"
            " JOIN domains d ON d.id = h.domain_id ORDER BY u.id"
        ).fetchall()
    conn.close()
    assert rows == [
        ("https://a.example/1", "a.example", "a.example"),
        ("https://www.b.example/1", "www.b.example", "b.example"),
        ("https://a.example/2", "a.example", "a.example"),
        ("https://www.b.example/2", "www.b.example", "b.example"),
        ("https://c.example/", "c.example", "c.example"),
    ]
