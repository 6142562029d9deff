"""``linkgraph import-wat``: Common Crawl's WAT files, the links already extracted.

A WAT file is a WARC file of ``metadata`` records, one per record of the WARC it
describes, each a JSON document (Common Crawl's format, from the webarchive-commons
extractor)::

    Envelope
      WARC-Header-Metadata      WARC-Type, WARC-Target-URI, WARC-Date, WARC-IP-Address
      Payload-Metadata
        HTTP-Response-Metadata
          Response-Message      Status
          Headers               Content-Type, Location, X-Robots-Tag ...
          HTML-Metadata
            Head                Title, Base, Metas [{name, content}], Link [...]
            Links               [{path: "A@/href", url, text, rel, alt ...}]

Only the descriptions of ``response`` records count. The page is built as
:mod:`.warcpages` builds it from the WARC record: its status and capture time, a
``redirect`` edge for a 3xx with a ``Location``, and for an HTML 2xx its hyperlinks, the
``Links`` whose path is ``A@/href`` or ``AREA@/href`` (images, scripts, stylesheets and
forms are not backlinks), resolved with ``crawler.urls.resolve`` against ``Head.Base``
resolved against the page URL, as ``import-warc`` does with ``<base href>``. The anchor is
the link's ``text`` (an ``AREA``'s ``alt``), whitespace collapsed; ``rel`` its tokens;
``LINK@/href`` with ``rel=canonical`` is the canonical; ``Metas`` robots directives
apply. What WAT does not record cannot be imported: placement is ``content`` and no link
is marked as an image link.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from linkgraph.crawler.extract import robots_directives
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.crawler.urls import normalize, resolve
from linkgraph.storage.records import Link, Page

from .warcimport import ArchiveReport, import_archives
from .warcpages import REDIRECTS, Bad, Skip
from .warcread import Capture, warc_date

__all__ = ["HYPERLINK_PATHS", "import_wat", "page_of_wat"]

HYPERLINK_PATHS = frozenset({"A@/href", "AREA@/href"})
_SETTINGS = CrawlSettings()


_DIGITS = re.compile(r"[0-9]+")  # str.isdigit also takes "²" and other digits int() refuses
_MAX_SIZE = 1 << 63  # sizes go into SQLite INTEGER (a larger int is stored as REAL)


def _status(value: Any) -> int | None:
    """An HTTP status (100-999) from the JSON number or digit string WAT gives, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not _DIGITS.fullmatch(value) or len(value) > 3:
            return None
        value = int(value)
    elif isinstance(value, float):
        # 1e400 parses as inf (int() raises OverflowError); NaN and fractions are no status.
        if not value.is_integer():
            return None
        value = int(value)
    if not isinstance(value, int) or not 100 <= value <= 999:
        return None
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name and isinstance(value, str):
            return value
    return None


def _rel(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lower() for t in _text(value).split()))


def _html_links(page: Page, html: dict[str, Any]) -> None:
    head = _dict(html.get("Head"))
    base = page.url
    if isinstance(head.get("Base"), str):
        base = resolve(head["Base"], page.url) or page.url
    limit = _SETTINGS.max_url_length
    links: list[Link] = []
    canonical = None
    for entry in _list(html.get("Links")) + _list(head.get("Link")):
        entry = _dict(entry)
        path, href = entry.get("path"), entry.get("url")
        if not isinstance(href, str):
            continue
        rel = _rel(entry.get("rel"))
        if path == "LINK@/href" and "canonical" in rel and canonical is None:
            canonical = resolve(href, base)
            continue
        if path not in HYPERLINK_PATHS:
            continue
        target = resolve(href, base)
        if target is None or len(target) > limit:
            continue
        anchor = _text(entry.get("text")) or (
            _text(entry.get("alt")) if path == "AREA@/href" else ""
        )
        links.append(Link(target, anchor, rel, image=path == "AREA@/href"))
        if len(links) >= _SETTINGS.max_links_per_page:
            page.error = "links-truncated"
            break
    robots = [
        m.get("content", "")
        for m in map(_dict, _list(head.get("Metas")))
        if isinstance(m.get("name"), str)
        and m["name"].strip().lower() in ("robots", _SETTINGS.product_token)
        and isinstance(m.get("content"), str)
    ]
    directives = robots_directives(robots, _SETTINGS.product_token)
    title = _text(head.get("Title"))
    page.title = title or None
    page.noindex = "noindex" in directives
    page.nofollow = "nofollow" in directives
    page.links = links
    if canonical is not None and len(canonical) <= limit:
        page.canonical = canonical
        if canonical != page.url:
            page.links.append(Link(canonical, kind="canonical"))


