"""A real PostgreSQL server for the tests, started by the test session itself.

``initdb`` makes a throwaway cluster in a temporary directory (trust authentication, UTF8,
C locale) and ``pg_ctl`` starts it listening on a Unix socket in that directory only
(``listen_addresses=''``: no TCP port, nothing another process or host can reach). Each
pytest-xdist worker has its own; each test gets a fresh database made from the template
and dropped after it. initdb refuses to run as root, so as root (CI) the server runs as
the ``postgres`` user, which owns the directory.

Where the server binaries are missing the PostgreSQL tests skip with :data:`MISSING`; with
``CI=true`` they fail instead, since CI installs them (``scripts/test.sh``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["MISSING", "PgServer", "find_binaries", "without_server"]

MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql"
)
SUPERUSER = "postgres"
# A role that must give its password (every other connection is trusted): the tests of
# what a wrong password prints use it.
PASSWORD_USER, PASSWORD = "linkgraph_pw", "right-horse-battery"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest
    ``/usr/lib/postgresql/*/bin`` (Debian installs them there, off PATH)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).resolve().parent == Path(pg_ctl).resolve().parent:
        return Path(initdb).resolve().parent

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in folder.parent.name.split(".") if p.isdigit())

    found = [
        d
        for d in Path("/usr/lib/postgresql").glob("*/bin")
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file()
    ]
    return max(found, key=version) if found else None


def without_server(environ: Mapping[str, str]) -> NoReturn:
    """What a test needing the server does when the binaries are missing: skip, or under
    ``CI=true`` (CI installs them, so their absence is a broken setup) fail."""
    if environ.get("CI", "").lower() == "true":
        pytest.fail(MISSING, pytrace=False)
    pytest.skip(MISSING)


class PgServer:
    """One running cluster; :meth:`stop` it (the session fixture does, however tests end)."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="linkgraph-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        self.running = False

    def _run(self, *command: str) -> None:
        argv = [str(self.binaries / command[0]), *command[1:]]
        if self._as_postgres:
            argv = ["runuser", "-u", SUPERUSER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command[:2])} failed ({done.returncode}): {done.stderr.strip()} {log}"
            )

    def start(self) -> PgServer:
        if self._as_postgres:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"local all {PASSWORD_USER} scram-sha-256\n" + hba.read_text())
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c shared_buffers=16MB -c max_connections=30"
        )
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options,
        )  # fmt: skip
        self.running = True
        self.admin(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        return self

    def stop(self) -> None:
        try:
            if self.running:
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60")
                self.running = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", *, user: str = SUPERUSER) -> str:
        """A URL reaching ``dbname`` over the server's Unix socket."""
        return f"postgresql://{user}@/{dbname}?host={self.root}"

    def admin(self, sql: str) -> None:
        """Run one statement (CREATE/DROP DATABASE, roles) outside a transaction."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A fresh, empty database made from the template; returns its name."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
