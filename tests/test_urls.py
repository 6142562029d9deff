"""crawler.urls and storage.identity: WHATWG conformance on the web-platform-tests data, and hand-written cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from linkgraph.crawler.urls import Scope, origin_of, resolve, targets_info
from linkgraph.storage.identity import (
    host_of,
    hosts_of,
    is_ip_literal,
    normalize,
    registrable_domain,
    url_hash,
)

WEB = ("http:", "https:")


def _cases(corpus: Path) -> list[dict[str, Any]]:
    data = json.loads((corpus / "wpt-url" / "urltestdata.json").read_text(encoding="utf-8"))
    return [case for case in data if isinstance(case, dict)]  # the strings are comments


def _ours(case: dict[str, Any]) -> str | None:
    # A case without a base parses an absolute URL: that is normalize()'s job.
    if case["base"] is None:
        return normalize(case["input"])
    return resolve(case["input"], case["base"])


def _without_fragment(href: str) -> str:
    return href.partition("#")[0]


def _expected(case: dict[str, Any]) -> str:
    """WPT's answer as we store it: without fragment and without credentials."""
    if not (case.get("username") or case.get("password")):
        return _without_fragment(case["href"])
    return f"{case['protocol']}//{case['host']}{case['pathname']}{case['search']}"


def _urljoin(case: dict[str, Any]) -> str | None:
    # Measured on the same cases for the record only. With no base urljoin returns the input
    # unchanged, which is its honest answer to "parse this absolute URL".
    try:
        return urljoin(case["base"] or "", case["input"]).partition("#")[0]
    except ValueError:  # "Invalid IPv6 URL"
        return None


def test_wpt_http_cases_resolve_exactly(
    corpus: Path, report_agreement: Callable[[dict[str, float], str], None]
) -> None:
    cases = [c for c in _cases(corpus) if not c.get("failure") and c["href"].startswith(WEB)]
    assert len(cases) > 200, "the WPT file lost its http(s) cases"
    wrong = [
        (c["input"], c["base"], _expected(c), _ours(c)) for c in cases if _ours(c) != _expected(c)
    ]
    joined = [c for c in cases if c["base"] is not None]
    urljoin_ok = [c for c in cases if _urljoin(c) == _without_fragment(c["href"])]
    ours_rate = 1 - len(wrong) / len(cases)
    urljoin_rate = len(urljoin_ok) / len(cases)
    urljoin_joined_rate = sum(c["base"] is not None for c in urljoin_ok) / len(joined)
    report_agreement(
        {
            "wpt_http_cases": len(cases),
            "wpt_resolve_pass_rate": ours_rate,
            "wpt_urljoin_pass_rate": urljoin_rate,
            "wpt_urljoin_pass_rate_with_base": urljoin_joined_rate,
        },
        f"WPT urltestdata, {len(cases)} http(s) cases: crawler.urls {ours_rate:.1%}, "
        f"urllib.parse.urljoin {urljoin_rate:.1%} "
        f"({urljoin_joined_rate:.1%} of the {len(joined)} that have a base)",
    )
    assert wrong == []
    # Sanity only: urljoin handles the everyday cases and is not WHATWG.
    assert 0.2 < urljoin_rate < 1.0


def test_wpt_failures_give_none(corpus: Path) -> None:
    failures = [c for c in _cases(corpus) if c.get("failure")]
    assert len(failures) > 200
    accepted = [(c["input"], c["base"], _ours(c)) for c in failures if _ours(c) is not None]
    assert accepted == []


def test_wpt_cases_with_other_schemes_give_none(corpus: Path) -> None:
    others = [c for c in _cases(corpus) if not c.get("failure") and not c["href"].startswith(WEB)]
    assert [c["input"] for c in others if _ours(c) is not None] == []


# -- resolve --------------------------------------------------------------------------------


