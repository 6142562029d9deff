"""Reaching a PostgreSQL store: telling its URL from a path, the driver, the connection,
and errors that never show the password.

``--db`` takes a file path or a PostgreSQL URL (``postgresql://user@host:5432/dbname`` or
``postgres://...``). The password comes from libpq as it always does: ``PGPASSWORD``,
``~/.pgpass``, or the URL itself; every message that names the store names it by
:func:`redact`, which drops the password wherever the URL carries one.

The driver is psycopg 3 (``pip install 'linkgraph[postgres]'``), imported only when a
PostgreSQL URL is opened, so a SQLite user never needs it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import StoreError, StoreNotFound

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "CONNECT_TIMEOUT",
    "DRIVER_MISSING",
    "connect",
    "driver",
    "is_pg_url",
    "pg_errors",
    "redact",
    "session_lock",
]

SCHEMES = ("postgresql://", "postgres://")
DRIVER_MISSING = "PostgreSQL stores need psycopg: pip install 'linkgraph[postgres]'"
# Seconds libpq waits for a server that does not answer, unless the URL sets its own
# ``connect_timeout``: a command must fail, not hang, on a host that drops packets.
CONNECT_TIMEOUT = 10
_HIDDEN = "***"


def is_pg_url(db: object) -> bool:
    """True when ``db`` names a PostgreSQL store rather than a SQLite file."""
    return isinstance(db, str) and db.lstrip().lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """``url`` with its password (in the authority or as ``?password=``) replaced by ``***``,
    fit to print, however malformed the URL is."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host: blank what may be a password
        head, password, tail = _userinfo(url.strip())
        hidden = head + (f":{_HIDDEN}" if password is not None else "") + tail
        return _QUERY_PASSWORD.sub(rf"\g<1>{_HIDDEN}", hidden)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + _HIDDEN
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k == "password" for k, _ in pairs):
            query = urlencode([(k, _HIDDEN if k == "password" else v) for k, v in pairs])
            query = query.replace("%2A%2A%2A", _HIDDEN)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# The authority's "user:password@" read without parsing the rest, for URLs urlsplit refuses:
# everything up to the last "@" is hidden, which covers the password however it is read.
_USERINFO = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*)(?::(?P<pw>.*))?(?P<tail>@.*)", re.S
)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*")


def _userinfo(url: str) -> tuple[str, str | None, str]:
    """``url`` as (up to the user name, the password or None, from the "@" on)."""
    match = _USERINFO.fullmatch(url)
    if match is None:
        return url, None, ""
    return match["head"], match["pw"], match["tail"]


def driver() -> ModuleType:
    """The psycopg module, or a :class:`StoreError` saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(DRIVER_MISSING) from None
    return psycopg


def _secrets(url: str) -> list[str]:
    """The passwords ``url`` carries (and ``PGPASSWORD``), to scrub from a server message."""
    found = [os.environ.get("PGPASSWORD", "")]
    try:
        parts = urlsplit(url.strip())
        found.append(parts.password or "")
        query = parts.query
    except ValueError:  # malformed: the password as libpq would read it
        found.append(_userinfo(url.strip())[1] or "")
        query = url.partition("?")[2]
    found += [v for k, v in parse_qsl(query) if k == "password"]
    return [s for s in found if len(s) >= 3]


def one_line(url: str, exc: BaseException) -> str:
    """A driver error as one line, without any password it might quote."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in _secrets(url):
        text = text.replace(secret, _HIDDEN)
    return re.sub(r"password=\S+", f"password={_HIDDEN}", text)


def connect(url: str, *, autocommit: bool = False, **options: Any) -> psycopg.Connection[Any]:
    """A psycopg connection to the store at ``url``; a refused, unanswered or unknown
    server is one :class:`StoreError` line naming the redacted URL."""
    pg = driver()
    params: dict[str, Any] = {}
    if "connect_timeout" not in url:
        params["connect_timeout"] = CONNECT_TIMEOUT
    try:
        return pg.connect(url.strip(), autocommit=autocommit, **params, **options)
    except pg.OperationalError as exc:
        message = one_line(url, exc)
        if "does not exist" in message and "database" in message:
            raise StoreNotFound(f"no PostgreSQL database at {redact(url)}: {message}") from None
        raise StoreError(f"cannot connect to {redact(url)}: {message}") from None
    except pg.ProgrammingError as exc:  # a malformed URL: libpq says what is wrong
        raise StoreError(f"cannot connect to {redact(url)}: {one_line(url, exc)}") from None


@contextmanager
def pg_errors(url: str) -> Iterator[None]:
    """Raise a :class:`StoreError` for a driver error inside the block, so no psycopg
    exception leaves the store."""
    pg = driver()
    try:
        yield
    except pg.Error as exc:
        raise StoreError(f"{redact(url)}: PostgreSQL error: {one_line(url, exc)}") from None


@contextmanager
def session_lock(url: str, key: int) -> Iterator[bool]:
    """Try to take the session advisory lock ``key`` in the database at ``url``: yields
    whether it was taken, and holds it until the block ends (the server drops it with
    the connection, however the process ends)."""
    conn = connect(url, autocommit=True)
    try:
        with pg_errors(url):
            (taken,) = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        yield bool(taken)
    finally:
        conn.close()
