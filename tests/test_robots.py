"""robots.txt: fetch-status policy, limits and decoding, group selection, crawl-delay and
sitemaps (RFC 9309)."""

from __future__ import annotations

import pytest
from linkgraph.crawler.robots import (
    MAX_SITEMAPS,
    RobotsOutcome,
    RobotsRules,
    is_valid_product_token,
    robots_url,
    rules_for_response,
)
from linkgraph.crawler.settings import CrawlSettings
from robots_support import SITE, TOKEN, allowed, rules

# --------------------------------------------------------------- fetch status (§2.3.1)

DISALLOW_X = b"User-agent: *\nDisallow: /x\n"


@pytest.mark.parametrize("status", [200, 203, 206])
def test_2xx_is_parsed(status: int) -> None:
    robots, outcome = rules_for_response(status, DISALLOW_X)
    assert outcome == RobotsOutcome.PARSED == "parsed"
    assert not robots.allowed(SITE + "/x", TOKEN)
    assert robots.allowed(SITE + "/y", TOKEN)


def test_2xx_without_a_body_allows_everything() -> None:
    robots, outcome = rules_for_response(200, None)
    assert outcome == RobotsOutcome.PARSED
    assert robots.allowed(SITE + "/anything", TOKEN)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_4xx_is_unavailable_and_allows_everything(status: int) -> None:
    robots, outcome = rules_for_response(status, DISALLOW_X)
    assert outcome == RobotsOutcome.ALLOW_ALL_4XX == "unavailable"
    assert robots.allowed(SITE + "/x", TOKEN)  # the error page's body is not parsed


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, None])
def test_5xx_429_and_network_errors_are_unreachable_and_disallow_everything(
    status: int | None,
) -> None:
    robots, outcome = rules_for_response(status, DISALLOW_X)
    assert outcome == RobotsOutcome.DISALLOW_UNAVAILABLE == "unreachable"
    assert not robots.allowed(SITE + "/", TOKEN)
    assert not robots.allowed(SITE + "/y", "anybot")
    assert robots.allowed(SITE + "/robots.txt", TOKEN)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_3xx_after_the_redirect_limit_is_unavailable(status: int) -> None:
    robots, outcome = rules_for_response(status, b"")
    assert outcome == RobotsOutcome.ALLOW_ALL_4XX
    assert robots.allowed(SITE + "/x", TOKEN)


@pytest.mark.parametrize("status", [100, 199, 600, 999, 0])
def test_nonsense_statuses_are_unreachable(status: int) -> None:
    assert rules_for_response(status, b"")[1] == RobotsOutcome.DISALLOW_UNAVAILABLE


def test_max_bytes_is_passed_through() -> None:
    body = b"User-agent: *\nDisallow: /a\nDisallow: /b\n"
    robots, _ = rules_for_response(200, body, max_bytes=len(b"User-agent: *\nDisallow: /a\n"))
    assert not robots.allowed(SITE + "/a", TOKEN)
    assert robots.allowed(SITE + "/b", TOKEN)


def test_robots_url() -> None:
    assert robots_url("https://example.com:8443") == "https://example.com:8443/robots.txt"
    assert robots_url("http://example.com") == "http://example.com/robots.txt"
    assert robots_url("http://example.com/some/page?q") == "http://example.com/robots.txt"


# ---------------------------------------------------------------- limits and decoding


def test_a_disallow_past_max_bytes_is_ignored() -> None:
    head = b"User-agent: *\nDisallow: /early\n"
    body = head + b"# padding\n" * 100 + b"Disallow: /late\n"
    cut = RobotsRules.parse(body, max_bytes=len(head) + 50)
    assert not cut.allowed(SITE + "/early", TOKEN)
    assert cut.allowed(SITE + "/late", TOKEN)
    assert not RobotsRules.parse(body).allowed(SITE + "/late", TOKEN)


