"""robots.txt matching (RFC 9309 §2.2.2-2.2.3): percent-encoding, wildcards, the longest match,
the deciding rule, and a matcher that never backtracks."""

from __future__ import annotations

import pytest
from linkgraph.crawler.robots import RobotsRules
from robots_support import SITE, TOKEN, allowed, rules

# ------------------------------------------------------------------ matching (§2.2.2)


def test_robots_txt_itself_is_always_allowed() -> None:
    text = "User-agent: *\nDisallow: /\nDisallow: /robots.txt\n"
    assert allowed(text, "/robots.txt")
    assert allowed(text, "/robots.txt?x=1")
    assert not allowed(text, "/robots.txt.bak")
    assert not allowed(text, "/dir/robots.txt")


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("/%7Efoo", "/~foo"),
        ("/~foo", "/%7Efoo"),
        ("/%7efoo", "/%7Efoo"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ("/caf%C3%A9", "/caf%c3%a9"),
        ("/a b", "/a%20b"),
        ("/a%20b", "/a b"),
        ("/%E2%82%AC", "/\u20ac"),
    ],
)
def test_percent_encoding_is_normalised_on_both_sides(rule: str, path: str) -> None:
    assert not allowed(f"User-agent: *\nDisallow: {rule}\n", path)


def test_escapes_that_are_not_utf8_stay_distinct() -> None:
    # A decoder that turned both into U+FFFD (as protego did) would call them equal.
    text = "User-agent: *\nDisallow: /%E9\n"
    assert not allowed(text, "/%E9")
    assert not allowed(text, "/%e9x")
    assert allowed(text, "/%E8")


def test_matching_is_case_sensitive() -> None:
    assert allowed("User-agent: *\nDisallow: /Private\n", "/private")


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        ("/*.php$", "/a/b.php", True),
        ("/*.php$", "/a/b.php?x", False),
        ("/*.php$", "/a/b.php5", False),
        ("/*.php", "/a/b.php5", True),
        ("/fish*", "/fish", True),
        ("/fish*", "/fishheads/yummy", True),
        ("/fish*", "/Fish", False),
        ("/a$", "/a", True),
        ("/a$", "/ab", False),
        ("/*/private/", "/x/y/private/z", True),
        ("*.gif$", "/img/a.gif", True),
        ("/a*b*c", "/axxbyyc", True),
        ("/a*b*c", "/axxcyyb", False),
        ("/$", "/", True),
        ("/$", "/a", False),
        ("/*?sessionid=", "/a?x=1&sessionid=2", False),
        ("/*?sessionid=", "/a?sessionid=2", True),
    ],
)
def test_star_and_dollar(rule: str, path: str, matches: bool) -> None:
    assert allowed(f"User-agent: *\nDisallow: {rule}\n", path) is not matches


def test_the_longest_match_wins() -> None:
    text = "User-agent: *\nDisallow: /x/\nAllow: /x/page.html\n"
    assert allowed(text, "/x/page.html")
    assert not allowed(text, "/x/other.html")
    text = "User-agent: *\nAllow: /x/\nDisallow: /x/page.html\n"
    assert not allowed(text, "/x/page.html")
    assert allowed(text, "/x/other.html")
    assert allowed("User-agent: *\nAllow: /p\nDisallow: /\n", "/page")


def test_allow_wins_a_tie_whatever_the_order() -> None:
    assert allowed("User-agent: *\nDisallow: /x\nAllow: /x\n", "/x")
    assert allowed("User-agent: *\nAllow: /x\nDisallow: /x\n", "/x")
    assert allowed("User-agent: *\nDisallow: /\nAllow: /\n", "/a")


def test_an_empty_disallow_allows_everything() -> None:
    assert allowed("User-agent: *\nDisallow:\n", "/x")
    assert allowed("User-agent: *\nDisallow: \nAllow:\n", "/x")
    # ...and it is still a rule: the next user-agent line starts a new group.
    text = "User-agent: linkgraph\nDisallow:\nUser-agent: otherbot\nDisallow: /\n"
    assert allowed(text, "/x")
    assert not allowed(text, "/x", "otherbot")


