"""The robots.txt tests' shorthand: parse a text, ask whether our token may fetch a path of SITE."""

from __future__ import annotations

from linkgraph.crawler.robots import RobotsRules

TOKEN = "linkgraph"
SITE = "https://example.com"


def rules(text: str | bytes) -> RobotsRules:
    """``text`` parsed as a robots.txt body."""
    return RobotsRules.parse(text.encode() if isinstance(text, str) else text)


def allowed(text: str | bytes, path: str, token: str = TOKEN) -> bool:
    """Whether ``token`` may fetch ``path`` of SITE under the robots.txt ``text``."""
    return rules(text).allowed(SITE + path, token)
