"""``linkgraph robots``: the crawler's robots.txt answer per URL, from a file or a URL.

Expected answers are worked out by hand from RFC 9309, or taken from the crawl test whose
expectations were (``test_crawl_robots.RULES``). Fetching tests serve robots.txt from a
demo web on loopback, reached through a hosts-file pin as a crawl reaches it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from crawl_support import site
from test_crawl_robots import ALLOWED, DISALLOWED, RULES

from linkgraph.cli import main
from linkgraph.demo import DemoPage, DemoSite, DemoWeb

pytestmark = pytest.mark.timeout(60)

ROBOTS = "# shop\nUser-agent: *\nDisallow: /private\nAllow: /private/open\n\n"
ROBOTS += "User-agent: Googlebot\nDisallow: /nogoogle\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "robots", *argv, "--format", "json")
    assert (code, err) == (0, "")
    result: dict[str, Any] = json.loads(out)
    return result


def robots_file(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "robots.txt"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_a_file_answers_each_url_with_the_deciding_rule_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = report(capsys, robots_file(tmp_path, ROBOTS), "/private/x", "/private/open/y", "/a")
    assert (got["outcome"], got["token"]) == ("parsed", "linkgraph")
    rows = [(r["url"], r["allowed"], r["rule"], r["line"], r["user_agent"]) for r in got["results"]]
    assert rows == [
        ("/private/x", False, "Disallow: /private", 3, "*"),
        ("/private/open/y", True, "Allow: /private/open", 4, "*"),
        ("/a", True, None, None, None),
    ]


def test_the_user_agent_picks_its_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = robots_file(tmp_path, ROBOTS)
    got = report(
        capsys,
        path,
        "https://shop.example/nogoogle",
        "/private/x",
        "--user-agent",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    )
    assert got["token"] == "Googlebot"
    first, second = got["results"]
    assert (first["allowed"], first["line"], first["user_agent"]) == (False, 7, "Googlebot")
    assert (second["allowed"], second["reason"]) == (True, "no matching rule")


def test_the_answers_are_the_crawlers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same rules and paths whose crawl test checks what is and is not requested.
    got = report(capsys, robots_file(tmp_path, RULES), *ALLOWED, *DISALLOWED)
    assert [r["url"] for r in got["results"] if r["allowed"]] == ALLOWED
    assert [r["url"] for r in got["results"] if not r["allowed"]] == DISALLOWED


def test_the_table_shows_crawled_text_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = b"User-agent: linkgraph[red]\x1b[2J\nDisallow: /a\x1b[2J[bold]\xc2\x9b1m\x07\n"
    path = "/a%1B[2J[bold]%C2%9B1m%07"
    code, out, err = run(capsys, "robots", robots_file(tmp_path, text), path)
    assert (code, err) == (0, "")
    assert not any(c in out for c in "\x1b\x07\x9b")
    assert "Disallow: /a\\x1b[2J[bold]\\x9b1m\\x07" in out
    assert "linkgraph[red]\\x1b[2J" in out
    assert "disallowed" in out


def test_json_escapes_every_control_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "User-agent: *\nDisallow: /a\u009b\u007f\n".encode()
    code, out, _ = run(
        capsys, "robots", robots_file(tmp_path, text), "/a%C2%9B%7F", "--format", "json"
    )
    assert code == 0
    assert not any(c in out for c in "\x7f\x9b")
    assert json.loads(out)["results"][0]["rule"] == "Disallow: /a\u009b\u007f"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/robots.txt", "/a"], "cannot read robots.txt file /no/such/robots.txt"),
        (["ROBOTS", "ftp://example.com/a"], "not an http(s) URL or a path starting with '/'"),
    ],
)
def test_bad_input_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [robots_file(tmp_path, ROBOTS) if a == "ROBOTS" else a for a in argv]
    code, out, err = run(capsys, "robots", *argv)
    assert (code, out) == (1, "")
    assert err.startswith("linkgraph: error: ") and message in err
    assert err.count("\n") == 1


# -- fetched from a URL -------------------------------------------------------------------


async def fetched(
    capsys: pytest.CaptureFixture[str], web: DemoWeb, tmp_path: Path, name: str, *paths: str
) -> tuple[int, str, str]:
    hosts = web.write_hosts_file(tmp_path / "hosts")
    argv = ["robots", web.url(name, "/robots.txt"), *paths, "--hosts-file", str(hosts)]
    code = await asyncio.to_thread(main, [*argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_url_is_fetched_following_redirects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "www.moved.test"
    real = DemoPage.robots(ROBOTS)
    real.path = "/real-robots.txt"
    robots = DemoPage.redirect("/robots.txt", "/real-robots.txt")
    async with DemoWeb([site(name, [real], robots=robots)]) as web:
        code, out, err = await fetched(capsys, web, tmp_path, name, "/private/x", "/a")
        requested = [h.path for h in web.hits(name)]
        final = web.url(name, "/real-robots.txt")
    assert (code, err) == (0, "")
    assert requested == ["/robots.txt", "/real-robots.txt"]
    got = json.loads(out)
    assert (got["fetched"], got["status"], got["outcome"]) == (final, 200, "parsed")
    assert [(r["allowed"], r["line"]) for r in got["results"]] == [(False, 3), (True, None)]


@pytest.mark.parametrize(
    ("status", "outcome", "allowed", "rule"),
    [(404, "unavailable", True, None), (503, "unreachable", False, "Disallow: /")],
)
async def test_the_status_rules_are_the_crawlers(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    outcome: str,
    allowed: bool,
    rule: str | None,
) -> None:
    # §2.3.1.3: 4xx means unavailable, allow all; §2.3.1.4: 5xx means disallow all.
    name = "www.status.test"
    robots = DemoPage.robots("User-agent: *\nDisallow: /x\nAllow: /a\n", status)
    async with DemoWeb([site(name, [], robots=robots)]) as web:
        code, out, _ = await fetched(capsys, web, tmp_path, name, "/a", "/x")
    got = json.loads(out)
    assert (code, got["status"], got["outcome"]) == (0, status, outcome)
    assert [(r["allowed"], r["rule"], r["line"]) for r in got["results"]] == [
        (allowed, rule, None)
    ] * 2


async def test_a_line_cut_by_the_size_limit_is_dropped_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "www.long.test"
    # The limit falls inside "Allow: /b/c", which, cut, would read "Allow: /" and open
    # the site; the complete lines before it still apply.
    head = "User-agent: *\nDisallow: /\nDisallow: /a"
    robots = head + "\nAllow: /b/c\n"
    config = tmp_path / "small.toml"
    config.write_text(f"robots_max_bytes = {len(head) + len(chr(10)) + len('Allow: /')}\n")
    async with DemoWeb([site(name, [], robots=robots)]) as web:
        hosts = web.write_hosts_file(tmp_path / "hosts")
        argv = ["robots", web.url(name, "/robots.txt"), "/a", "/b/c", "--hosts-file", str(hosts)]
        argv += ["--config", str(config), "--format", "json"]
        code = await asyncio.to_thread(main, argv)
    got = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(r["allowed"], r["rule"]) for r in got["results"]] == [
        (False, "Disallow: /a"),
        (False, "Disallow: /"),
    ]


async def test_a_loopback_host_needs_a_pin_or_the_private_address_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "www.local.test"
    async with DemoWeb([site(name, [], robots="User-agent: *\nDisallow: /\n")]) as web:
        url = web.url(name, "/robots.txt").replace(name, web.hosts[name])
        code = await asyncio.to_thread(main, ["robots", url, "/x"])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert err.startswith("linkgraph: error: robots.txt not fetched") and err.count("\n") == 1
        assert web.hits(name) == []
        argv = ["robots", url, "/x", "--allow-private-addresses", "--format", "json"]
        assert await asyncio.to_thread(main, argv) == 0
        assert json.loads(capsys.readouterr().out)["results"][0]["allowed"] is False


async def test_a_failed_fetch_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "www.down.test"
    async with DemoWeb([DemoSite(name, listening=False)]) as web:
        code, out, err = await fetched(capsys, web, tmp_path, name, "/x")
    assert (code, out) == (1, "")
    assert err.startswith("linkgraph: error: robots.txt not fetched") and err.count("\n") == 1
