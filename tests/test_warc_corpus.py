"""``import-warc`` on real archives (``../shared/corpus/warc-samples``): what it stores is
what the crawler's extractor finds in bodies read independently, by warcio."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from linkgraph.crawler.encoding import decode_html, is_html
from linkgraph.crawler.extract import extract
from linkgraph.crawler.urls import resolve

import linkgraph

pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")
warcio = pytest.importorskip("warcio.archiveiterator", reason="the independent reader")


@pytest.fixture(scope="module")
def samples(corpus: Path) -> Path:
    return corpus / "warc-samples"


def links_by_source(db: Path, kind: str = "link") -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = {}
    for r in linkgraph.iter_links(db):
        if r["kind"] == kind:
            found.setdefault(r["source"], set()).add(
                (r["target"], r["anchor"], tuple(r["rel"]), r["placement"], r["image"])
            )
    return found


def warcio_html_pages(path: Path) -> dict[str, tuple[bytes, str | None, str, str | None]]:
    """URL -> (body, content type, WARC-Date, IP) of the last 2xx HTML response of each
    URL, read with warcio (which undoes chunked and Content-Encoding itself)."""
    pages = {}
    with path.open("rb") as f:
        for record in warcio.ArchiveIterator(f):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            status = int(record.http_headers.get_statuscode())
            body = record.content_stream().read()
            ctype = record.http_headers.get_header("Content-Type")
            if 200 <= status < 300 and is_html(ctype, body[:512]):
                headers = record.rec_headers
                pages[headers.get_header("WARC-Target-URI")] = (
                    body,
                    ctype,
                    headers.get_header("WARC-Date"),
                    headers.get_header("WARC-IP-Address"),
                )
    return pages


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_iana_pages_and_links_equal_the_extractor_on_warcio_bodies(
    samples: Path, tmp_path: Path
) -> None:
    archive = samples / "pywb" / "iana.warc.gz"
    db = tmp_path / "iana.db"
    report = linkgraph.import_warc(db, [archive])
    expected_pages = warcio_html_pages(archive)
    assert len(expected_pages) == 16  # 20 HTML captures (PROVENANCE.md) of 16 URLs
    stored = links_by_source(db)
    for url, (body, ctype, _, _) in expected_pages.items():
        found = extract(decode_html(body, ctype)[0], url)
        want = {(k.target, k.anchor, k.rel, k.placement, k.image) for k in found.links}
        assert stored.get(url, set()) == want, url
    assert set(stored) <= set(expected_pages)
    assert report.damaged == 0


def test_iana_pages_carry_status_capture_time_and_address(samples: Path, tmp_path: Path) -> None:
    archive = samples / "pywb" / "iana.warc.gz"
    db = tmp_path / "iana.db"
    linkgraph.import_warc(db, [archive])
    with sqlite3.connect(db) as conn:
        rows = {
            url: (status, fetched, ctype, ip)
            for url, status, fetched, ctype, ip in conn.execute(
                "SELECT u.url, p.status, p.fetched_at, p.content_type, h.ip FROM pages p"
                " JOIN urls u ON u.id = p.url_id JOIN hosts h ON h.id = u.host_id"
            )
        }
    for url, (_, ctype, date, ip) in warcio_html_pages(archive).items():
        assert rows[url] == (200, epoch(date), ctype, ip), url


def test_chunked_body_is_decoded_before_extraction(samples: Path, tmp_path: Path) -> None:
    archive = samples / "warcio" / "example-iana.org-chunked.warc"
    db = tmp_path / "chunked.db"
    linkgraph.import_warc(db, [archive])
    ((url, (body, ctype, _, _)),) = warcio_html_pages(archive).items()
    found = extract(decode_html(body, ctype)[0], url)
    assert len(found.links) == 36  # PROVENANCE.md: 36 <a href>
    assert links_by_source(db)[url] == {
        (k.target, k.anchor, k.rel, k.placement, k.image) for k in found.links
    }


def test_wget_redirect_chain_becomes_redirect_edges(samples: Path, tmp_path: Path) -> None:
    db = tmp_path / "wget.db"
    report = linkgraph.import_warc(db, [samples / "webarchive-commons" / "IAH-urls-wget.warc.gz"])
    redirects = {(s, t) for s, links in links_by_source(db, "redirect").items() for t, *_ in links}
    # Read by hand from the file's 302 and 301 responses and their Location headers.
    assert redirects == {
        ("http://www.archive.org/robots.txt", "http://archive.org/robots.txt"),
        ("http://www.archive.org/", "http://archive.org/index.php"),
        ("http://archive.org/index.php", "https://archive.org/"),
        ("http://www.archive.org/index.php", "http://archive.org/index.php"),
        ("http://www.archive.org/images/logoc.jpg", "http://archive.org/images/logoc.jpg"),
        (
            "http://www.archive.org/images/go-button-gateway.gif",
            "http://archive.org/images/go-button-gateway.gif",
        ),
        ("http://www.archive.org/images/star.png", "http://archive.org/images/star.png"),
        (
            "http://www.archive.org/services/collection-rss.php",
            "http://archive.org/services/collection-rss.php",
        ),
    }
    assert report.redirects == 9  # nine 3xx responses; index.php answered twice
    # The chain www.archive.org/ -> archive.org/index.php -> https://archive.org/ ends at
    # a page whose links were extracted.
    assert len(links_by_source(db)["https://archive.org/"]) > 50


def test_link_extraction_hyperlinks_hold(samples: Path, tmp_path: Path) -> None:
    folder = samples / "webarchive-commons"
    expected = json.loads((folder / "link-extraction-expected.json").read_text())
    db = tmp_path / "le.db"
    linkgraph.import_warc(db, [folder / "link-extraction-test.warc"])
    stored = links_by_source(db)
    checked = 0
    for record in expected["records"]:
        page = record.get("warc_target_uri")
        if page is None:
            continue
        base = next(
            (link["url"] for link in record["expected_links"] if link["path"] == "__base__"), page
        )
        targets = {t for t, *_ in stored.get(page, set())}
        hyperlinks = [link["url"] for link in record["expected_links"] if link["path"] == "A@/href"]
        for href in hyperlinks:
            assert resolve(href, resolve(base, page)) in targets, (page, href)
            checked += 1
        # Images, media and data-href attributes are not hyperlinks: nothing else is stored.
        assert len(targets) == len({resolve(h, resolve(base, page)) for h in hyperlinks}), page
    assert checked == 13
    html4 = {t for t, *_ in stored["http://www.example.com/html4.html"]}
    # The fragment-only "#anchor" is the base itself (<base href="http://www.example.com/">).
    assert "http://www.example.com/" in html4
    le5 = {t for t, *_ in stored["http://www.example.com/data-href.examples.html"]}
    assert "http://www.example.com/content-page" in le5  # "/content-page" against the page


def test_lenient_reading_keeps_every_recoverable_record(samples: Path, tmp_path: Path) -> None:
    archive = samples / "webarchive-commons" / "link-extraction-test.warc"
    report = linkgraph.import_warc(tmp_path / "le.db", [archive])
    # Counted by hand: eight "WARC/1.0" records, a warcinfo and seven responses, six of
    # them with a WARC-Target-URI; the seventh has none and cannot be a page.
    assert archive.read_bytes().count(b"WARC/1.0\r\n") == 8
    assert report.records == 8
    assert report.pages == 6
    assert report.damaged == 1
    assert "without an http(s) WARC-Target-URI" in report.problems[0]


def test_whirlwind_warc_imports_with_the_links_checked_by_hand(
    samples: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cc.db"
    report = linkgraph.import_warc(db, [samples / "commoncrawl-whirlwind" / "whirlwind.warc.gz"])
    assert (report.pages, report.damaged) == (1, 0)
    assert report.skipped == {"warcinfo": 1, "request": 1, "metadata": 1}
    links = {
        (t, a, p) for t, a, _, p, _ in links_by_source(db)["https://an.wikipedia.org/wiki/Escopete"]
    }
    # From the page's HTML: a relative link in the menu (<nav>), a protocol-relative and
    # an absolute one with a fragment in the footer.
    assert ("https://an.wikipedia.org/wiki/Portalada", "Portalada", "nav") in links
    assert (
        "https://an.m.wikipedia.org/w/index.php?title=Escopete&mobileaction=toggle_view_mobile",
        "Versión ta mobils",
        "footer",
    ) in links
    assert ("https://stats.wikimedia.org/", "Estatisticas", "footer") in links


def test_whirlwind_wat_imports_without_error(samples: Path, tmp_path: Path) -> None:
    report = linkgraph.import_wat(
        tmp_path / "cc.db", [samples / "commoncrawl-whirlwind" / "whirlwind.warc.wat.gz"]
    )
    # PROVENANCE.md: only the description of the request record, so no page.
    assert (report.records, report.pages, report.damaged, report.errors) == (2, 0, 0, [])
    assert report.skipped == {"warcinfo": 1, "WAT of a request record": 1}
