"""robots.txt per RFC 9309: parsing, group selection, matching and the fetch-status policy.

This is the pure layer. The engine fetches ``/robots.txt`` (following at most five redirects,
RFC 9309 §2.3.1.2), then calls :func:`rules_for_response` with the status and body, caches the
result for at most a day (§2.4) and asks :meth:`RobotsRules.allowed` before every fetch.
``linkgraph robots`` asks :meth:`RobotsRules.decide`, the same answer with the rule that
gave it.

Lines, groups and user-agent matching follow RFC 9309 and Google's reference parser
(google/robotstxt); path matching (§2.2.2-2.2.3) is :mod:`crawler.robotsmatch`. Where we
differ from Google on purpose, the code says so beside the RFC section:

- §2.5: at most 500 KiB (512,000 bytes) are parsed; Google's library parses any length
  (its crawler stops at 500 KiB).
- §2.2.2: ``/robots.txt`` is always allowed, whatever the rules; Google's library has no
  such exception.
- §2.2.2: escaped unreserved characters are decoded before comparison (see
  :mod:`crawler.robotsmatch` for this and the other matching choices).

Where the RFC is silent we read the file as its author meant it: a ``Crawl-delay`` applies
to the user-agents named just before it. ``tests/test_robots_google.py`` lists every case
where we differ from Google's parser, with the reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from .robotsmatch import Pattern, PatternSet, normalize_path, path_params_query
from .urls import normalize, origin_of

__all__ = [
    "MAX_SITEMAPS",
    "RobotsDecision",
    "RobotsOutcome",
    "RobotsRule",
    "RobotsRules",
    "is_valid_product_token",
    "robots_url",
    "rules_for_response",
]

MAX_SITEMAPS = 50

# Google's reference parser keeps at most 8 * 2083 - 1 bytes of a line (eight times the
# longest URL browsers accept) and ignores the rest; we do the same so both agree on very
# long rules. RFC 9309 sets no line limit; §2.5 only bounds the whole file.
_MAX_LINE_BYTES = 8 * 2083 - 1

# §2.2 ABNF: EOL = %x0D / %x0A / %x0D.0A. str.splitlines() would also split on \x0b, \x0c,
# \x1c-\x1e, \x85, \u2028 and \u2029, which are not line ends in a robots.txt.
_EOL = re.compile(rb"\r\n|\r|\n")
# §2.2 ABNF: WS = %x20 / %x09. Nothing else (not \v, \f or Unicode spaces) is trimmed from
# a key or value: "Disallow: /members\u2002" is a rule for "/members%E2%80%82".
_WS = " \t"
_WORDS = re.compile(r"[ \t]+")

_USER_AGENT_KEYS = frozenset({"user-agent", "useragent", "user agent"})
_ALLOW_KEYS = frozenset({"allow"})
# The misspellings Google's parser and protego both accept.
_DISALLOW_KEYS = frozenset({"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"})
_SITEMAP_KEYS = frozenset({"sitemap", "site-map"})
_CRAWL_DELAY_KEYS = frozenset({"crawl-delay", "crawl delay"})

# §2.2.1: a product token is letters, "_" and "-" only.
_TOKEN_PREFIX = re.compile(r"[A-Za-z_-]*")
_TOKEN = re.compile(r"[A-Za-z_-]+")


class RobotsOutcome(StrEnum):
    """How a robots.txt fetch ended, in RFC 9309 §2.3.1 terms (the values are the RFC's words)."""

    PARSED = "parsed"
    """2xx: the body was parsed (§2.3.1.1)."""
    ALLOW_ALL_4XX = "unavailable"
    """4xx except 429, or too many redirects: everything is allowed (§2.3.1.2, §2.3.1.3)."""
    DISALLOW_UNAVAILABLE = "unreachable"
    """5xx, 429 or a network error: everything is disallowed (§2.3.1.4)."""


class _Group:
    """One group while parsing: its user-agent values, rules and Crawl-delay."""

    __slots__ = ("agents", "delays", "rules")

    def __init__(self) -> None:
        # lower-cased product token (or "*") -> the user-agent value as first written
        self.agents: dict[str, str] = {}
        self.rules: list[tuple[bool, str, int]] = []  # (is_allow, pattern, line), file order
        self.delays: dict[str, float] = {}  # agent -> Crawl-delay


@dataclass(frozen=True, slots=True)
class RobotsRule:
    """An Allow or Disallow rule as the file wrote it, for showing why a URL was decided."""

    allow: bool
    pattern: str
    """The pattern as written (undecodable bytes shown as U+FFFD)."""
    line: int | None
    """1-based line number in the file; None for the implied rule of an unreachable file."""
    user_agent: str
    """The user-agent value (as written) that made the rule's group apply."""


@dataclass(frozen=True, slots=True)
class RobotsDecision:
    """The answer for one URL and product token, with what decided it."""

    allowed: bool
    rule: RobotsRule | None
    """The deciding rule: the longest match (§2.2.2); None when no rule decided."""
    reason: str
    """``"rule"``, ``"no matching rule"``, ``"no group"`` or ``"/robots.txt"``."""


# The decisions no rule gives, made once: a decision is frozen, so every call can share one.
_ROBOTS_TXT = RobotsDecision(True, None, "/robots.txt")
_NO_GROUP = RobotsDecision(True, None, "no group")
_NO_MATCH = RobotsDecision(True, None, "no matching rule")


class RobotsRules:
    """The parsed rules of one robots.txt, queried per product token.

    Build one with :meth:`parse`, :meth:`allow_all` or :meth:`disallow_all`, or get one
    from :func:`rules_for_response`.

    >>> rules = RobotsRules.parse(b"User-agent: *\\nDisallow: /private\\nCrawl-delay: 2\\n")
    >>> rules.allowed("https://example.com/private/a", "linkgraph")
    False
    >>> rules.allowed("https://example.com/public", "linkgraph")
    True
    >>> rules.crawl_delay("linkgraph")
    2.0
    """

    __slots__ = ("_compiled", "_groups", "_sitemaps", "directive_count", "unknown_count")

    def __init__(
        self,
        groups: tuple[_Group, ...] = (),
        sitemaps: tuple[str, ...] = (),
        *,
        directive_count: int = 0,
        unknown_count: int = 0,
    ) -> None:
        self._groups = groups
        self._sitemaps = sitemaps
        # token (as asked, and lower-cased) -> the rules of the groups that apply to it
        # (None when no group applies). A crawl asks with one token, so this stays tiny.
        self._compiled: dict[str, PatternSet[RobotsDecision] | None] = {}
        self.directive_count = directive_count
        """Lines read as a user-agent, allow, disallow, sitemap or crawl-delay record."""
        self.unknown_count = unknown_count
        """Other non-blank, non-comment lines (many of them and no directive: not a robots.txt)."""

    @classmethod
    def parse(cls, body: bytes, *, max_bytes: int = 512_000) -> RobotsRules:
        """Parse a robots.txt body. Never raises: what cannot be read is ignored (§2.3.1.5).

        At most ``max_bytes`` are read (§2.5 requires at least 500 KiB). A body longer
        than that is cut after the last line that ends within the limit (the line end may
        be the first octet past it); a line cut by the limit is dropped whole, since half a
        rule can mean something the whole does not. So fetch up to ``max_bytes + 1``
        octets: a body of ``max_bytes`` or fewer is taken as complete.
        """
        body = _strip_bom(body)
        # §2.5: crawlers SHOULD impose a parsing limit, of at least 500 KiB. A deliberate
        # difference from Google's library, which parses a body of any length.
        if len(body) > max_bytes:
            body = _cut_at_line(body, max_bytes)
        groups: list[_Group] = []
        sitemaps: list[str] = []
        directives = unknown = 0
        current: _Group | None = None
        in_rules = False  # an allow or disallow line came after the last user-agent line
        named: list[str] = []  # agents named since the last rule or Crawl-delay line
        for number, raw in enumerate(_EOL.split(body), 1):
            # Keep the original octets of non-UTF-8 bytes (as lone surrogates) so that a
            # rule written in Latin-1 is escaped from its bytes, as §2.2.2 asks.
            line = raw[:_MAX_LINE_BYTES].decode("utf-8", "surrogateescape")
            parsed = _key_value(line)
            if parsed is None:
                if line.split("#", 1)[0].strip(_WS):
                    unknown += 1
                continue
            key, value = parsed
            if key in _USER_AGENT_KEYS:
                directives += 1
                # §2.1: a group is one or more user-agent lines followed by rules, so a
                # user-agent line after a rule starts the next group.
                if current is None or in_rules:
                    current = _Group()
                    groups.append(current)
                    in_rules = False
                agent = _agent_of(value)
                if agent:
                    current.agents.setdefault(agent, _text(value))
                    named.append(agent)
            elif key in _ALLOW_KEYS or key in _DISALLOW_KEYS:
                directives += 1
                # §2.2.2: rules outside any group (before the first user-agent) are ignored.
                if current is None:
                    continue
                in_rules = True
                named.clear()
                # An empty pattern matches nothing; "Disallow:" is the classic "allow all".
                if value:
                    current.rules.append((key in _ALLOW_KEYS, value, number))
            elif key in _SITEMAP_KEYS:
                # §2.2.4: other records (Sitemap) belong to no group and do not end one.
                directives += 1
                if len(sitemaps) < MAX_SITEMAPS:
                    url = normalize(_text(value))
                    if url is not None and url not in sitemaps:
                        sitemaps.append(url)
            elif key in _CRAWL_DELAY_KEYS:
                # Not in RFC 9309 (Google ignores it) but widely used. §2.2.4: other records
                # "MUST NOT interfere with the parsing of explicitly defined records", so it
                # does not end the user-agent lines: in "User-agent: *  Crawl-delay: 10
                # User-agent: foo  Disallow: /x" both agents share the Disallow, as in
                # Google's parser. The delay, though, is meant for the agents named just
                # before it (all of the group's when it follows the rules), which is how
                # the parsers that obey it (urllib.robotparser, protego) read it.
                directives += 1
                delay = _parse_delay(value)
                if current is not None and delay is not None:
                    for agent in named or current.agents:
                        current.delays[agent] = max(delay, current.delays.get(agent, 0.0))
                named.clear()
            else:
                # §2.2.4 / §2.3.1.5: unknown records are ignored and do not end a group.
                unknown += 1
        return cls(
            tuple(groups), tuple(sitemaps), directive_count=directives, unknown_count=unknown
        )

    @classmethod
    def allow_all(cls) -> RobotsRules:
        """Rules that allow everything (robots.txt "unavailable", §2.3.1.3)."""
        return cls()

    @classmethod
    def disallow_all(cls) -> RobotsRules:
        """Rules that disallow everything but /robots.txt ("unreachable", §2.3.1.4)."""
        group = _Group()
        group.agents["*"] = "*"
        group.rules.append((False, "/", 0))  # line 0: implied, not read from a file
        return cls((group,))

    def allowed(self, url: str, agent_token: str) -> bool:
        """May ``agent_token`` fetch ``url`` (an absolute http(s) URL)?

        Pass the product token (``CrawlSettings.product_token``), not the whole User-Agent
        header: like Google's parser we compare it with each group's user-agent as given,
        so ``"linkgraph/0.1"`` would match no group of its own and fall back to ``*``.

        >>> RobotsRules.parse(b"User-agent: LinkGraph/1.0\\nDisallow: /\\n").allowed(
        ...     "http://example.com/a", "linkgraph")
        False
        """
        return self.decide(url, agent_token).allowed

    def decide(self, url: str, agent_token: str) -> RobotsDecision:
        """The answer of :meth:`allowed` with the rule that gave it.

        >>> rules = RobotsRules.parse(b"User-agent: *\\nDisallow: /a\\nAllow: /a/b\\n")
        >>> decision = rules.decide("https://example.com/a/b/c", "linkgraph")
        >>> decision.allowed, decision.rule.pattern, decision.rule.line
        (True, '/a/b', 3)
        """
        # The engine asks before every fetch: this allocates nothing but the path.
        raw = path_params_query(url)
        # §2.2.2: "The /robots.txt URI is implicitly allowed", with any query. A
        # deliberate difference from Google's library, which matches it like any path.
        if raw == "/robots.txt" or raw.startswith("/robots.txt?"):
            return _ROBOTS_TXT
        try:
            matcher = self._compiled[agent_token]
        except KeyError:  # the first question with this spelling of the token
            matcher = self._compiled[agent_token] = self._matcher(agent_token)
        if matcher is None:
            return _NO_GROUP
        decision = matcher.first(normalize_path(raw))
        return _NO_MATCH if decision is None else decision

    def crawl_delay(self, agent_token: str) -> float | None:
        """Crawl-delay (seconds) of the groups that apply to ``agent_token``, or None.

        A Crawl-delay line applies to the user-agents named just before it. When several
        apply, the largest wins. Not bounded here: the engine caps it with
        ``max_crawl_delay``.
        """
        token = agent_token.lower()
        groups = self._applicable(token)
        key = token if any(token in g.agents for g in groups) else "*"
        delays = [g.delays[key] for g in groups if key in g.delays]
        return max(delays) if delays else None

    @property
    def sitemaps(self) -> tuple[str, ...]:
        """The Sitemap records' absolute http(s) URLs, normalised, at most ``MAX_SITEMAPS``."""
        return self._sitemaps

    def __repr__(self) -> str:
        return f"<RobotsRules groups={len(self._groups)} sitemaps={len(self._sitemaps)}>"

    def _applicable(self, agent_token: str) -> list[_Group]:
        # §2.2.1: the groups whose user-agent matches the product token case-insensitively,
        # all of them combined; otherwise the "*" groups; otherwise none (all allowed).
        token = agent_token.lower()
        specific = [g for g in self._groups if token in g.agents]
        return specific or [g for g in self._groups if "*" in g.agents]

    def _matcher(self, agent_token: str) -> PatternSet[RobotsDecision] | None:
        key = agent_token.lower()
        if key not in self._compiled:
            groups = self._applicable(key)
            compiled = None
            if groups:
                which = key if key in groups[0].agents else "*"
                rules: list[tuple[Pattern, RobotsDecision]] = []
                for group in groups:
                    for allow, pattern, line in group.rules:
                        rule = RobotsRule(allow, _text(pattern), line or None, group.agents[which])
                        decision = RobotsDecision(allow, rule, "rule")
                        rules.append((Pattern.compile(pattern), decision))
                        # Google's parser reads "Allow: /dir/index.htm(l)" as also allowing
                        # "/dir/" itself (a directory is served as its index page). Not in
                        # the RFC; kept because sites write it expecting that.
                        slash = pattern.rfind("/")
                        if allow and pattern.startswith("/index.htm", max(slash, 0)):
                            directory = Pattern.compile(pattern[: slash + 1] + "$")
                            rules.append((directory, decision))
                # Longest first, Allow before Disallow at equal length: the first rule
                # that matches is §2.2.2's most specific match, and Allow wins a tie.
                rules.sort(key=lambda item: (-item[0].length, not item[1].allowed))
                compiled = PatternSet(rules)
            self._compiled[key] = compiled
        return self._compiled[key]


def is_valid_product_token(token: str) -> bool:
    """True for a product token RFC 9309 §2.2.1 allows: ASCII letters, ``_`` and ``-``.

    >>> is_valid_product_token("linkgraph"), is_valid_product_token("linkgraph/0.1")
    (True, False)
    """
    return _TOKEN.fullmatch(token) is not None


def robots_url(origin: str) -> str:
    """The robots.txt URL of an origin (§2.3: ``/robots.txt`` at the top of the service).

    >>> robots_url("https://example.com:8443")
    'https://example.com:8443/robots.txt'
    """
    return origin_of(origin) + "/robots.txt"


def rules_for_response(
    status: int | None, body: bytes | None, *, max_bytes: int = 512_000
) -> tuple[RobotsRules, str]:
    """Map the final response of a robots.txt fetch to rules and a :class:`RobotsOutcome`.

    ``status`` is None when the fetch failed (DNS, connection, timeout, TLS). Redirects
    are followed by the fetcher, at most five (§2.3.1.2), before this is called.

    >>> [str(rules_for_response(status, b"")[1]) for status in (200, 404, 503, None)]
    ['parsed', 'unavailable', 'unreachable', 'unreachable']
    """
    if status is None:
        # §2.3.1.4: unreachable because of a network error, so assume complete disallow.
        return RobotsRules.disallow_all(), RobotsOutcome.DISALLOW_UNAVAILABLE
    if 200 <= status < 300:
        # §2.3.1.1: successful access, so obey the file's rules.
        return RobotsRules.parse(body or b"", max_bytes=max_bytes), RobotsOutcome.PARSED
    if 300 <= status < 400:
        # A 3xx reaching us means the redirect limit was hit. §2.3.1.2: "If there are
        # more than five consecutive redirects, crawlers MAY assume that the robots.txt
        # file is unavailable." Unavailable means allow all (§2.3.1.3).
        return RobotsRules.allow_all(), RobotsOutcome.ALLOW_ALL_4XX
    if status == 429:
        # 429 says "slow down", not "there is no robots.txt": treat it as the server
        # errors of §2.3.1.4 (Google does too) rather than as a 4xx "unavailable".
        return RobotsRules.disallow_all(), RobotsOutcome.DISALLOW_UNAVAILABLE
    if 400 <= status < 500:
        # §2.3.1.3: 400-499 (401 and 403 included) mean unavailable; crawlers MAY access
        # any resource on the server.
        return RobotsRules.allow_all(), RobotsOutcome.ALLOW_ALL_4XX
    # §2.3.1.4: 500-599 mean unreachable; assume complete disallow. Anything else (1xx,
    # nonsense codes) is no answer at all, so it gets the same cautious treatment.
    return RobotsRules.disallow_all(), RobotsOutcome.DISALLOW_UNAVAILABLE


def _strip_bom(body: bytes) -> bytes:
    # Google's parser skips the UTF-8 byte order mark and also any leading part of it.
    for bom in (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"):
        if body.startswith(bom):
            return body[len(bom) :]
    return body


def _cut_at_line(body: bytes, max_bytes: int) -> bytes:
    # §2.5: ignore what lies past the parsing limit. The line the limit falls in is
    # dropped unless the limit falls exactly on its end (the octet past it is a line end).
    head = body[:max_bytes]
    if body[max_bytes : max_bytes + 1] in (b"\n", b"\r"):
        return head
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[: end + 1]


def _key_value(line: str) -> tuple[str, str] | None:
    """Split a line into a lower-cased key and its value; None for blank and unreadable lines."""
    # §2.2 ABNF: a comment runs from "#" to the end of the line.
    line = line.split("#", 1)[0].strip(_WS)
    if not line:
        return None
    key, colon, value = line.partition(":")
    if not colon:
        # Google accepts a missing colon when the line is exactly "key value".
        words = _WORDS.split(line)
        if len(words) != 2:
            return None
        key, value = words
    key = " ".join(_WORDS.split(key.strip(_WS))).lower()
    # §2.2: only space and tab surround a value (see _WS).
    return key, value.strip(_WS)


def _agent_of(value: str) -> str:
    """The product token a user-agent line names, lower-cased ("" when it names none)."""
    # Google treats "*" followed by whitespace and anything as the global agent.
    if value == "*" or (value.startswith("*") and value[1:2] in (" ", "\t")):
        return "*"
    # §2.2.1 and Google: the token is the leading run of letters, "_" and "-", so
    # "LinkGraph/1.0" and "linkgraph bot" both name "linkgraph". Wildcards are not part
    # of the protocol: "Link*" names "link" only.
    match = _TOKEN_PREFIX.match(value)
    return match.group().lower() if match else ""


def _parse_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


def _text(value: str) -> str:
    """A decoded value as printable text (undecodable bytes become U+FFFD)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