def test_a_line_cut_by_max_bytes_is_dropped_whole() -> None:
    # Cut to "Allow: /" the last line would open the whole site.
    body = b"User-agent: *\nDisallow: /\nAllow: /public/page\n"
    cut = RobotsRules.parse(body, max_bytes=body.index(b"/public") + 1)
    assert not cut.allowed(SITE + "/private", TOKEN)
    assert not cut.allowed(SITE + "/public/page", TOKEN)


def test_a_limit_falling_on_a_line_end_keeps_the_line() -> None:
    body = b"User-agent: *\nDisallow: /a\nDisallow: /b\n"
    limit = body.index(b"\nDisallow: /b")
    assert not RobotsRules.parse(body, max_bytes=limit).allowed(SITE + "/a", TOKEN)


def test_the_default_limit_is_at_least_500_kib() -> None:
    head, tail, padding = b"User-agent: *\n", b"Disallow: /deep\n", b"#" + b"x" * 99 + b"\n"
    body = head + padding * ((500 * 1024 - len(head) - len(tail)) // len(padding)) + tail
    assert 500 * 1024 - 100 < len(body) <= 500 * 1024
    assert not allowed(body, "/deep")


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"])
def test_a_byte_order_mark_is_skipped(bom: bytes) -> None:
    robots = rules(bom + b"User-agent: *\nDisallow: /x\n")
    assert not robots.allowed(SITE + "/x", TOKEN)
    assert (robots.directive_count, robots.unknown_count) == (2, 0)


def test_invalid_utf8_does_not_raise_and_keeps_its_octets() -> None:
    # A Latin-1 rule is escaped from its bytes (§2.2.2), so it matches %E9, not %E8.
    body = b"User-agent: *\nDisallow: /caf\xe9\nSitemap: https://example.com/s\xff.xml\n"
    robots = rules(body)
    assert not robots.allowed(SITE + "/caf%E9", TOKEN)
    assert not robots.allowed(SITE + "/caf%e9/menu", TOKEN)
    assert robots.allowed(SITE + "/caf%E8", TOKEN)
    assert robots.allowed(SITE + "/caf%C3%A9", TOKEN)
    assert robots.sitemaps == ("https://example.com/s%EF%BF%BD.xml",)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_ending_of_the_rfc(eol: str) -> None:
    text = eol.join(["User-agent: a", "Allow: /x", "User-agent: b", "", "Disallow: /"])
    assert allowed(text, "/y", "a")
    assert not allowed(text, "/y", "b")


def test_other_unicode_line_breaks_do_not_split_lines() -> None:
    # str.splitlines() would split at U+2028 and make "Disallow: /" a rule of its own.
    assert allowed("User-agent: *\nDisallow: /x\u2028Disallow: /\n", "/y")


def test_space_and_tab_around_a_value_are_not_part_of_it() -> None:
    assert not allowed("User-agent: *\t\nDisallow: \t /members \t\n", "/members")


@pytest.mark.parametrize("space", ["\u2002", "\v", "\f", "\xa0"])
def test_only_space_and_tab_are_whitespace_around_a_value(space: str) -> None:
    # §2.2: WS = %x20 / %x09. Other spaces are part of the rule, encoded for matching.
    text = f"User-agent: *\nDisallow: /members{space}\n"
    assert allowed(text, "/members")
    encoded = "".join(f"%{b:02X}" for b in space.encode())
    assert not allowed(text, "/members" + encoded)


def test_an_html_error_page_served_as_robots_txt() -> None:
    robots = rules("<!DOCTYPE html>\n<html><head><title>Oops</title></head>\n<body/></html>\n")
    assert robots.allowed(SITE + "/", TOKEN)
    assert (robots.directive_count, robots.unknown_count) == (0, 3)


def test_a_body_of_exactly_max_bytes_keeps_its_last_line() -> None:
    # Nothing was cut: the file ends there, so its last line is complete without an EOL.
    body = b"User-agent: *\nDisallow: /a\nDisallow: /b"
    robots = RobotsRules.parse(body, max_bytes=len(body))
    assert not robots.allowed(SITE + "/b", TOKEN)


def test_a_line_ending_just_past_max_bytes_is_kept() -> None:
    body = b"User-agent: *\nDisallow: /a\nDisallow: /b\nDisallow: /c\n"
    limit = body.index(b"\nDisallow: /c")
    robots = RobotsRules.parse(body[: limit + 1], max_bytes=limit)
    assert not robots.allowed(SITE + "/b", TOKEN)
    assert robots.allowed(SITE + "/c", TOKEN)


# --------------------------------------------------------------- groups (§2.1, §2.2.1)


@pytest.mark.parametrize(
    "line", ["User-agent: linkgraph", "user-agent: LinkGraph", "USER-AGENT:LINKGRAPH"]
)
def test_the_token_matches_case_insensitively(line: str) -> None:
    assert not allowed(f"{line}\nDisallow: /\n", "/x")


@pytest.mark.parametrize(
    "value",
    ["LinkGraph/1.0", "linkgraph/0.1 (+https://github.com/linkgraph)", "linkgraph bot"],
)
def test_a_user_agent_line_names_its_leading_token(value: str) -> None:
    assert not allowed(f"User-agent: {value}\nDisallow: /\n", "/x")


@pytest.mark.parametrize("value", ["link", "Link*", "linkgraph-news", "linkgraphs", "*linkgraph"])
def test_other_tokens_do_not_match(value: str) -> None:
    assert allowed(f"User-agent: {value}\nDisallow: /\n", "/x")


def test_our_group_replaces_the_star_group() -> None:
    text = "User-agent: *\nDisallow: /a\n\nUser-agent: linkgraph\nDisallow: /b\n"
    assert allowed(text, "/a")
    assert not allowed(text, "/b")
    assert not allowed(text, "/a", "otherbot")
    assert allowed(text, "/b", "otherbot")


def test_all_groups_naming_us_are_merged() -> None:
    text = (
        "User-agent: linkgraph\nDisallow: /a\n\n"
        "User-agent: otherbot\nDisallow: /\n\n"
        "User-agent: LinkGraph/2\nDisallow: /b\nAllow: /a/open\n"
    )
    assert not allowed(text, "/a")
    assert not allowed(text, "/b")
    assert allowed(text, "/a/open")
    assert allowed(text, "/c")


def test_consecutive_user_agent_lines_share_a_group() -> None:
    text = "User-agent: otherbot\nUser-agent: linkgraph\n\nDisallow: /x\n"
    assert not allowed(text, "/x")
    assert not allowed(text, "/x", "otherbot")


def test_no_matching_group_and_no_star_group_allows_everything() -> None:
    assert allowed("User-agent: otherbot\nDisallow: /\n", "/x")
    assert allowed("", "/x")
    assert allowed("# nothing here\n", "/x")


def test_our_group_without_rules_allows_everything() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: linkgraph\nDisallow:\n"
    assert allowed(text, "/x")


def test_rules_before_the_first_user_agent_are_ignored() -> None:
    assert allowed("Disallow: /x\nUser-agent: *\nDisallow: /y\n", "/x")


def test_unknown_lines_and_sitemaps_do_not_end_a_group() -> None:
    text = "User-agent: otherbot\nNoindex: /z\nSitemap: https://example.com/s.xml\n"
    text += "User-agent: linkgraph\nDisallow: /x\n"
    assert not allowed(text, "/x", "otherbot")


def test_crawl_delay_does_not_end_a_group_but_binds_to_the_agents_before_it() -> None:
    # §2.2.4: other records must not interfere with the groups, so "b" joins "a" (as in
    # Google's parser), but the delay was written for "a".
    robots = rules("User-agent: a\nCrawl-delay: 5\nUser-agent: b\nDisallow: /\n")
    assert not robots.allowed(SITE + "/x", "a")
    assert not robots.allowed(SITE + "/x", "b")
    assert robots.crawl_delay("a") == 5.0
    assert robots.crawl_delay("b") is None


def test_a_crawl_delay_after_the_rules_is_for_the_whole_group() -> None:
    robots = rules("User-agent: a\nUser-agent: b\nDisallow: /x\nCrawl-delay: 3\n")
    assert robots.crawl_delay("a") == robots.crawl_delay("b") == 3.0


def test_a_missing_colon_is_accepted_for_two_words() -> None:
    assert not allowed("user-agent linkgraph\ndisallow /x\n", "/x")
    assert allowed("user-agent linkgraph\ndisallow /x /y\n", "/x")


def test_common_misspellings_are_accepted() -> None:
    assert not allowed("useragent: *\ndissallow: /x\n", "/x")
    assert not allowed("User agent: *\nDisalow: /x\n", "/x")


def test_the_product_token_helper() -> None:
    assert is_valid_product_token(TOKEN)
    assert is_valid_product_token("Foo_Bar-baz")
    for bad in ("", "linkgraph/0.1", "link graph", "linkgraph*", "ツ", "bot2"):
        assert not is_valid_product_token(bad)
    assert is_valid_product_token(CrawlSettings().product_token)


# ----------------------------------------------------------------- crawl-delay, sitemaps


def test_crawl_delay_comes_from_the_group_that_applies() -> None:
    text = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: linkgraph\nCrawl-delay: 2.5\n"
    assert rules(text).crawl_delay(TOKEN) == 2.5
    assert rules(text).crawl_delay("otherbot") == 10.0


def test_our_group_without_crawl_delay_does_not_inherit_the_star_one() -> None:
    text = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: linkgraph\nDisallow: /x\n"
    assert rules(text).crawl_delay(TOKEN) is None
    assert rules("User-agent: otherbot\nCrawl-delay: 3\n").crawl_delay(TOKEN) is None


def test_the_largest_crawl_delay_of_merged_groups_wins() -> None:
    text = "User-agent: linkgraph\nCrawl-delay: 1\nDisallow:\n"
    text += "User-agent: LinkGraph\nCrawl-delay: 4\n"
    assert rules(text).crawl_delay(TOKEN) == 4.0


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan", "", "5s"])
def test_bad_crawl_delays_are_ignored(value: str) -> None:
    assert rules(f"User-agent: *\nCrawl-delay: {value}\n").crawl_delay(TOKEN) is None


def test_crawl_delay_before_any_group_is_ignored() -> None:
    assert rules("Crawl-delay: 5\nUser-agent: *\nDisallow: /x\n").crawl_delay(TOKEN) is None


def test_sitemaps_are_absolute_normalised_deduplicated_and_bounded() -> None:
    lines = [
        "Sitemap: https://Example.com/a.xml",
        "sitemap:https://example.com/a.xml",
        "Sitemap: /relative.xml",
        "Sitemap: ftp://example.com/c.xml",
        "User-agent: *",
        "Disallow: /x",
        "Site-map: http://other.example/b.xml.gz # comment",
    ]
    lines += [f"Sitemap: https://example.com/s{i}.xml" for i in range(100)]
    robots = rules("\n".join(lines))
    assert robots.sitemaps[:2] == ("https://example.com/a.xml", "http://other.example/b.xml.gz")
    assert len(robots.sitemaps) == MAX_SITEMAPS
    assert not robots.allowed(SITE + "/x", TOKEN)


def test_allow_all_and_disallow_all() -> None:
    assert RobotsRules.allow_all().allowed(SITE + "/x", TOKEN)
    assert RobotsRules.allow_all().crawl_delay(TOKEN) is None
    assert not RobotsRules.disallow_all().allowed(SITE + "/x", TOKEN)
    assert RobotsRules.disallow_all().sitemaps == ()