# What each case checks: (href, base, the URL resolve gives).
RESOLVED = {
    "a-relative-path": ("g", "http://a/b/c/d;p?q", "http://a/b/c/g"),
    "dot-segments": ("../../g", "http://a/b/c/d;p?q", "http://a/g"),
    "scheme-relative": ("//other.example/x", "https://a/b", "https://other.example/x"),
    "a-query-drops-the-fragment": ("?y#frag", "http://a/b/c", "http://a/b/c?y"),
    "empty-is-the-base-without-fragment": ("", "http://a/b/c#top", "http://a/b/c"),
    "a-fragment-alone-is-the-base": ("#only-a-fragment", "http://a/b/c", "http://a/b/c"),
    "white-space-stripped": ("  /padded\t\n ", "http://a/b", "http://a/padded"),
    "normalized-origin": ("HTTP://EXAMPLE.com:80/%7Efoo", "http://a/", "http://example.com/%7Efoo"),
    "path-percent-encoded": ("/a b/ü", "http://a/", "http://a/a%20b/%C3%BC"),
    "host-to-punycode": ("http://bücher.de/", "http://a/", "http://xn--bcher-kva.de/"),
    # Credentials never reach the store; an "@" after the host is an ordinary character.
    "strips-user-and-password": ("http://user:pass@a.test/x", "http://b.test/", "http://a.test/x"),
    "strips-a-user-alone": ("//user@a.test:81/", "https://b.test/", "https://a.test:81/"),
    "strips-the-bases-credentials": ("x?q", "http://u:p@a.test/d/", "http://a.test/d/x?q"),
    "strips-escaped-ones": ("http://us%40er:p%3Aw@a.test/", "http://b.test/", "http://a.test/"),
    "host-after-the-last-at": ("http://a@b@c.test/", "http://b.test/", "http://c.test/"),
    "keeps-at-signs-after-the-host": ("/p@q?r=@s#@t", "http://a.test/", "http://a.test/p@q?r=@s"),
}


@pytest.mark.parametrize(("href", "base", "expected"), RESOLVED.values(), ids=list(RESOLVED))
def test_resolve(href: str, base: str, expected: str) -> None:
    assert resolve(href, base) == expected


@pytest.mark.parametrize(
    "href",
    [
        "javascript:void(0)",
        "mailto:x@example.com",
        "tel:+1555",
        "data:text/html,x",
        "ftp://a/file",
        "http://[::1",
        "http://exa mple.com/",
    ],
)
def test_resolve_gives_none_for_other_schemes_and_broken_urls(href: str) -> None:
    assert resolve(href, "http://a/") is None


def test_normalize_strips_credentials() -> None:
    assert normalize("https://admin:hunter2@Example.com/x?u=a@b") == "https://example.com/x?u=a@b"


def test_resolve_does_not_lowercase_paths_or_sort_queries() -> None:
    assert resolve("/A/B?z=1&a=2", "http://h/") == "http://h/A/B?z=1&a=2"


# -- normalize ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a b#top", "http://example.com/a%20b"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x/../y", "https://example.com:8443/y"),
        ("  http://example.com/  ", "http://example.com/"),
        ("h\tt\ntp://example.com/", "http://example.com/"),
        ("http:example.com", "http://example.com/"),
        ("example.com", None),
        ("/relative/path", None),
        ("ftp://example.com/", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_normalize(url: str, expected: str | None) -> None:
    assert normalize(url) == expected


# -- host, origin, domain -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "origin"),
    [
        (
            "https://user:pw@www.example.com:8443/x?y",
            "www.example.com",
            "https://www.example.com:8443",
        ),
        ("http://example.com/", "example.com", "http://example.com"),
        ("http://192.0.2.1:8080/", "192.0.2.1", "http://192.0.2.1:8080"),
        ("http://[2001:db8::1]:81/p", "[2001:db8::1]", "http://[2001:db8::1]:81"),
        ("http://[2001:db8::1]/", "[2001:db8::1]", "http://[2001:db8::1]"),
        ("https://a.b.example.org?q", "a.b.example.org", "https://a.b.example.org"),
    ],
)
def test_host_and_origin(url: str, host: str, origin: str) -> None:
    url = normalize(url) or ""
    assert host_of(url) == host
    assert origin_of(url) == origin


# Serialized URLs with and without a port, brackets, credentials, path or query.
HOST_CASES = [
    "https://www.example.com/x?y",
    "http://example.com/",
    "http://192.0.2.1:8080/",
    "http://[2001:db8::1]:81/p",
    "http://[2001:db8::1]/",
    "https://a.b.example.org/?q",
    "https://xn--bcher-kva.example/a//b",
    "http://example.com.:8080/a:b@c",
    "https://user@u.example/p",
    "https://v.example",
    "https://w.example?q=a/b",
]


def test_hosts_of_is_host_of_per_url() -> None:
    plain = [url for url in HOST_CASES if ":" not in url.split("/")[2] and "@" not in url]
    assert len(plain) < len(HOST_CASES)
    for urls in (HOST_CASES, plain, HOST_CASES[::-1], []):
        assert hosts_of(urls) == [host_of(url) for url in urls]


