"""linkgraph serve in a real browser: headless Debian Chromium driven by Playwright, over the
demo web crawled twice (with a hostile site in it) and ranked.

One browser for the session, one server for the module (``linkgraph serve --port 0`` on
127.0.0.1, stopped with Ctrl-C by the fixture). Without Chromium or Playwright these tests
skip, saying what to install; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from crawl_support import settings_for
from linkgraph.storage.identity import registrable_domain

import linkgraph
from linkgraph import api
from linkgraph.demo import TARGET, DemoPage, DemoSite, DemoWeb, generate, site_url

CHROMIUM = Path("/usr/bin/chromium")
DOMAIN = registrable_domain(TARGET)  # acme-shoes.test
# What a payload would do if it ran: set this flag, or open a dialog.
PAYLOAD = "window.__xss=1"
ANCHOR = (
    f'<script>{PAYLOAD}</script>"onmouseover="{PAYLOAD}" <img src=x onerror="{PAYLOAD};alert(1)">'
)
TITLE = f'<script>{PAYLOAD}</script>"onmouseover="{PAYLOAD} Acme Shoes fans'
JS_ANCHOR = "javascript:alert(1)"


def hostile_site() -> DemoSite:
    """A page whose title and anchors carry markup and script payloads (as text: the HTML
    escapes them, so the crawler reads them back as the literal characters)."""
    body = (
        f"<html><head><title>{html.escape(TITLE)}</title></head><body>"
        "<p>We love Acme Shoes and their trail range.</p>"
        f'<a href="{site_url(TARGET, "/")}">{html.escape(ANCHOR)}</a> '
        f'<a href="{site_url(TARGET, "/running-shoes")}">{html.escape(JS_ANCHOR)}</a> '
        f'<a href="{site_url(TARGET, "/")}?q=%22onmouseover=%22{PAYLOAD}">Acme</a>'
        "</body></html>"
    )
    return DemoSite("www.hostile-fans.test", [DemoPage.html("/", body)])


def need(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# Module, not session: Playwright's sync API keeps an event loop marked running in this
# thread while it is open, and every later test of the same worker that runs a loop
# (linkgraph.import_links, say) would then fail with "Runner.run() cannot be called
# from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        need("Chromium not found: install the Debian package chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright not found: pip install '.[test]'")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            chromium_sandbox=False,
            # Tests reach loopback only: no name resolves, no background service calls home.
            args=[
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-domain-reliability",
                "--disable-sync",
                "--no-first-run",
                "--no-sandbox",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def crawled(tmp: Path) -> Path:
    """The demo web and the hostile site crawled, refreshed after a change (new and lost
    links), and ranked."""
    web = DemoWeb([*generate(12, 6), hostile_site()])
    web.start_in_thread()
    db = tmp / "links.db"
    try:
        hosts = web.write_hosts_file(tmp / "hosts")
        settings = settings_for(web, hosts, pinned_only=True, delay=0.02, max_depth=4)
        api.run(api.crawl_async(db, settings))
        time.sleep(1.1)  # times are whole seconds: keep the two crawls apart
        web.replace_sites([*generate(12, 6, generation=2), hostile_site()])
        api.run(api.crawl_async(db, dataclasses.replace(settings, refresh=True)))
    finally:
        web.stop()
    linkgraph.rank(db)
    return db


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(crawled, tmp_path_factory.mktemp("webdemo")).result(timeout=240)


@pytest.fixture(scope="module")
def server(demo: Path) -> Iterator[str]:
    with subprocess.Popen(
        [sys.executable, "-P", "-m", "linkgraph", "serve", "--db", str(demo), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = line.split(" on ", 1)[1].split()[0].rstrip("/")
            assert url.startswith("http://127.0.0.1:")
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900})
    p = context.new_page()
    p.set_default_timeout(10_000)
    p.errors = []  # console errors: a CSP violation is one
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    try:
        yield p
    finally:
        context.close()


def cli(db: Path, *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-P", "-m", "linkgraph", *args, "--db", str(db)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def cli_json(db: Path, *args: str) -> Any:
    return json.loads(cli(db, *args, "--format", "json"))


def shot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a page, not a blank
    return path


def test_every_page_opens_from_the_navigation_with_no_console_error(
    page: Any, server: str, tmp_path: Path
) -> None:
    page.goto(f"{server}/")
    shot(page, tmp_path, "home")
    page.fill("main input[name=target]", DOMAIN)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/overview\?"))
    assert page.locator("h1").inner_text() == DOMAIN
    labels = page.locator("nav.tabs a").all_inner_texts()
    assert len(labels) == 12
    for label in labels:
        page.click(f"nav.tabs a:text-is('{label}')")
        page.wait_for_load_state()
        assert page.locator("nav.tabs a.on").inner_text() == label
        assert page.locator("h1").count() == 1
        if label == "Intersect":
            page.fill("input[name=competitors]", f"{DOMAIN} runners-weekly.test")
            page.fill("input[name=min]", "1")
            page.click("form.filters button")
        if label == "Mentions":
            page.fill("input[name=phrase]", "Acme Shoes")
            page.click("form.filters button")
        if label not in ("Crawl", "Top", "Broken"):
            assert DOMAIN in page.url or "competitors" in page.url or "phrase" in page.url
        shot(page, tmp_path, label.lower().replace(" ", "-").replace("&", "and"))
        assert page.locator(".error").count() == 0, label
    assert page.errors == []
    # A domain in a table leads to its own overview.
    page.goto(f"{server}/referring-domains?target={DOMAIN}")
    first = page.locator("#records tbody tr td a").first
    name = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/overview\?"))
    assert page.locator("h1").inner_text() == name
    assert page.locator(".card .label").all_inner_texts()[:2] == ["DOMAIN AUTHORITY", "BACKLINKS"]


def _week(stamp: str) -> str:
    day = datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def test_overview_numbers_and_charts_match_the_clis_json(
    page: Any, server: str, demo: Path, tmp_path: Path
) -> None:
    domains = cli_json(demo, "referring-domains", DOMAIN, "--limit", "1000000")
    links = cli_json(demo, "backlinks", DOMAIN, "--limit", "1000000")
    classes = cli_json(demo, "anchors", DOMAIN, "--classify")["classes"]
    changes = cli_json(demo, "changes", DOMAIN, "--by", "week")["links"]
    page.goto(f"{server}/overview?target={DOMAIN}")
    shot(page, tmp_path, "overview")
    cards = {
        page.locator(".card .label").nth(i).inner_text().lower(): page.locator(".card .value")
        .nth(i)
        .inner_text()
        for i in range(page.locator(".card").count())
    }
    assert cards["backlinks"] == f"{len(links):,}"
    assert cards["referring domains"] == f"{len(domains):,}"
    assert cards["referring ips"] == f"{len({ip for d in domains for ip in d['ips']}):,}"

    def bars(chart: str) -> int:
        return page.locator(f"#chart-{chart} svg [aria-roledescription=bar]").count()

    rels = set()
    for link in links:
        marked = {r.lower() for r in link["rel"]} & {"nofollow", "sponsored", "ugc"}
        rels |= marked or {"follow"}
    first_days = {date.fromisoformat(d["first_seen"][:10]) for d in domains}
    weeks = {(_week(c["date"]), c["change"], c["reason"]) for c in changes}
    assert bars("anchor-classes") == len([c for c in classes if c["backlinks"]]) > 1
    assert bars("rel") == len(rels)
    assert bars("placement") == len({link["placement"] for link in links}) > 1
    assert bars("authority") == len(
        {min(int(d["authority"] // 10), 9) for d in domains if d["authority"] is not None}
    )
    assert bars("changes") == len(weeks) > 1
    points = page.locator("#chart-referring-domains svg .mark-symbol.role-mark path").count()
    assert points == len(first_days)


def _rows(page: Any) -> list[tuple[str, str]]:
    return [
        (
            r.locator("td").nth(0).locator(".url").inner_text(),
            r.locator("td").nth(1).locator(".url").inner_text(),
        )
        for r in page.locator("#records tbody tr").all()
    ]


def test_filters_and_paging_list_what_the_cli_lists(page: Any, server: str, demo: Path) -> None:
    top = cli_json(demo, "top", "--level", "domain", "--limit", "100")
    busiest = max(top, key=lambda r: r["backlinks"])["domain"]
    expected = cli_json(
        demo, "backlinks", busiest, "--follow-only", "--placement", "content", "--limit", "1000000"
    )
    assert len(expected) > 50  # more than one page
    page.goto(f"{server}/backlinks?target={busiest}")
    page.check("input[name=follow_only]")
    page.select_option("select[name=placement]", "content")
    page.click("form.filters button")
    page.wait_for_url(re.compile("follow_only=1"))
    assert page.locator(".summary strong").inner_text() == f"{len(expected):,}"
    seen = _rows(page)
    while page.locator("a[rel=next]").count():
        page.click("a[rel=next]")
        page.wait_for_load_state()
        seen += _rows(page)
    assert seen == [(r["source"], r["target"]) for r in expected]
    # Sorting by a column orders every page's rows by it.
    page.goto(f"{server}/referring-domains?target={DOMAIN}")
    page.click("th a:text-is('backlinks')")
    page.wait_for_url(re.compile("order=backlinks"))
    counts = [
        int(t.replace(",", ""))
        for t in page.locator("#records tbody tr td:nth-child(2)").all_inner_texts()
    ]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) > 1


@pytest.mark.parametrize(
    "path, args",
    [
        ("backlinks?target={d}&follow_only=1", ["backlinks", "{d}", "--follow-only"]),
        (
            "referring-domains?target={d}&include_lost=1",
            ["referring-domains", "{d}", "--include-lost"],
        ),
        ("anchors?target={d}", ["anchors", "{d}"]),
        ("changes?target={d}", ["changes", "{d}"]),
        ("top?level=host", ["top", "--level", "host"]),
        ("toxic?target={d}", ["toxic", "{d}"]),
        ("broken", ["broken"]),
        ("backlinks?target={d}&quality=1", ["backlinks", "{d}", "--quality"]),
        (
            "anchors?target={d}&classify=1&brand=Acme+Shoes",
            ["anchors", "{d}", "--classify", "--brand", "Acme Shoes"],
        ),
        (
            "intersect?competitors={d}+runners-weekly.test&min=1",
            ["intersect", "{d}", "runners-weekly.test", "--min", "1"],
        ),
        ("mentions?phrase=Acme+Shoes", ["mentions", "Acme Shoes"]),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_downloads_equal_the_clis_output(
    page: Any, server: str, demo: Path, path: str, args: list[str], fmt: str
) -> None:
    page.goto(f"{server}/{path.format(d=DOMAIN)}")
    total = int(page.locator(".summary strong").inner_text().replace(",", ""))
    with page.expect_download() as info:
        page.click(f".downloads a:text-is('{fmt.upper()}')")
    got = Path(info.value.path()).read_bytes()
    shown = page.locator(".shell code").inner_text()
    limit = ["--limit", str(total)] if "--limit" in shown else []
    expected = cli(demo, *[a.format(d=DOMAIN) for a in args], *limit, "--format", fmt)
    assert got == expected
    assert got.count(b"\n") > 1


def _entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_disavow_download_is_the_clis_file_and_the_ticks_choose_domains(
    page: Any, server: str, demo: Path
) -> None:
    before = hashlib.sha256(demo.read_bytes()).hexdigest()
    page.goto(f"{server}/toxic?target={DOMAIN}")
    with page.expect_download() as info:
        page.click("text=Download disavow file")
    got = Path(info.value.path()).read_text()
    expected = cli(demo, "disavow", DOMAIN).decode()
    assert got == expected
    ticked = page.locator("input[name=domain]:checked")
    assert ticked.count() >= 1
    dropped = ticked.first.get_attribute("value")
    ticked.first.uncheck()
    with page.expect_download() as info:
        page.click("text=Download disavow file")
    chosen = _entries(Path(info.value.path()).read_text())
    assert f"domain:{dropped}" in _entries(expected)
    assert f"domain:{dropped}" not in chosen
    assert set(chosen) == set(_entries(expected)) - {f"domain:{dropped}"} - {
        e for e in _entries(expected) if not e.startswith("domain:") and dropped in e
    }
    assert hashlib.sha256(demo.read_bytes()).hexdigest() == before  # nothing written


HOSTILE_PAGES = [
    f"overview?target={DOMAIN}",
    f"backlinks?target={DOMAIN}",
    f"backlinks?target={DOMAIN}&quality=1",
    f"anchors?target={DOMAIN}",
    f"changes?target={DOMAIN}",
    "mentions?phrase=Acme+Shoes",
    "referring-domains?target=hostile-fans.test",
    "overview?target=http://www.hostile-fans.test/",
]


def test_hostile_text_is_shown_as_text_and_runs_nothing(
    page: Any, server: str, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    shown = SimpleNamespace(anchor=False, title=False, js=False)
    for i, path in enumerate(HOSTILE_PAGES):
        page.goto(f"{server}/{path}")
        for row in page.locator("#records tbody tr").all()[:40]:
            row.hover()  # an injected onmouseover would fire here
        text = page.locator("main").inner_text()
        shown.anchor |= f"<script>{PAYLOAD}</script>" in text and "onerror=" in text
        shown.title |= TITLE in text
        shown.js |= JS_ANCHOR in text
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("a[href^='javascript:' i]").count() == 0
        assert page.locator("main script, main img, main [onmouseover]").count() == 0, path
        shot(page, tmp_path, f"hostile-{i}")
    assert dialogs == []
    assert shown.anchor and shown.title and shown.js  # the payloads were on the pages, as text
    assert page.errors == []


def test_graph_draws_the_strongest_referring_domains_and_theirs(
    page: Any, server: str, demo: Path
) -> None:
    def strongest(domain: str, n: int) -> list[str]:
        rows = linkgraph.referring_domains(demo, domain, mode="domain", limit=None)
        rows.sort(key=lambda r: (-(r["authority"] or 0.0), r["domain"]))
        return [r["domain"] for r in rows[:n]]

    inner = strongest(DOMAIN, 12)
    outer = {d for r in inner for d in [x for x in strongest(r, 6) if x != DOMAIN][:5]}
    expected = {DOMAIN, *inner} | outer
    page.goto(f"{server}/graph?target={DOMAIN}")
    circles = page.locator("#chart-graph svg .mark-symbol.role-mark path").count()
    names = set(page.locator(".panel table td:first-child a").all_inner_texts())
    assert names == expected
    assert circles == len(expected) > 5
