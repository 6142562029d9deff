"""Crawl settings: one frozen object with every default in one place.

Precedence, lowest first: the defaults below < a TOML file (``--config``) < environment
variables (``LINKGRAPH_<NAME>``, e.g. ``LINKGRAPH_DELAY=2``) < the command line.
``configs/linkgraph.toml`` documents every field; a test keeps the two in step. A crawl
that continues a store's crawl starts from the settings stored with it instead of the
defaults (``linkgraph.api.stored_settings``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["DEFAULT_USER_AGENT", "CrawlSettings", "SettingsError", "load_settings"]

DEFAULT_USER_AGENT = "linkgraph/0.1 (+https://github.com/linkgraph/linkgraph)"


class SettingsError(ValueError):
    """A setting has a wrong name, type or value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlSettings:
    # What to crawl
    seeds: tuple[str, ...] = ()
    scope: str = "domain"
    max_pages: int | None = None
    max_pages_per_host: int | None = None
    max_depth: int | None = None
    follow_nofollow: bool = False
    refresh: bool = False
    sitemaps: bool = True
    max_sitemap_urls: int = 50_000
    # Politeness
    user_agent: str = DEFAULT_USER_AGENT
    delay: float = 1.0
    max_crawl_delay: float = 30.0
    connections_per_ip: int = 2
    backoff_base: float = 10.0
    backoff_max: float = 600.0
    max_retries: int = 3
    park_after_failures: int = 5
    park_seconds: float = 300.0
    max_parks: int = 2
    # robots.txt (RFC 9309)
    robots_max_bytes: int = 512_000
    robots_max_redirects: int = 5
    robots_cache_seconds: float = 86_400.0
    robots_retries: int = 3
    robots_retry_seconds: float = 60.0
    # Fetching
    concurrency: int = 100
    max_redirects: int = 5
    max_page_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    hosts_file: str | None = None
    pinned_only: bool = False
    allow_private_addresses: bool = False
    store_text: bool = True
    parse_workers: int | None = None
    # Storage and display
    batch_pages: int = 200
    flush_seconds: float = 1.0
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.scope not in ("domain", "host", "any"):
            raise SettingsError(f"scope must be domain, host or any, not {self.scope!r}")
        for name in ("max_pages", "max_pages_per_host", "max_depth"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise SettingsError(f"{name} must be 0 or more, not {value}")
        for name in ("delay", "max_crawl_delay", "backoff_base", "backoff_max"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 or more")
        for name in ("concurrency", "connections_per_ip", "max_page_bytes", "robots_max_bytes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        if self.pinned_only and not self.hosts_file:
            raise SettingsError("pinned_only needs a hosts_file: nothing else could be resolved")
        if not self.user_agent.strip():
            raise SettingsError("user_agent must not be empty")

    @property
    def product_token(self) -> str:
        """The product token robots.txt groups are matched against (RFC 9309 §2.2.1)."""
        token = self.user_agent.split("/", 1)[0].split()[0]
        return (
            "".join(c for c in token if (c.isascii() and c.isalpha()) or c in "-_") or "linkgraph"
        )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_FIELDS = {f.name: f for f in fields(CrawlSettings)}


def _coerce(name: str, value: Any, source: str) -> Any:
    default = _FIELDS[name].default
    kind = _FIELDS[name].type
    try:
        if name == "seeds":
            if isinstance(value, str):
                value = value.split()
            return tuple(str(v) for v in value)
        if value is None:
            if "None" in str(kind):
                return None
            raise TypeError
        if "bool" in str(kind):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise TypeError
                return lowered in ("1", "true", "yes", "on")
            if not isinstance(value, bool):
                raise TypeError
            return value
        if "int" in str(kind) and not isinstance(default, float):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if "float" in str(kind):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: {name} has a wrong value: {value!r}") from None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: CrawlSettings | None = None,
) -> CrawlSettings:
    """Build settings: ``base`` (defaults) < TOML file < ``LINKGRAPH_*`` environment < overrides.

    ``overrides`` holds only what the user gave on the command line (``None`` values are
    ignored, so an absent flag never hides a lower layer).
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise SettingsError(f"cannot read config {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config {config_file} is not valid TOML: {exc}") from None
        table = data.get("crawl", data)
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in _FIELDS:
                raise SettingsError(f"config {config_file}: unknown setting {key!r}")
            values[name] = _coerce(name, value, f"config {config_file}")
    environ = os.environ if environ is None else environ
    for name in _FIELDS:
        raw = environ.get(f"LINKGRAPH_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw, f"LINKGRAPH_{name.upper()}")
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = _coerce(name, value, "command line")
    try:
        return replace(base or CrawlSettings(), **values)
    except TypeError as exc:  # pragma: no cover - guarded by _FIELDS
        raise SettingsError(str(exc)) from None
