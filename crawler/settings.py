"""Crawl settings: one frozen object with every default in one place.

Precedence, lowest first: the defaults below < a TOML file (``--config``) < environment
variables (``LINKGRAPH_<NAME>``, e.g. ``LINKGRAPH_DELAY=2``) < the command line.
``configs/linkgraph.toml`` documents every field; a test keeps the two in step. A crawl
that continues a store's crawl starts from the settings stored with it instead of the
defaults (``linkgraph.api.stored_settings``).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from linkgraph.storage.interface import BATCH_PAGES
from linkgraph.storage.vocab import GUARDS

from linkgraph.errors import LinkgraphError

__all__ = [
    "DEFAULT_USER_AGENT",
    "GUARDS",
    "CrawlSettings",
    "SettingsError",
    "check",
    "load_settings",
    "read_toml",
]

DEFAULT_USER_AGENT = "linkgraph/0.1 (+https://github.com/linkgraph/linkgraph)"


class SettingsError(LinkgraphError, ValueError):
    """A setting has a wrong name, type or value."""


def _rule(default: Any, *, low: float = 1, high: float | None = None, **meta: Any) -> Any:
    """A field with its validation rule: ``low``/``high`` bound numbers (floats other than
    a ``low`` of 0 must be above 0: ``low=1`` on a float means "positive"), ``choices``
    names the allowed strings. A field declared without a rule gets the strictest one:
    positive numbers, strings without control characters."""
    return field(default=default, metadata={"low": low, "high": high, **meta})


ZERO_OK = 0  # ``low=ZERO_OK``: zero is a meaningful value of this setting


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlSettings:
    # What to crawl
    seeds: tuple[str, ...] = ()
    scope: str = _rule("domain", choices=("domain", "host", "any"))
    max_pages: int | None = _rule(None, low=ZERO_OK)
    max_pages_per_host: int | None = _rule(None, low=ZERO_OK)
    follow_nofollow: bool = False
    refresh: bool = False
    sitemaps: bool = True
    max_sitemap_urls: int = _rule(50_000, low=ZERO_OK)
    # Trap guards: each refused URL is recorded (not fetched) with the guard's reason;
    # "none" lifts a guard. Defaults are in configs/linkgraph.toml, with why.
    max_depth: int | None = _rule(20, low=ZERO_OK)
    max_urls_per_host: int | None = _rule(100_000)
    max_segment_repeats: int | None = _rule(2)
    max_queries_per_path: int | None = _rule(1_000)
    max_query_params: int | None = _rule(20, low=ZERO_OK)
    # Politeness
    user_agent: str = DEFAULT_USER_AGENT
    delay: float = _rule(1.0, low=ZERO_OK)
    max_crawl_delay: float = _rule(30.0, low=ZERO_OK)
    connections_per_ip: int = _rule(2, high=1_000)
    backoff_base: float = _rule(10.0, low=ZERO_OK)
    backoff_max: float = _rule(600.0, low=ZERO_OK)
    max_retries: int = _rule(3, low=ZERO_OK)
    park_after_failures: int = 3
    park_seconds: float = _rule(60.0, low=ZERO_OK)
    max_parks: int = _rule(2, low=ZERO_OK)
    # Per-host budget: a host past either is given up, its URLs recorded "host-budget".
    host_budget_seconds: float | None = 3600.0
    host_max_failures: int | None = 6
    # robots.txt (RFC 9309)
    robots_max_bytes: int = 512_000
    robots_max_redirects: int = _rule(5, low=ZERO_OK)
    robots_cache_seconds: float = 86_400.0
    robots_retries: int = _rule(3, low=ZERO_OK)
    robots_retry_seconds: float = _rule(60.0, low=ZERO_OK)
    # Fetching
    concurrency: int = _rule(100, high=10_000)
    max_redirects: int = _rule(5, low=ZERO_OK)
    max_page_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    hosts_file: str | None = None
    pinned_only: bool = False
    allow_private_addresses: bool = False
    store_text: bool = True
    parse_workers: int | None = _rule(None, low=ZERO_OK, high=64)
    # Parsing one page: links kept, URL length, CPU seconds before "parse-timeout"
    max_links_per_page: int = 10_000
    max_url_length: int = 2048
    parse_cpu_seconds: float = 10.0
    # Storage and display
    batch_pages: int = BATCH_PAGES
    flush_seconds: float = 1.0
    # Several workers on one PostgreSQL store: how long a host stays leased unrenewed
    lease_seconds: float = 30.0
    quiet: bool = False

    def __post_init__(self) -> None:
        # Every construction is checked, whatever built it: defaults, the loader below,
        # ``dataclasses.replace``, a test or the Python API.
        for f in fields(self):
            try:
                value = check(f.name, getattr(self, f.name))
            except SettingsError as exc:
                raise SettingsError(f"{f.name}: {exc}") from None
            object.__setattr__(self, f.name, value)
        if self.pinned_only and not self.hosts_file:
            raise SettingsError("pinned_only needs a hosts_file: nothing else could be resolved")

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

_NONE_WORDS = ("none",)  # how text (env, flags, TOML) says "no limit" for an optional setting


def _kind(name: str) -> tuple[str, bool]:
    """``("int" | "float" | "bool" | "str" | "seeds", optional)`` from a field's annotation."""
    annotation = str(_FIELDS[name].type)
    base = annotation.split("|")[0].strip()
    return ("seeds" if base.startswith("tuple") else base), "None" in annotation


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check(name: str, value: Any) -> Any:
    """Validate one typed value of setting ``name``; return it normalised (an int given for
    a float setting becomes a float, a list of seeds a tuple). The one rule set: the loader
    and ``CrawlSettings.__post_init__`` both call it, so every source obeys the same rules."""
    kind, optional = _kind(name)
    meta = _FIELDS[name].metadata
    if value is None:
        if optional:
            return None
        raise SettingsError("must be set (only limits take none)")
    if kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError(f"must be true or false, not {value!r}")
        return value
    if kind == "seeds":
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise SettingsError(f"must be a list of URLs, not {value!r}")
        from .urls import normalize  # here: the URL machinery loads with a crawl only

        for seed in value:
            if not isinstance(seed, str) or _control(seed):
                raise SettingsError(f"not a URL: {seed!r}")
            if normalize(seed) is None:  # as a seed on the command line is refused
                raise SettingsError(f"not an http(s) URL: {seed!r}")
        return tuple(value)
    if kind == "str":
        if not isinstance(value, str):
            raise SettingsError(f"must be a string, not {value!r}")
        if _control(value):
            # A CR or LF in a header value makes every request fail; a NUL breaks paths.
            raise SettingsError(f"must not contain control characters: {value!r}")
        if not value.strip():
            raise SettingsError("must not be empty")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise SettingsError(
                f"must be {', '.join(choices[:-1])} or {choices[-1]}, not {value!r}"
            )
        return value
    # Numbers. bool is an int to Python, never to a user.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"must be a number, not {value!r}")
    if kind == "int":
        if not isinstance(value, int):
            raise SettingsError(f"must be a whole number, not {value!r}")
    else:
        value = float(value)
        if not math.isfinite(value):
            # nan compares false with everything: a nan delay silently switched the delay
            # off, and inf waited forever.
            raise SettingsError(f"must be a finite number, not {value!r}")
    low, high = meta.get("low", 1), meta.get("high")
    if low == 0 and value < 0:
        raise SettingsError(f"must be 0 or more, not {value!r}")
    if low != 0 and (value < low if kind == "int" else value <= 0):
        raise SettingsError(
            f"must be at least {low}, not {value!r}"
            if kind == "int"
            else f"must be above 0, not {value!r}"
        )
    if high is not None and value > high:
        raise SettingsError(f"must be at most {high}, not {value!r}")
    return value


