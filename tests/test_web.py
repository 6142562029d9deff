"""linkgraph serve, in process (no browser): safety headers, the token, escaping, errors,
downloads equal to the CLI's output, and the command's start and stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

import linkgraph
from linkgraph.web import is_loopback, make_app

# Hostile crawled text: markup in an anchor, a javascript: anchor, markup in a URL's path.
ROWS = [
    (
        "http://hostile.test/%3Cscript%3E",
        "https://www.acme.test/",
        '<script>window.__xss=1</script>"onmouseover="window.__xss=1',
        "",
    ),
    ("http://blog.test/post", "https://www.acme.test/", "Acme", "nofollow"),
    ("http://blog.test/post2", "https://www.acme.test/shoes", "javascript:window.__xss=1", ""),
    ("http://news.test/a", "https://www.acme.test/shoes", "Acme shoes", ""),
]


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "linkgraph", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )


def imported(path: Path, rank: bool) -> Path:
    import csv

    source = path.with_suffix(".csv")
    with source.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "target", "anchor", "rel"])
        writer.writerows(ROWS)
    linkgraph.import_links(path, source)
    if rank:
        linkgraph.rank(path)
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return imported(tmp_path_factory.mktemp("web") / "links.db", rank=True)


@pytest.fixture
async def client(db: Path) -> AsyncIterator[TestClient]:
    with linkgraph.open_store(db) as store:
        async with TestClient(TestServer(make_app(store, db))) as c:
            yield c


async def test_every_response_carries_the_csp_forbidding_inline_script(client: TestClient) -> None:
    for path in (
        "/",
        "/backlinks?target=acme.test",
        "/static/style.css",
        "/nowhere",
        "/backlinks.csv?target=acme.test",
    ):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path


async def test_a_request_naming_another_host_is_refused_on_loopback(client: TestClient) -> None:
    # A page elsewhere whose name was rebound to 127.0.0.1 sends its own name as Host.
    assert (await client.get("/", headers={"Host": "attacker.example"})).status == 403
    assert (await client.get("/", headers={"Host": f"localhost:{client.port}"})).status == 200
    # --host 127.0.0.2 is loopback too: its own name must be answered.
    assert (await client.get("/", headers={"Host": f"127.0.0.2:{client.port}"})).status == 200
    assert (await client.get("/", headers={"Host": f"[::1]:{client.port}"})).status == 200


async def test_a_token_is_required_on_every_request_then_kept_in_a_cookie(db: Path) -> None:
    with linkgraph.open_store(db) as store:
        async with TestClient(TestServer(make_app(store, db, token="s3cret-token"))) as c:
            assert (await c.get("/")).status == 403
            assert (await c.get("/static/style.css")).status == 403
            assert (await c.get("/?token=wrong-token")).status == 403
            assert (await c.get("/?token=s3cret-token")).status == 200
            assert (await c.get("/backlinks?target=acme.test")).status == 200  # the cookie
            c.session.cookie_jar.clear()
            assert (await c.get("/")).status == 403
            ok = await c.get("/", headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status == 200


@pytest.mark.parametrize(
    "path",
    ["/backlinks?target=acme.test", "/anchors?target=acme.test", "/overview?target=acme.test"],
)
async def test_hostile_anchors_and_urls_are_escaped_and_never_links(
    client: TestClient, path: str
) -> None:
    html = await (await client.get(path)).text()
    assert "<script>window" not in html
    assert '"onmouseover="window' not in html
    assert 'href="javascript:' not in html.replace(" ", "")
    if "overview" not in path:
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


async def test_a_bad_filter_value_is_a_400_saying_what_is_wrong(client: TestClient) -> None:
    response = await client.get("/backlinks?target=acme.test&mode=sideways")
    assert response.status == 400
    assert "Match: choose one of exact, prefix, host, domain" in await response.text()
    response = await client.get("/intersect?competitors=acme.test+blog.test&min=many")
    assert response.status == 400
    assert "not a whole number: &#39;many&#39;" in await response.text()


@pytest.mark.parametrize("score", ["101", "-1", "abc"])
async def test_a_disavow_min_score_outside_0_to_100_is_a_400(
    client: TestClient, score: str
) -> None:
    response = await client.get(f"/disavow.txt?target=acme.test&min_score={score}")
    assert response.status == 400
    assert "Min score: a whole number 0-100" in await response.text()


async def test_an_unknown_target_says_nothing_was_found_and_what_to_try(client: TestClient) -> None:
    html = await (await client.get("/overview?target=nowhere.test")).text()
    assert "No backlinks found for nowhere.test" in html
    assert "top list" in html


@pytest.fixture(scope="module")
def unranked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return imported(tmp_path_factory.mktemp("web") / "unranked.db", rank=False)


async def test_a_store_without_rank_says_to_run_rank(unranked: Path) -> None:
    db = unranked
    with linkgraph.open_store(db) as store:
        async with TestClient(TestServer(make_app(store, db))) as c:
            assert "Run <code>linkgraph rank --db" in await (await c.get("/")).text()
            overview = await (await c.get("/overview?target=acme.test")).text()
            assert "No authority scores in this store" in overview


@pytest.mark.parametrize(
    "query, flags",
    [
        ("target=acme.test", ["acme.test"]),
        ("target=acme.test&follow_only=1&limit=2", ["acme.test", "--follow-only", "--limit", "2"]),
        (
            "target=https://www.acme.test/shoes&mode=prefix",
            ["https://www.acme.test/shoes", "--mode", "prefix"],
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_a_backlinks_download_is_the_clis_output_byte_for_byte(
    client: TestClient, db: Path, query: str, flags: list[str], fmt: str
) -> None:
    response = await client.get(f"/backlinks.{fmt}?{query}")
    assert response.status == 200
    expected = cli("backlinks", *flags, "--db", str(db), "--format", fmt)
    assert expected.returncode == 0
    assert await response.read() == expected.stdout


def test_disavow_with_chosen_domains_lists_those_whole_and_no_other(db: Path) -> None:
    text = linkgraph.disavow(db, "acme.test", min_score=0, domains={"blog.test"})
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["domain:blog.test"]
    default = linkgraph.disavow(db, "acme.test", min_score=0)
    assert {"domain:blog.test", "domain:hostile.test", "domain:news.test"} <= set(
        default.splitlines()
    )


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_on_a_missing_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = cli("serve", "--db", str(tmp_path / "none.db"), "--port", "0")
    assert done.returncode == 1
    assert len(done.stderr.decode().strip().splitlines()) == 1
    assert done.stderr.startswith(b"linkgraph: error:")


@pytest.fixture
def served(db: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with subprocess.Popen(
        [sys.executable, "-P", "-m", "linkgraph", "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            yield proc, line.split(" on ", 1)[1].split()[0]
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def test_serve_prints_its_loopback_url_and_ctrl_c_stops_it_cleanly(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    import urllib.request

    proc, url = served
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url + "backlinks?target=acme.test", timeout=30) as r:
        assert r.status == 200
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    assert proc.stderr is not None
    assert "stopped" in proc.stderr.read()


@pytest.mark.parametrize(
    "host, gets_token", [("192.0.2.7", True), ("0.0.0.0", True), ("127.0.0.1", False)]
)
def test_a_host_off_loopback_gets_a_generated_token(
    db: Path, monkeypatch: pytest.MonkeyPatch, host: str, gets_token: bool
) -> None:
    from linkgraph.web import server

    given: dict[str, object] = {}

    async def listening(db: object, host: str, port: int, token: str | None, ready: object) -> None:
        given["token"] = token  # instead of listening: the rule, not a socket

    monkeypatch.setattr(server, "_run", listening)
    server.serve(db, host=host, port=0)
    token = given["token"]
    assert (isinstance(token, str) and len(token) >= 16) is gets_token
    assert (token is None) is not gets_token


async def test_the_crawl_page_shows_the_stores_stats(client: TestClient, db: Path) -> None:
    stats = json.loads(cli("stats", "--db", str(db), "--format", "json").stdout)
    html = await (await client.get("/crawl")).text()
    cards = dict(
        re.findall(r'<span class="label">([^<]+)</span><span class="value">([^<]+)</span>', html)
    )
    assert cards["Pages fetched"] == f"{stats['pages']['fetched']:,}"
    assert cards["Queue"] == f"{stats['frontier']:,}"
    assert cards["Hosts crawled"] == f"{stats['hosts_crawled']:,}"


async def test_a_target_that_looks_like_an_option_is_a_target(client: TestClient) -> None:
    response = await client.get("/backlinks?target=--help")
    assert response.status == 200
    html = await response.text()
    assert "Nothing found" in html and "usage:" not in html


def test_the_command_shown_beside_a_download_reads_back_as_its_arguments() -> None:
    import shlex

    from linkgraph.web.pages import LIST_PAGES, command_for

    query = {"target": "-x'; rm -rf ~ #", "follow_only": "1", "brand": "Acme, Acme Shoes"}
    command = command_for(LIST_PAGES["backlinks"], query)
    argv = shlex.split(command.shell("my links.db", "csv", 5))
    assert argv[:2] == ["linkgraph", "backlinks"]
    assert argv[argv.index("--") + 1 :] == ["-x'; rm -rf ~ #"]
    assert argv[argv.index("--db") + 1] == "my links.db"
    assert ["--brand", "Acme", "--brand", "Acme Shoes"] == argv[
        argv.index("--brand") : argv.index("--brand") + 4
    ]


async def test_the_counts_shown_follow_another_process_writing_the_store(
    db: Path, tmp_path: Path
) -> None:
    import shutil

    live = tmp_path / "live.db"
    shutil.copy(db, live)
    more = tmp_path / "more.csv"
    more.write_text("source,target\nhttp://new.test/a,https://www.acme.test/\n")

    def links(html: str) -> int:
        return int(
            re.search(r"Current links</span><span class=\"value\">([\d,]+)<", html)[1].replace(
                ",", ""
            )
        )  # type: ignore[index]

    with linkgraph.open_store(live) as store:
        async with TestClient(TestServer(make_app(store, live))) as c:
            before = links(await (await c.get("/")).text())
            assert (
                cli("import", "--db", str(live), str(more)).returncode == 0
            )  # another process writes
            after = links(await (await c.get("/")).text())
    assert after == before + 1


async def test_a_postgresql_url_is_shown_without_its_password(db: Path) -> None:
    url = "postgresql://reader:s3cret-pw@127.0.0.1:5432/links"
    with linkgraph.open_store(db) as store:  # the pages read this store; the URL is its name
        async with TestClient(TestServer(make_app(store, url))) as c:
            for path in ("/", "/backlinks?target=acme.test"):
                html = await (await c.get(path)).text()
                assert "s3cret-pw" not in html
                assert "reader" in html and "127.0.0.1:5432/links" in html
