"""``import-wat`` on WAT records built in the test, in Common Crawl's documented layout
(Envelope -> Payload-Metadata -> HTTP-Response-Metadata -> HTML-Metadata -> Head, Links)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import linkgraph

pytest.importorskip("fastwarc", reason="import-wat needs the warc extra")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")
lxml_html = pytest.importorskip("lxml.html")

from warc_support import Rec, write_warc  # noqa: E402

DAY = "2020-01-01T00:00:00Z"


def wat(
    url: str,
    status: int,
    *,
    links: list[dict[str, str]] | None = None,
    head: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    date: str = DAY,
) -> Rec:
    """A WAT metadata record describing a response record of ``url``."""
    http: dict[str, Any] = {
        "Response-Message": {"Version": "HTTP/1.1", "Status": str(status), "Reason": "X"},
        "Headers": headers or {"Content-Type": "text/html"},
    }
    if links is not None or head is not None:
        http["HTML-Metadata"] = {"Head": head or {}, "Links": links or []}
    doc = {
        "Container": {"Filename": "test.warc.gz", "Compressed": True, "Offset": "0"},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Metadata": {
                "WARC-Type": "response",
                "WARC-Target-URI": url,
                "WARC-Date": date,
                "WARC-IP-Address": "192.0.2.7",
            },
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": http,
            },
        },
    }
    return Rec(url, date, json.dumps(doc).encode(), kind="metadata", ip=None)


def links_of(db: Path, kind: str = "link") -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (r["source"], r["target"], r["anchor"], tuple(r["rel"]))
        for r in linkgraph.iter_links(db)
        if r["kind"] == kind
    }


def test_only_hyperlinks_count_resolved_against_page_and_base(tmp_path: Path) -> None:
    url = "http://a.example/dir/page.html"
    archive = write_warc(
        tmp_path / "a.wat.gz",
        [
            wat(
                url,
                200,
                head={"Title": "A page", "Base": "/base/"},
                links=[
                    {"path": "A@/href", "url": "x.html", "text": "  relative\n text "},
                    {"path": "A@/href", "url": "#top", "text": "fragment"},
                    {
                        "path": "A@/href",
                        "url": "//cdn.example/y",
                        "text": "protocol",
                        "rel": "NoFollow ugc",
                    },
                    {"path": "AREA@/href", "url": "/map", "alt": "map area"},
                    {"path": "A@/href", "url": "mailto:me@a.example", "text": "mail"},
                    {"path": "IMG@/src", "url": "img.png"},
                    {"path": "LINK@/href", "url": "style.css", "rel": "stylesheet"},
                    {"path": "SCRIPT@/src", "url": "app.js"},
                    {"path": "FORM@/action", "url": "/post"},
                ],
            ),
            wat("http://a.example/old", 301, headers={"Location": "/dir/page.html"}),
        ],
    )
    db = tmp_path / "w.db"
    report = linkgraph.import_wat(db, [archive])
    assert (report.pages, report.damaged) == (2, 0)
    assert links_of(db) == {
        (url, "http://a.example/base/x.html", "relative text", ()),
        (url, "http://a.example/base/", "fragment", ()),
        (url, "http://cdn.example/y", "protocol", ("nofollow", "ugc")),
        (url, "http://a.example/map", "map area", ()),
    }
    assert links_of(db, "redirect") == {("http://a.example/old", url, "", ())}


def test_canonical_meta_robots_and_bad_json(tmp_path: Path) -> None:
    url = "http://a.example/p?utm=1"
    archive = write_warc(
        tmp_path / "a.wat",
        [
            wat(
                url,
                200,
                head={
                    "Metas": [{"name": "robots", "content": "noindex, nofollow"}],
                    "Link": [{"path": "LINK@/href", "url": "/p", "rel": "canonical"}],
                },
                links=[{"path": "A@/href", "url": "/q", "text": "q"}],
            ),
            Rec("http://a.example/broken", DAY, b"{not json", kind="metadata", ip=None),
        ],
        gzip=False,
    )
    db = tmp_path / "w.db"
    report = linkgraph.import_wat(db, [archive])
    assert (report.pages, report.damaged) == (1, 1)
    assert "WAT record is not JSON" in report.problems[0]
    assert links_of(db, "canonical") == {(url, "http://a.example/p", "", ())}
    with sqlite3.connect(db) as conn:
        robots, ip = conn.execute(
            "SELECT p.robots, h.ip FROM pages p JOIN urls u ON u.id = p.url_id"
            " JOIN hosts h ON h.id = u.host_id"
        ).fetchone()
    assert robots == 3  # noindex and nofollow bits
    assert ip == "192.0.2.7"


def wat_from_html(url: str, body: bytes, date: str, status: int) -> Rec:
    """The WAT record Common Crawl's extractor would write for this page, built with lxml:
    every a/area href, img src and link href, with text and rel, and the base href."""
    tree = lxml_html.document_fromstring(body)
    links: list[dict[str, str]] = []
    head_links: list[dict[str, str]] = []
    for el in tree.iter("a", "area", "img", "link"):
        attr = "src" if el.tag == "img" else "href"
        value = el.get(attr)
        if value is None:
            continue
        entry = {"path": f"{el.tag.upper()}@/{attr}", "url": value}
        if el.tag == "a" and el.text_content().strip():
            entry["text"] = el.text_content()
        if el.get("rel"):
            entry["rel"] = el.get("rel")
        (head_links if el.tag == "link" else links).append(entry)
    head: dict[str, Any] = {"Link": head_links}
    base = tree.find(".//base")
    if base is not None and base.get("href"):
        head["Base"] = base.get("href")
    return wat(url, status, links=links, head=head, date=date)


def wat_of_html_captures(archive: Path) -> list[Rec]:
    """A WAT record (:func:`wat_from_html`) for each HTML capture answered 200 in
    ``archive``."""
    from warcio.archiveiterator import ArchiveIterator

    records = []
    with archive.open("rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type != "response" or record.http_headers.get_statuscode() != "200":
                continue
            if "html" in (record.http_headers.get_header("Content-Type") or ""):
                records.append(
                    wat_from_html(
                        record.rec_headers.get_header("WARC-Target-URI"),
                        record.content_stream().read(),
                        record.rec_headers.get_header("WARC-Date"),
                        200,
                    )
                )
    return records


def test_wat_built_from_iana_pages_gives_the_warc_imports_link_targets(
    corpus: Path, tmp_path: Path
) -> None:
    archive = corpus / "warc-samples" / "pywb" / "iana.warc.gz"
    records = wat_of_html_captures(archive)
    from_wat, from_warc = tmp_path / "wat.db", tmp_path / "warc.db"
    report = linkgraph.import_wat(from_wat, [write_warc(tmp_path / "iana.wat.gz", records)])
    linkgraph.import_warc(from_warc, [archive])
    assert (report.pages, report.damaged) == (len(records), 0)

    def pairs(db: Path) -> set[tuple[str, str, tuple[str, ...]]]:
        return {(s, t, rel) for s, t, _, rel in links_of(db)}

    assert len(pairs(from_warc)) > 1000
    assert pairs(from_wat) == pairs(from_warc)


def hostile(url: str, status: str, entity: str | None = None) -> Rec:
    """A WAT record of ``url`` whose Status is the JSON text ``status`` as written."""
    record = wat(url, 200, links=[{"path": "A@/href", "url": "/x", "text": "x"}])
    doc = json.loads(record.body)
    http = doc["Envelope"]["Payload-Metadata"]["HTTP-Response-Metadata"]
    http["Response-Message"]["Status"] = "STATUS"
    if entity is not None:
        http["Entity-Length"] = entity
    text = json.dumps(doc, ensure_ascii=False).replace('"STATUS"', status)
    return Rec(url, DAY, text.encode(), kind="metadata", ip=None)


def test_hostile_numbers_and_nesting_are_bad_records_not_tracebacks(tmp_path: Path) -> None:
    deep = Rec("http://a.example/deep", DAY, b"[" * 200_000 + b"]" * 200_000, kind="metadata")
    archive = write_warc(
        tmp_path / "h.wat",
        [
            hostile("http://a.example/inf", "1e400"),
            deep,
            hostile("http://a.example/huge", '"99999999999999999999999"'),
            hostile("http://a.example/float", "200.5"),
            hostile("http://a.example/sup", "200", entity="\u00b2"),
            hostile("http://a.example/big", "404", entity="99999999999999999999999"),
            hostile("http://a.example/ok", "200", entity="1234"),
        ],
        gzip=False,
    )
    db = tmp_path / "h.db"
    report = linkgraph.import_wat(db, [archive])
    assert (report.pages, report.damaged) == (3, 4)
    assert sum("nested too deep" in p for p in report.problems) == 1
    assert sum("without an HTTP status" in p for p in report.problems) == 3
    with sqlite3.connect(db) as conn:
        rows = set(
            conn.execute(
                "SELECT u.url, p.status, p.size, typeof(p.size) FROM pages p"
                " JOIN urls u ON u.id = p.url_id WHERE p.fetched_at IS NOT NULL"
            )
        )
    assert rows == {
        ("http://a.example/sup", 200, 0, "integer"),
        ("http://a.example/big", 404, 0, "integer"),
        ("http://a.example/ok", 200, 1234, "integer"),
    }
