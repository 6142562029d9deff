"""The fast paths of robots.txt matching give the general code's answers.

``path_params_query`` and ``origin_of`` read a serialized URL with one regex match and
fall back to the general code for anything else; ``PatternSet`` tries a path only
against the patterns whose literal prefix it can start with. Each is checked on cases
whose answers are written here by hand, then against its general code (or a plain walk
of the patterns) on every short string over the characters that matter, on seeded
random longer ones, on the WHATWG URL test inputs and on the rules of real robots.txt
files.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import tarfile
from pathlib import Path

import pytest
from linkgraph.crawler.robotsmatch import (
    Pattern,
    PatternSet,
    _path_params_query,
    normalize_path,
    path_params_query,
)
from linkgraph.crawler.urls import _origin_of, origin_of

# The characters the readings turn on, and a letter.
_ALPHABET = "/?;#:@a"


def _short_strings(length: int) -> list[str]:
    """Every string over _ALPHABET of at most ``length`` characters."""
    return [
        "".join(chars)
        for n in range(length + 1)
        for chars in itertools.product(_ALPHABET, repeat=n)
    ]


def _random_urls(count: int) -> list[str]:
    """Seeded URL-like strings: a scheme-ish head, "://" or not, then the alphabet."""
    rng = random.Random(9309)
    heads = ["", "http", "https", "h", "//", "http:", "http:/", "a/b", "a#b", "a;b", "a?b"]
    urls = []
    for _ in range(count):
        tail = "".join(rng.choice(_ALPHABET + "b.%") for _ in range(rng.randrange(16)))
        middle = rng.choice(["://", "", ":", "//"])
        urls.append(rng.choice(heads) + middle + tail)
    return urls


def _wpt_urls(corpus: Path) -> list[str]:
    cases = json.loads((corpus / "wpt-url" / "urltestdata.json").read_text(encoding="utf-8"))
    urls = []
    for case in cases:
        if isinstance(case, dict):
            urls.append(case["input"])
            if "href" in case:
                urls.append(case["href"])
    return urls


# ----------------------------------------------------------------------- path_params_query


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a;b?c=d#e", "/a;b?c=d"),
        ("http://example.com", "/"),
        ("http://example.com?a", "/?a"),
        ("http://example.com;p", "/;p"),
        ("http://example.com#frag/x", "/"),
        ("http://example.com/#x", "/"),
        ("http://example.com/a#b#c", "/a"),
        ("http://user@host:80/p", "/p"),
        ("http://ex.com:80?q", "/?q"),
        ("HTTPS://EX.COM/A", "/A"),
        ("http:///a", "/a"),
        ("http://", "/"),
        ("", "/"),
        ("http://example.com/a://b/c", "/a://b/c"),
        ("//example.com/a/b", "/a/b"),
        ("//example.com", "/"),
        ("example.com/a", "/a"),
        ("example.com", "/"),
        ("/a/b?c", "/a/b?c"),
        ("/x/http://y/z", "/x/http://y/z"),
        ("a/b://c/d", "/b://c/d"),
        ("a?b://c/d", "/?b://c/d"),
        ("a;b://c/d", "/;b://c/d"),
        ("a#b://c/d", "/"),
        ("://x/y", "/y"),
        ("http:/a", "/a"),
        ("mailto:x@y.z", "/"),
        ("http://h/a\nb", "/a\nb"),
        ("http://h/\u00fc?x", "/\u00fc?x"),
    ],
)
def test_path_params_query_of_tricky_urls(url: str, expected: str) -> None:
    assert path_params_query(url) == expected
    assert _path_params_query(url) == expected


def test_path_params_query_agrees_with_the_general_reading_on_every_short_string() -> None:
    urls = _short_strings(6) + _random_urls(20_000)
    differ = [u for u in urls if path_params_query(u) != _path_params_query(u)]
    assert differ == []


def test_path_params_query_agrees_with_the_general_reading_on_wpt_urls(corpus: Path) -> None:
    urls = _wpt_urls(corpus)
    assert len(urls) > 1000
    differ = [u for u in urls if path_params_query(u) != _path_params_query(u)]
    assert differ == []


# -------------------------------------------------------------------------------- origin_of


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b", "https://example.com"),
        ("http://example.com:8080/", "http://example.com:8080"),
        ("http://example.com", "http://example.com"),
        ("http://user:pw@example.com:81/x", "http://example.com:81"),
        ("http://[::1]:8080/a", "http://[::1]:8080"),
        ("http://a.test/x@y", "http://a.test"),
        ("a//b://c/d", "a//b://b:"),
    ],
)
def test_origin_of_tricky_urls(url: str, expected: str) -> None:
    assert origin_of(url) == expected
    assert _origin_of(url) == expected


def test_origin_of_agrees_with_the_general_reading() -> None:
    urls = [u for u in _short_strings(6) + _random_urls(20_000) if "//" in u and ":" in u]
    differ = [u for u in urls if origin_of(u) != _origin_of(u)]
    assert differ == []


def test_origin_of_agrees_with_the_general_reading_on_wpt_urls(corpus: Path) -> None:
    urls = [u for u in _wpt_urls(corpus) if "//" in u and ":" in u]
    differ = [u for u in urls if origin_of(u) != _origin_of(u)]
    assert differ == []


# ------------------------------------------------------------------------------- PatternSet


def _walk(patterns: list[tuple[Pattern, int]], path: str) -> int | None:
    """The reference: the value of the first pattern that matches, trying each in turn."""
    return next((value for pattern, value in patterns if pattern.matches(path)), None)


def test_pattern_set_finds_the_first_match_in_the_order_given() -> None:
    written = ["/abc/def", "/*x", "/ab", "*", "/abc$", "/a"]
    rules = PatternSet([(Pattern.compile(p), p) for p in written])
    assert rules.first("/abc/def") == "/abc/def"  # filed, before any short one
    assert rules.first("/abc/dex") == "/*x"  # a short one ranked before the filed match
    assert rules.first("/abq") == "/ab"
    assert rules.first("/zzz") == "*"
    assert rules.first("/abc") == "/ab"


def test_pattern_set_without_patterns_matches_nothing() -> None:
    assert PatternSet([]).first("/") is None


def test_pattern_set_agrees_with_a_walk_on_generated_patterns() -> None:
    rng = random.Random(2309)
    letters = "ab/*"
    for _ in range(300):
        written = [
            "/"
            + "".join(rng.choice(letters) for _ in range(rng.randrange(6)))
            + rng.choice(["", "$"])
            for _ in range(rng.randrange(1, 12))
        ]
        patterns = [(Pattern.compile(w), i) for i, w in enumerate(written)]
        rules = PatternSet(patterns)
        for n in range(7):
            for chars in itertools.product("ab/", repeat=n):
                path = "/" + "".join(chars)
                assert rules.first(path) == _walk(patterns, path), (written, path)


_RULE = re.compile(rb"^\s*(?:dis)?allow\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def test_pattern_set_agrees_with_a_walk_on_real_robots_rules(corpus: Path) -> None:
    # The Allow and Disallow values of every 40th real file, in file order, and paths
    # made from them: each value cut short, run on, and with its wildcards filled in.
    archive = corpus / "robotstxt-protego" / "robotstxt_test_data.tar.gz"
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        bodies = [tar.extractfile(m).read() for m in members[::40]]  # type: ignore[union-attr]
    compared = matched = 0
    for body in bodies:
        written = [v.decode("utf-8", "replace") for v in _RULE.findall(body)]
        patterns = [(Pattern.compile(w), i) for i, w in enumerate(written)]
        rules = PatternSet(patterns)
        paths = {"/", "/index.html", "/search?q=x", "/wp-admin/x.php"}
        for w in written[:200]:
            path = normalize_path(w.rstrip("$").replace("*", "x"))
            paths.update({path, path[:3], path[:-1], path + "/y"})
        for path in paths:
            expected = _walk(patterns, path)
            assert rules.first(path) == expected, (written, path)
            compared += 1
            matched += expected is not None
    assert compared > 8_000
    assert matched > compared / 2