def _from_text(name: str, text: str) -> Any:
    """An environment variable or a flag: text into the setting's type (checked later)."""
    kind, optional = _kind(name)
    stripped = text.strip()
    if optional and stripped.lower() in _NONE_WORDS:
        return None
    if kind == "seeds":
        return tuple(text.split())
    if kind == "bool":
        lowered = stripped.lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingsError(f"must be true or false, not {text!r}")
        return lowered in ("1", "true", "yes", "on")
    if kind == "int":
        try:
            return int(stripped)
        except ValueError:
            raise SettingsError(f"must be a whole number, not {text!r}") from None
    if kind == "float":
        try:
            return float(stripped)
        except ValueError:
            raise SettingsError(f"must be a number, not {text!r}") from None
    return text


def _from_toml(name: str, value: Any) -> Any:
    """A TOML value keeps its TOML type: ``delay = "2"`` is an error, not a number. TOML
    has no null, so an optional limit is lifted with the string "none"."""
    kind, optional = _kind(name)
    if optional and isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
        return None
    if kind == "seeds" and isinstance(value, str):
        return tuple(value.split())
    return value


def _option(name: str) -> str:
    return f"option {name}"


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A TOML file's tables; a file that cannot be read, is not UTF-8 (tomllib decodes
    the whole file first) or is not TOML is a one-line error naming ``what`` it is."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{what} {path} is not UTF-8 text, as TOML is") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{what} {path} is not valid TOML: {exc}") from None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: CrawlSettings | None = None,
    source: Callable[[str], str] = _option,
) -> CrawlSettings:
    """Build settings: ``base`` (defaults) < TOML file < ``LINKGRAPH_*`` environment < overrides.

    ``overrides`` holds only what the user gave on the command line (``None`` values are
    ignored, so an absent flag never hides a lower layer); text values there are parsed
    as in the environment. ``source(name)`` names an override in error messages (the
    command line passes its flag's name). Every error is a one-line :class:`SettingsError` naming where the
    bad value came from and the setting.
    """
    values: dict[str, Any] = {}

    def take(name: str, value: Any, where: str, parse: Callable[[str, Any], Any]) -> None:
        try:
            values[name] = check(name, parse(name, value))
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc}") from None

    if config_file is not None:
        data = read_toml(config_file, "config")
        table = data.get("crawl", data)
        if not isinstance(table, dict):
            raise SettingsError(
                f"config {config_file}: crawl must be a table ([crawl]), not {table!r}"
            )
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in _FIELDS:
                raise SettingsError(f"config {config_file}: unknown setting {key!r}")
            take(name, value, f"config {config_file}: {key}", _from_toml)
    environ = os.environ if environ is None else environ
    for name in _FIELDS:
        raw = environ.get(f"LINKGRAPH_{name.upper()}")
        if raw is not None:
            take(name, raw, f"LINKGRAPH_{name.upper()}", _from_text)
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}")
        parse = _from_text if isinstance(value, str) else _as_is
        take(name, value, source(name), parse)
    return replace(base or CrawlSettings(), **values)


def _as_is(name: str, value: Any) -> Any:
    if _kind(name)[0] == "seeds" and isinstance(value, list):
        return tuple(value)
    return value