def test_is_ip_literal() -> None:
    assert is_ip_literal("192.0.2.1")
    assert is_ip_literal("[2001:db8::1]")
    assert not is_ip_literal("example.com")
    assert not is_ip_literal("1.2.3.example")


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("bbc.co.uk", "bbc.co.uk"),
        ("www.Example.COM.", "example.com"),
        ("foo.blogspot.com", "foo.blogspot.com"),
        ("a.b.foo.blogspot.com", "foo.blogspot.com"),
        ("co.uk", "co.uk"),
        ("a.b.test", "b.test"),
        ("192.0.2.1", "192.0.2.1"),
        ("[2001:db8::1]", "[2001:db8::1]"),
        ("localhost", "localhost"),
    ],
)
def test_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_url_hash_is_stable_signed_64_bit() -> None:
    # Pinned: a change here would orphan every stored URL key.
    assert url_hash("http://example.com/") == url_hash("http://example.com/")
    assert url_hash("http://example.com/") != url_hash("http://example.com")
    values = [url_hash(f"http://example.com/{i}") for i in range(1000)]
    assert len(set(values)) == 1000
    assert all(-(2**63) <= v < 2**63 for v in values)
    assert any(v < 0 for v in values)
    assert url_hash("http://example.com/\udcff") == url_hash("http://example.com/\udcff")


def test_url_hash_known_value() -> None:
    import hashlib

    digest = hashlib.blake2b(b"https://example.com/", digest_size=8).digest()
    assert url_hash("https://example.com/") == int.from_bytes(digest, "little", signed=True)


# -- scope ----------------------------------------------------------------------------------


def test_scope_domain() -> None:
    scope = Scope("domain", ["https://www.example.co.uk/start", "http://blog.other.org/"])
    assert scope.allows_host("shop.example.co.uk")
    assert scope.allows_host("example.co.uk")
    assert scope.allows_host("other.org")
    assert not scope.allows_host("example.com")
    assert not scope.allows_host("co.uk")


def test_scope_host() -> None:
    scope = Scope("host", ["https://www.example.com/"])
    assert scope.allows_host("www.example.com")
    assert not scope.allows_host("example.com")
    assert not scope.allows_host("shop.example.com")


def test_scope_any() -> None:
    assert Scope("any", []).allows_host("anything.example")


def test_scope_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        Scope("everything", [])


def test_scope_extended_keeps_old_and_adds_new() -> None:
    scope = Scope("domain", ["https://a.example.com/"]).extended(["https://b.example.org/"])
    assert scope.mode == "domain"
    assert scope.allows_host("x.example.com")
    assert scope.allows_host("example.org")
    assert not scope.allows_host("example.net")


def test_resolution_cache_never_changes_an_answer() -> None:
    """The cache keys absolute and path-absolute hrefs on what their result depends on."""
    from linkgraph.crawler import urls

    bases = [
        "http://a.test/x/y",
        "https://a.test/x/",
        "http://user:pw@a.test:8080/p",
        "http://b.test/",
        "https://b.test/deep/er/",
    ]
    hrefs = [
        "/p?q",
        "/",
        "//c.test/x",
        "http://d.test/z#f",
        "HTTPS://E.test",
        "http:rel",
        "rel/x",
        "?q",
        "/\\x",
    ]
    urls._cache.clear()
    for _ in range(2):  # the second pass answers from the cache
        for base in bases:
            for href in hrefs:
                assert urls.resolve(href, base) == urls.normalize(href, base), (href, base)
    # The base changing at every call (resolve remembers the last base's origin), and bases
    # that are equal strings but not the same object.
    urls._cache.clear()
    for _ in range(2):
        for href in hrefs:
            for base in bases + [b[:1] + b[1:] for b in reversed(bases)]:
                assert urls.resolve(href, base) == urls.normalize(href, base), (href, base)


def test_targets_info_gives_each_targets_hash_host_and_registrable_domain() -> None:
    urls = ["https://www.example.co.uk/a", "http://b.example.org/", "https://www.example.co.uk/a"]
    assert targets_info(urls) == {
        "https://www.example.co.uk/a": (
            url_hash("https://www.example.co.uk/a"),
            "www.example.co.uk",
            "example.co.uk",
        ),
        "http://b.example.org/": (
            url_hash("http://b.example.org/"),
            "b.example.org",
            "example.org",
        ),
    }
