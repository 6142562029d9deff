"""The pages of ``linkgraph serve``: home, overview, the list pages, downloads, crawl."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from markupsafe import Markup

from linkgraph.storage.interface import LinkFilter, PageSpec
from linkgraph.storage.listpages import sortable

from ..audit import disavow, load_profile
from . import charts
from .overview import overview
from .pages import LIST_PAGES, ListPage, command_for, sort_records
from .runner import BadRequest, Command, run_command, run_json
from .state import EXPLORER

__all__ = ["add_routes", "error_page"]

STATIC = Path(__file__).parent / "static"
PER_PAGE = 50
# The navigation, in the order a user works through a target.
NAV = (
    ("overview", "Overview"),
    ("backlinks", "Backlinks"),
    ("referring-domains", "Referring domains"),
    ("anchors", "Anchors"),
    ("changes", "New & lost"),
    ("broken", "Broken"),
    ("toxic", "Toxic"),
    ("graph", "Graph"),
    ("intersect", "Intersect"),
    ("mentions", "Mentions"),
    ("top", "Top"),
    ("crawl", "Crawl"),
)
# Columns that hold a page's URL, and a host's or domain's name: linked to their overview.
URL_COLUMNS = frozenset({"source", "target", "url"})
NAME_COLUMNS = frozenset({"domain", "host"})
DISAVOW_MIN = 50  # linkgraph disavow's default --min-score


def _render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    target = request.query.get("target", "").strip()
    mode = request.query.get("mode", "").strip()
    carried = urlencode({k: v for k, v in (("target", target), ("mode", mode)) if v})
    html = (
        request.app[EXPLORER]
        .env.get_template(template)
        .render(
            nav=NAV,
            carried=carried,
            target=target,
            mode=mode,
            db=request.app[EXPLORER].db,
            here=request.path.strip("/") or "home",
            url_columns=URL_COLUMNS,
            name_columns=NAME_COLUMNS,
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", status=status)


def error_page(request: web.Request, message: str, status: int = 400) -> web.Response:
    return _render(request, "error.html", status=status, message=message, title="Error")


def _stats(request: web.Request) -> dict[str, Any]:
    # The counts `linkgraph stats` prints, without the health check it runs first: SQLite's
    # quick_check reads the whole file (seconds at 10M links), too much for a page that
    # refreshes every 5 seconds. `linkgraph stats` is the command that checks.
    return request.app[EXPLORER].store.stats()  # type: ignore[no-any-return]


async def home(request: web.Request) -> web.Response:
    ranked = request.app[EXPLORER].authority.ranked()
    top = (
        run_json(request.app[EXPLORER].store, Command("top", ["--level", "domain"]))
        if ranked
        else []
    )
    return _render(
        request,
        "home.html",
        title="linkgraph",
        stats=_stats(request),
        top=top,
        ranked=ranked,
    )


async def overview_page(request: web.Request) -> web.Response:
    target = request.query.get("target", "").strip()
    if not target:
        raise web.HTTPFound("/")
    mode = request.query.get("mode", "").strip()
    if mode and mode not in ("exact", "prefix", "host", "domain"):
        raise BadRequest("Match: choose one of exact, prefix, host, domain")
    data = overview(request.app[EXPLORER].store, request.app[EXPLORER].authority, target, mode)
    rendered = {
        name: Markup(charts.render(spec)) if has_data else None  # Vega escapes the text it draws
        for name, (spec, has_data) in data["charts"].items()
    }
    titles = {name: spec["title"] for name, (spec, _) in data["charts"].items()}
    return _render(
        request,
        "overview.html",
        title=f"Overview of {target}",
        data=data,
        charts=rendered,
        chart_titles=titles,
    )


def _query_string(query: Any, **changes: Any) -> str:
    merged = {k: query.getall(k) for k in query}
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = [str(v)]
    return urlencode([(k, v) for k, vs in merged.items() for v in vs])


# The list pages a store can serve a page at a time (storage.interface.PageReader),
# by the name of its method; the others list every record of their command.
PAGED = {
    "backlinks": "backlinks_page",
    "referring-domains": "referring_domains_page",
    "anchors": "anchors_page",
}


# Page numbers past this are past the end of any list (and stay small integers).
_LAST_PAGE = 10**12


def _requested_page(query: Any) -> int:
    try:
        return min(max(int(query.get("page", "1")), 1), _LAST_PAGE)
    except ValueError:
        return 1


def _paged(
    store: Any, page: ListPage, command: Command, query: Any
) -> tuple[list[dict[str, Any]], int, int] | None:
    """``(rows, total, page number)`` of the page the query asks for, from the store a
    page at a time; ``None`` when it cannot (another list, a store without the method,
    the quality score or the anchor classes, which need every record)."""
    method = PAGED.get(page.slug)
    if method is None or not hasattr(store, method):
        return None
    if query.get("quality", "").strip() or query.get("classify", "").strip():
        return None
    args = command.parse(None)  # the command's own checks of every value
    where = LinkFilter(
        follow_only=args.follow_only,
        include_internal=args.include_internal,
        include_lost=args.include_lost,
        placement=args.placement,
    )
    order = query.get("order", "")
    spec = PageSpec(
        order=order if order in sortable(page.slug, where) else "",
        descending=query.get("dir", "desc") != "asc",
        limit=PER_PAGE,
    )
    extra = {"sort": args.sort} if page.slug == "backlinks" else {}
    fetch = getattr(store, method)
    number = _requested_page(query)
    while True:
        spec = replace(spec, offset=(number - 1) * PER_PAGE)
        rows, total = fetch(args.target, where, mode=args.mode, page=spec, **extra)
        last = max(1, math.ceil(total / PER_PAGE))
        if number <= last:
            return rows, total, number
        number = last  # past the end: the last page, as a list of every record shows it


async def list_page(request: web.Request) -> web.Response:
    page: ListPage = LIST_PAGES[request.match_info["slug"]]
    query = request.query
    context: dict[str, Any] = {"page": page, "query": query, "title": page.title, "records": None}
    if page.required and not query.get(page.required, "").strip():
        return _render(request, "list.html", **context)
    command = command_for(page, query)
    store = request.app[EXPLORER].store
    order = query.get("order", "")
    descending = query.get("dir", "desc") != "asc"
    paged = _paged(store, page, command, query)
    if paged is not None:
        rows, total, number = paged
        records: list[dict[str, Any]] = rows
    else:
        records = page.records_of(run_json(store, command, limit=None), query)
        if records and order in records[0] and order not in page.hidden:
            records = sort_records(records, order, descending)
        total = len(records)
        number = _requested_page(query)
    hidden = set(page.hidden)
    columns = [c for c in (records[0] if records else {}) if c not in hidden]
    # The toxic list is one form (a tick per domain): every row on one page.
    pages = 1 if page.slug == "toxic" else max(1, math.ceil(total / PER_PAGE))
    number = min(number, pages)
    if paged is None and page.slug != "toxic":
        rows = records[(number - 1) * PER_PAGE : number * PER_PAGE]
    elif paged is None:
        rows = records
    limit = total if page.has_limit else None
    download = _query_string(query, page=None, order=None, dir=None, limit=limit)
    context.update(
        records=records,
        rows=rows,
        columns=columns,
        total=total,
        number=number,
        pages=pages,
        first=(number - 1) * PER_PAGE + 1 if rows else 0,
        order=order,
        descending=descending,
        qs=lambda **changes: _query_string(query, **changes),
        download=download,
        shell_csv=command.shell(request.app[EXPLORER].db, "csv", limit),
        disavow_min=DISAVOW_MIN,
    )
    return _render(request, "list.html", **context)


async def download(request: web.Request) -> web.Response:
    page = LIST_PAGES[request.match_info["slug"]]
    fmt = request.match_info["fmt"]
    query = request.query
    if page.required and not query.get(page.required, "").strip():
        raise BadRequest(f"{page.title}: fill in {page.required} first")
    command = command_for(page, query)
    if page.has_limit and query.get("limit", "").strip():
        command.flags += ["--limit", query["limit"].strip()]
    text = run_command(request.app[EXPLORER].store, command, fmt)
    return web.Response(
        text=text,
        content_type="text/csv" if fmt == "csv" else "application/json",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="linkgraph-{page.slug}.{fmt}"'},
    )


async def disavow_file(request: web.Request) -> web.Response:
    """Google's disavow file for the ticked domains: ``linkgraph disavow``'s own text when
    the ticks are its choice (every domain scoring the threshold or more). Writes nothing."""
    query = request.query
    target = query.get("target", "").strip()
    if not target:
        raise BadRequest("the disavow file needs a target")
    mode = query.get("mode", "").strip() or None
    try:
        min_score = int(query.get("min_score", "") or DISAVOW_MIN)
    except ValueError:
        min_score = -1
    if not 0 <= min_score <= 100:  # as `linkgraph disavow --min-score` refuses it
        raise BadRequest("Min score: a whole number 0-100")
    profile = load_profile(
        brand=[b.strip() for b in query.get("brand", "").split(",") if b.strip()],
        keyword=[k.strip() for k in query.get("keyword", "").split(",") if k.strip()],
    )
    store = request.app[EXPLORER].store
    chosen: set[str] | None = None
    if "reviewed" in query:
        chosen = set(query.getall("domain", []))
        flags = ["--min-score", str(min_score), *(["--mode", mode] if mode else [])]
        scored = run_json(store, Command("toxic", flags, [target]))
        if chosen == {r["domain"] for r in scored}:
            chosen = None  # the command's own choice: its own file
    text = disavow(store, target, min_score=min_score, profile=profile, mode=mode, domains=chosen)
    return web.Response(
        text=text,
        content_type="text/plain",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="disavow.txt"'},
    )


GRAPH_FIRST, GRAPH_SECOND = 12, 5


async def graph_page(request: web.Request) -> web.Response:
    from linkgraph.storage.identity import registrable_domain

    from .graph import neighbourhood, spec

    target = request.query.get("target", "").strip()
    host = (urlsplit(target).hostname or "") if "://" in target else target.lower()
    domain = registrable_domain(host) or host if host else ""
    graph = svg = None
    if domain:
        graph = neighbourhood(
            request.app[EXPLORER].store, domain, first=GRAPH_FIRST, second=GRAPH_SECOND
        )
        if len(graph["nodes"]) > 1:
            svg = Markup(
                charts.render(spec(graph, f"Links around {domain}"))
            )  # Vega escapes its text
    return _render(
        request,
        "graph.html",
        title=f"Neighbourhood of {domain}" if domain else "Neighbourhood",
        domain=domain,
        graph=graph,
        svg=svg,
        first=GRAPH_FIRST,
        second=GRAPH_SECOND,
    )


async def crawl_page(request: web.Request) -> web.Response:
    stats = _stats(request)
    samples = request.app[EXPLORER].samples
    samples.append((time.monotonic(), stats["pages"]["fetched"]))
    del samples[:-2]
    rate = None
    if len(samples) == 2 and samples[1][0] > samples[0][0]:
        rate = (samples[1][1] - samples[0][1]) / (samples[1][0] - samples[0][0])
    return _render(request, "crawl.html", title="Crawl", stats=stats, rate=rate)


def add_routes(app: web.Application) -> None:
    slugs = "|".join(LIST_PAGES)
    app.router.add_get("/", home)
    app.router.add_get("/overview", overview_page)
    app.router.add_get("/crawl", crawl_page)
    app.router.add_get("/graph", graph_page)
    app.router.add_get("/disavow.txt", disavow_file)
    app.router.add_get(f"/{{slug:({slugs})}}.{{fmt:(csv|json)}}", download)
    app.router.add_get(f"/{{slug:({slugs})}}", list_page)
    app.router.add_static("/static", STATIC)