def page_of_wat(capture: Capture) -> Page | Skip | Bad:
    """The page a WAT ``metadata`` record describes (see the module docstring)."""
    if capture.type != "metadata":
        return Skip(capture.type if capture.type in ("warcinfo", "request") else "not metadata")
    try:
        doc = json.loads(capture.body)
    except ValueError:
        return Bad("WAT record is not JSON")
    except RecursionError:  # arrays or objects nested deeper than the parser's stack
        return Bad("WAT record nested too deep")
    envelope = _dict(_dict(doc).get("Envelope"))
    warc = _dict(envelope.get("WARC-Header-Metadata"))
    kind = warc.get("WARC-Type")
    if kind != "response":
        return Skip("WAT of a request record" if kind == "request" else "WAT of another record")
    payload = _dict(envelope.get("Payload-Metadata"))
    http = _dict(payload.get("HTTP-Response-Metadata"))
    if not http:
        return Skip("WAT of a response that is not HTTP")
    raw_url = warc.get("WARC-Target-URI")
    url = normalize(raw_url.strip()) if isinstance(raw_url, str) else None
    if url is None:
        return Bad("WAT response without an http(s) WARC-Target-URI")
    if len(url) > _SETTINGS.max_url_length:
        return Skip("URL longer than max_url_length")
    date = warc_date(warc.get("WARC-Date") if isinstance(warc.get("WARC-Date"), str) else None)
    if date is None:
        return Bad("WAT response without a valid WARC-Date")
    status = _status(_dict(http.get("Response-Message")).get("Status"))
    if status is None:
        return Bad("WAT response without an HTTP status")
    headers = _dict(http.get("Headers"))
    ip = warc.get("WARC-IP-Address")
    # The address of the capture is in the envelope; the WAT record's own header has none.
    capture.ip = ip.strip() or None if isinstance(ip, str) else None
    page = Page(
        url,
        0,
        date,
        status=status,
        final_url=url,
        content_type=_header(headers, "content-type"),
        etag=_header(headers, "etag"),
        last_modified=_header(headers, "last-modified"),
    )
    entity = http.get("Entity-Length")
    if isinstance(entity, str) and _DIGITS.fullmatch(entity) and int(entity) < _MAX_SIZE:
        page.size = int(entity)
    if status == 304:
        page.not_modified = True
        return page
    if status < 200:
        return Skip("1xx interim response")
    if status in REDIRECTS:
        target = resolve(_header(headers, "location") or "", url)
        if target is not None and len(target) <= _SETTINGS.max_url_length:
            page.final_url = target
            page.links.append(Link(target, kind="redirect"))
        return page
    if 200 <= status < 300:
        html = http.get("HTML-Metadata")
        if not isinstance(html, dict):
            return Skip("not HTML")
        _html_links(page, html)
        robots_header = _header(headers, "x-robots-tag")
        if robots_header:
            header = robots_directives([robots_header], _SETTINGS.product_token)
            page.noindex = page.noindex or "noindex" in header
            page.nofollow = page.nofollow or "nofollow" in header
    return page


def import_wat(
    db: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Callable[[ArchiveReport], None] | None = None,
    report: ArchiveReport | None = None,
) -> ArchiveReport:
    """Import WAT / WAT.gz files into ``db``, a SQLite path or a PostgreSQL URL (created
    if missing): the hyperlinks Common Crawl extracted, per page, dated by capture (see
    the module docstring)."""
    return import_archives(
        db, paths, fmt="wat", convert=page_of_wat, progress=progress, report=report
    )