@pytest.mark.parametrize(
    ("text", "disallowed", "still_allowed"),
    [
        # "#" starts a comment, so the rule is "/a" (and the first line no rule at all).
        pytest.param(
            "# Disallow: /\nUser-agent: *  # everyone\nDisallow: /a#b\n",
            "/a",
            "/b",
            id="a-comment-ends-the-pattern",
        ),
        # §2.2.3: only a final "$" anchors; inside the pattern it is an ordinary character.
        pytest.param(
            "User-agent: *\nDisallow: /a$b\n", "/a$b/c", "/a", id="a-dollar-inside-is-literal"
        ),
    ],
)
def test_a_pattern_ends_at_a_comment_and_not_at_a_dollar_inside_it(
    text: str, disallowed: str, still_allowed: str
) -> None:
    assert not allowed(text, disallowed)
    assert allowed(text, still_allowed)


def test_the_query_is_matched_and_the_fragment_is_not() -> None:
    text = "User-agent: *\nDisallow: /search?q=\n"
    assert not allowed(text, "/search?q=cats")
    assert allowed(text, "/search#q=cats")
    assert allowed(text, "/search")


def test_a_double_slash_path_is_a_path() -> None:
    assert not allowed("User-agent: *\nDisallow: //private\n", "//private/x")


# ------------------------------------------- RFC 9309 §2.2.2-2.2.3, not protego's rewriting


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("User-agent: *\nDisallow: /?\n", "/%3F"),
        ("User-agent: *\nDisallow: /%3F\n", "/?"),
        ("User-agent: *\nDisallow: /a/b\n", "/a%2Fb"),
        ("User-agent: *\nDisallow: /a=1\n", "/a%3D1"),
    ],
)
def test_an_escaped_reserved_character_is_not_the_raw_one(text: str, path: str) -> None:
    # §2.2.2: escapes are decoded only for unreserved characters; "?", "/" and "=" are
    # reserved, so /%3F is a different path from /? (the RFC's table keeps them apart).
    assert allowed(text, path)


def test_an_escaped_question_mark_is_not_a_query() -> None:
    text = "User-agent: *\nAllow: /search?\nDisallow: /search\n"
    assert allowed(text, "/search?q=1")
    assert not allowed(text, "/search%3Fq=1")


@pytest.mark.parametrize(("path", "matches"), [("/go", True), ("/go$", False), ("/go%24", False)])
def test_a_final_dollar_only_anchors(path: str, matches: bool) -> None:
    # §2.2.3: "$" designates the end of the pattern; it never matches a "$" in the URL.
    assert allowed("User-agent: *\nDisallow: /go$\n", path) is not matches


def test_an_anchored_root_allows_only_the_root() -> None:
    text = "User-agent: *\nDisallow: /\nAllow: /$\n"
    assert allowed(text, "/")
    assert not allowed(text, "/$x")
    assert not allowed(text, "/$")


def test_the_longest_match_counts_the_rule_as_written() -> None:
    # "/*.js" (5 octets) is longer than "/*?*" (4): Allow wins for a script with a query.
    text = "User-agent: *\nDisallow: /*?*\nAllow: /*.js\n"
    assert allowed(text, "/app.js?v=3")
    assert not allowed(text, "/page?v=3")


def test_a_literal_star_in_a_url_is_an_ordinary_character() -> None:
    assert allowed("User-agent: *\nDisallow: /%\n", "/*x")
    assert not allowed("User-agent: *\nDisallow: /a*\n", "/a*x")
    assert allowed("User-agent: *\nDisallow: /%2A\n", "/*x")


@pytest.mark.parametrize(
    "rule", ["http://example.com/", "https://example.com/private", "example.com/", "private"]
)
def test_a_rule_that_is_not_a_path_matches_nothing(rule: str) -> None:
    # §2.2.2: rules are paths starting with "/" (or "*", as Google accepts); an absolute
    # URL written as a rule is invalid, not a rule for its path.
    text = f"User-agent: *\nDisallow: {rule}\n"
    for path in ("/", "/private", "/x", f"/{rule}", f"/{rule}x"):
        assert allowed(text, path), path


