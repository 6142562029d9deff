"""Small WARC files written in a test (with warcio's writer), and the store rows to compare."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass
class Rec:
    """One record to write: a response (``status``, ``headers``, ``body``) or a revisit."""

    url: str
    date: str  # WARC-Date
    body: bytes = b""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "text/html")])
    kind: str = "response"  # or "revisit", "metadata" (body is the block)
    ip: str | None = "192.0.2.1"


def page(*targets: str, extra: str = "") -> bytes:
    """An HTML page linking to ``targets`` (anchor text: the target)."""
    links = "".join(f'<p><a href="{t}">{t}</a></p>' for t in targets)
    return f"<!doctype html><html><body>{links}{extra}</body></html>".encode()


def write_warc(path: Path, records: list[Rec], *, gzip: bool = True) -> Path:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=gzip)
        for r in records:
            warc_headers = {"WARC-Date": r.date}
            if r.ip:
                warc_headers["WARC-IP-Address"] = r.ip
            if r.kind == "metadata":
                record = writer.create_warc_record(
                    r.url,
                    "metadata",
                    payload=io.BytesIO(r.body),
                    # With the length given, warcio spools nothing to a temporary file.
                    length=len(r.body),
                    warc_content_type="application/json",
                    warc_headers_dict=warc_headers,
                )
                writer.write_record(record)
                continue
            reason = {200: "OK", 301: "Moved", 302: "Found", 404: "Not Found"}.get(r.status, "X")
            http = StatusAndHeaders(f"{r.status} {reason}", r.headers, protocol="HTTP/1.1")
            if r.kind == "revisit":
                record = writer.create_revisit_record(
                    r.url,
                    "sha1:AAAA",
                    r.url,
                    "2000-01-01T00:00:00Z",
                    http_headers=http,
                    warc_headers_dict=warc_headers,
                )
            else:
                record = writer.create_warc_record(
                    r.url,
                    "response",
                    payload=io.BytesIO(r.body),
                    length=len(r.body),
                    http_headers=http,
                    warc_headers_dict=warc_headers,
                )
            writer.write_record(record)
    return path


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("urls", "hosts", "pages", "links", "anchors")
        }