def test_allowing_an_index_page_allows_its_directory() -> None:
    # Google's reading of "Allow: /dir/index.html", which sites write expecting it.
    text = "User-agent: *\nDisallow: /\nAllow: /d/index.html\n"
    assert allowed(text, "/d/")
    assert allowed(text, "/d/index.html")
    assert not allowed(text, "/d/other")


# ------------------------------------------------------------ the deciding rule (decide)


def test_decide_names_the_deciding_rule_its_line_and_user_agent() -> None:
    text = "# rules\nUser-agent: *\nDisallow: /\n\nUser-agent: LinkGraph/2.0\nDisallow: /a\n"
    text += "Allow: /a/b\n"
    decision = rules(text).decide(SITE + "/a/b/c", TOKEN)
    assert decision.allowed and decision.reason == "rule"
    assert decision.rule is not None
    assert (decision.rule.allow, decision.rule.pattern, decision.rule.line) == (True, "/a/b", 7)
    assert decision.rule.user_agent == "LinkGraph/2.0"
    other = rules(text).decide(SITE + "/x", "otherbot")
    assert other.rule is not None
    assert (other.allowed, other.rule.pattern, other.rule.line) == (False, "/", 3)
    assert other.rule.user_agent == "*"


def test_decide_without_a_deciding_rule_says_why() -> None:
    text = "User-agent: *\nDisallow: /a\n"
    assert rules(text).decide(SITE + "/b", TOKEN).reason == "no matching rule"
    assert rules("User-agent: other\nDisallow: /\n").decide(SITE + "/", TOKEN).reason == (
        "no group"
    )
    assert rules("User-agent: *\nDisallow: /\n").decide(SITE + "/robots.txt", TOKEN).reason == (
        "/robots.txt"
    )
    implied = RobotsRules.disallow_all().decide(SITE + "/x", TOKEN)
    assert implied.rule is not None
    assert (implied.allowed, implied.rule.pattern, implied.rule.line) == (False, "/", None)


def test_line_numbers_count_every_line_ending_of_the_rfc() -> None:
    body = b"User-agent: *\r\nDisallow: /a\rDisallow: /b\n\r\nDisallow: /c\n"
    decision = rules(body).decide(SITE + "/c", TOKEN)
    assert decision.rule is not None and decision.rule.line == 5


# ------------------------------------------------------------------ matching never backtracks


class _CountingStr(str):
    """A path that counts the substring searches made on it."""

    calls = 0

    def find(self, *args: object) -> int:  # type: ignore[override]
        type(self).calls += 1
        return super().find(*args)  # type: ignore[arg-type]

    def startswith(self, *args: object) -> bool:  # type: ignore[override]
        type(self).calls += 1
        return super().startswith(*args)  # type: ignore[arg-type]

    def endswith(self, *args: object) -> bool:  # type: ignore[override]
        type(self).calls += 1
        return super().endswith(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["/*a*a*a*a*a*b", "/*a*a*a*a*a*b$", "*a*a*a*a*a*a*a*a*ab"])
def test_matching_makes_one_search_per_piece_of_the_pattern(rule: str) -> None:
    from linkgraph.crawler.robotsmatch import Pattern

    pattern = Pattern.compile(rule)
    path = _CountingStr("/" + "a" * 5000)
    _CountingStr.calls = 0
    assert not pattern.matches(path)
    # One prefix check, then one search per piece: a backtracking matcher would try every
    # split of the 5,000 "a"s between the stars instead.
    assert _CountingStr.calls <= len(pattern.pieces) + 1


@pytest.mark.timeout(20)
def test_a_pathological_pattern_against_a_long_path_is_decided() -> None:
    # A backtracking regex takes O(n^6) steps here; the matcher stays near-linear, so even
    # a generous bound is never approached.
    text = "User-agent: *\nDisallow: /*a*a*a*a*a*b\nDisallow: /*a*a*a*a*a*b$\n"
    assert allowed(text, "/" + "a" * 200_000)
    assert not allowed(text, "/" + "a" * 200_000 + "b")
