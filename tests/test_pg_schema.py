"""The PostgreSQL store's schema and connection: init-db, refusing databases that are not
ours or are newer, URLs recognised everywhere --db is taken, passwords never printed,
servers that refuse or do not answer, and a clear line when the driver is missing."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from cli_support import run
from linkgraph.storage.pg import connection, redact
from linkgraph.storage.pg.migrations import META_TABLE, MIGRATIONS
from pg_support import PASSWORD, PASSWORD_USER, without_server


def tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the database at ``url`` with all its rows: what 'never modified' compares."""
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def test_init_db_creates_every_table_and_records_each_migration(pg_url: str, capsys) -> None:
    code, out, err = run(capsys, "init-db", pg_url)
    assert (code, err) == (0, "")
    assert out == f"created the link store schema v{len(MIGRATIONS)} in {pg_url}\n"
    found = tables(pg_url)
    assert {"domains", "hosts", "urls", "anchors", "rels", "links", "pages", "frontier"} <= set(
        found
    )
    assert {"crawl", "page_scores", "host_scores", "domain_scores", "page_text"} <= set(found)
    assert {"hub_targets", "hub_inlinks"} <= set(found)
    assert [(v, name) for v, name, _ in found[META_TABLE]] == [
        (i, name) for i, (name, _) in enumerate(MIGRATIONS, 1)
    ]


def test_init_db_on_our_current_schema_says_it_is_up_to_date(pg_url: str, capsys) -> None:
    run(capsys, "init-db", pg_url)
    before = tables(pg_url)
    code, out, _ = run(capsys, "init-db", pg_url)
    assert code == 0
    assert out == f"{pg_url} is up to date (store schema v{len(MIGRATIONS)})\n"
    assert tables(pg_url) == before


def test_ids_come_from_identities_that_several_writers_can_share(pg_url: str) -> None:
    import linkgraph

    linkgraph.init_db(pg_url)
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO domains(name) VALUES ('a.test'), ('b.test')")
        ids = [r[0] for r in conn.execute("SELECT id FROM domains ORDER BY id")]
        kinds = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT table_name, data_type FROM information_schema.columns"
                " WHERE column_name = 'id' AND table_schema = 'public'"
            )
        }
    assert ids == [1, 2]
    assert kinds == dict.fromkeys(
        ("domains", "hosts", "urls", "anchors", "rels", "workers"), "bigint"
    )


def test_a_database_with_tables_of_another_program_is_refused_untouched(
    pg_url: str, capsys
) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE invoices (id int, total numeric)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = tables(pg_url)
    for argv in (["init-db", pg_url], ["copy", "/nonexistent.db", pg_url]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        if argv[0] == "init-db":
            assert "tables of another program" in err
        assert err.count("\n") == 1 and err.startswith("linkgraph: error: ")
    code, _, err = run(capsys, "backlinks", "a.test", "--db", pg_url)
    assert code == 1 and "tables of another program" in err
    assert tables(pg_url) == before


def test_a_store_from_a_newer_linkgraph_is_refused_untouched(pg_url: str, capsys) -> None:
    run(capsys, "init-db", pg_url)
    with psycopg.connect(pg_url) as conn:
        conn.execute(f"INSERT INTO {META_TABLE}(version, name) VALUES (99, '0099_future')")
    before = tables(pg_url)
    for argv in (["init-db", pg_url], ["stats", "--db", pg_url], ["top", "--db", pg_url]):
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert "newer than this linkgraph" in err and err.count("\n") == 1
    assert tables(pg_url) == before


def test_redact_hides_the_password_in_the_authority_and_the_query() -> None:
    assert redact("postgresql://u:s3cret@db:5432/links") == "postgresql://u:***@db:5432/links"
    assert redact("postgres://u@db/links?password=s3cret&sslmode=require") == (
        "postgres://u@db/links?password=***&sslmode=require"
    )
    assert redact("postgresql://u@db/links") == "postgresql://u@db/links"


def test_redact_hides_the_password_of_a_url_urlsplit_refuses() -> None:
    # An unclosed "[" makes urlsplit raise: the password must still be hidden, not leak
    # through a traceback of the error path.
    assert redact("postgresql://alice:S3cretPW@[::1/links") == "postgresql://alice:***@[::1/links"
    assert redact("postgresql://a:S3c@ret@[::1/x?password=abc123") == (
        "postgresql://a:***@[::1/x?password=***"
    )


@pytest.mark.parametrize("command", ["backlinks", "copy"])
def test_a_malformed_url_is_one_line_without_the_password(command: str, capsys, tmp_path) -> None:
    url = "postgresql://alice:S3cretPW@[::1/links"
    argv = (
        ["backlinks", "a.test", "--db", url]
        if command == "backlinks"
        else ["copy", url, str(tmp_path / "c.db")]
    )
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.startswith("linkgraph: error: cannot connect to postgresql://alice:***@")
    assert "S3cretPW" not in err and err.count("\n") == 1


def test_a_wrong_password_is_an_error_line_without_the_password(pg_server, capsys) -> None:
    url = pg_server.url("postgres", user=f"{PASSWORD_USER}:wrong-pony-staple")
    code, out, err = run(capsys, "backlinks", "a.test", "--db", url)
    assert code == 1 and out == ""
    assert err.startswith("linkgraph: error: cannot connect to ") and err.count("\n") == 1
    assert "password authentication failed" in err
    assert "wrong-pony-staple" not in err
    assert f"{PASSWORD_USER}:***@" in err


def test_the_right_password_in_the_url_reaches_the_store(pg_server, pg_url, capsys) -> None:
    run(capsys, "init-db", pg_url)
    name = pg_url.split("@/", 1)[1].split("?")[0]
    with psycopg.connect(pg_url) as conn:
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{PASSWORD_USER}"')
    url = pg_server.url(name, user=f"{PASSWORD_USER}:{PASSWORD}")
    code, out, err = run(capsys, "stats", "--db", url, "--format", "json")
    assert (code, err) == (0, "")
    assert '"urls": 0' in out
    code, out, _ = run(capsys, "stats", "--db", url)  # the table's title names the store
    assert code == 0 and f"{PASSWORD_USER}:***@" in out and PASSWORD not in out


def test_a_server_that_refuses_connections_is_one_line_at_once(capsys) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run(capsys, "stats", "--db", f"postgresql://u@127.0.0.1:{port}/links")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"linkgraph: error: cannot connect to postgresql://u@127.0.0.1:{port}")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def test_a_server_that_never_answers_fails_after_the_connect_timeout(
    silent_server: int, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default timeout applies when the URL sets none; 1 s keeps the test short.
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT", 1)
    started = time.monotonic()
    code, _, err = run(capsys, "stats", "--db", f"postgresql://u@127.0.0.1:{silent_server}/x")
    waited = time.monotonic() - started
    assert code == 1 and err.count("\n") == 1
    assert "cannot connect to" in err and "timeout" in err.lower()
    assert waited < 30  # bounded by the timeout, not by the test's own limit


def test_without_psycopg_a_postgresql_url_says_how_to_install_it(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    code, out, err = run(capsys, "backlinks", "a.test", "--db", "postgresql://u@/links")
    assert (code, out) == (1, "")
    assert err == (
        "linkgraph: error: PostgreSQL stores need psycopg: pip install 'linkgraph[postgres]'\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--quiet"],
        ["broken", "--check-external"],
        ["import-warc", "{file}"],
        ["import-wat", "{file}"],
        ["import-parquet", "{folder}"],
    ],
    ids=["demo", "broken-check-external", "warc", "wat", "parquet"],
)
def test_writing_commands_on_an_unreachable_store_are_one_line_without_the_password(
    argv: list[str], capsys, tmp_path
) -> None:
    (tmp_path / "a.warc.gz").write_bytes(b"")
    url = f"postgresql://u:pw1234@/links?host={tmp_path}&connect_timeout=2"  # no server there
    where = {"file": tmp_path / "a.warc.gz", "folder": tmp_path}
    code, out, err = run(capsys, *(a.format(**where) for a in argv), "--db", url)
    assert (code, out) == (1, "")
    assert err.startswith("linkgraph: error: cannot connect to postgresql://u:***@/links")
    assert "pw1234" not in err and err.count("\n") == 1


def test_a_crawl_into_an_unreachable_postgresql_store_is_one_line_without_the_password(
    capsys, tmp_path
) -> None:
    url = f"postgresql://u:pw1234@/links?host={tmp_path}&connect_timeout=2"  # no server there
    code, out, err = run(capsys, "crawl", "http://a.test/", "--db", url)
    assert (code, out) == (1, "")
    assert err.startswith("linkgraph: error: cannot connect to postgresql://u:***@/links")
    assert "pw1234" not in err and err.count("\n") == 1


def test_without_server_binaries_the_tests_skip_with_the_reason() -> None:
    with pytest.raises(pytest.skip.Exception, match="install the Debian package postgresql"):
        without_server({})
    with pytest.raises(pytest.skip.Exception):
        without_server({"CI": "false"})


def test_without_server_binaries_under_ci_the_tests_fail() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"initdb, pg_ctl\) not found"):
        without_server({"CI": "true"})


def test_a_postgresql_host_name_is_looked_up_where_the_network_guard_sees_it(
    netguard_violations, capsys
) -> None:
    # psycopg resolves host names in Python (socket.getaddrinfo): the guard refuses and
    # reports any name but localhost, as for every other connection the tests make.
    code, _, err = run(capsys, "stats", "--db", "postgresql://u@db.example.invalid/links")
    assert code == 1 and err.count("\n") == 1
    assert "cannot connect to postgresql://u@db.example.invalid/links" in err
    assert any("db.example.invalid" in line for line in netguard_violations())


def test_an_open_postgresql_store_answers_like_its_url(pg_url: str, capsys) -> None:
    import linkgraph

    run(capsys, "init-db", pg_url)
    with linkgraph.open_store(pg_url) as store:
        assert "PgStore" in repr(store) and "closed" not in repr(store)
        assert linkgraph.stats(store) == linkgraph.stats(pg_url)
    assert "closed" in repr(store)


@pytest.mark.parametrize(
    "argv",
    [
        ["stats"],
        ["rank"],
        ["crawl", "http://a.test/"],
        ["import", "{file}"],
        ["import-warc", "{file}"],
        ["import-parquet", "{folder}"],
        ["broken", "--check-external"],
        ["demo", "--quiet"],
    ],
    ids=lambda argv: "-".join(argv[:2]).strip("-{}"),
)
def test_a_url_of_another_scheme_is_refused_without_its_password(
    argv: list[str], capsys, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a.csv").write_text("source,target\nhttp://a.test/,http://b.test/\n")
    monkeypatch.chdir(tmp_path)  # where a store named after the URL would appear
    where = {"file": inputs / "a.csv", "folder": inputs}
    argv = [a.format(**where) for a in argv]
    code, out, err = run(capsys, *argv, "--db", "postgresq://u:pw5678@db.test/links")
    assert (code, out) == (1, "")
    assert "postgresq:// is not a store linkgraph knows" in err
    assert "pw5678" not in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["inputs"]


def make_older(url: str) -> None:
    """Set a store of ours back one migration: its row and its tables gone."""
    with psycopg.connect(url) as conn:
        conn.execute(f"DELETE FROM {META_TABLE} WHERE version = %s", (len(MIGRATIONS),))
        conn.execute("DROP TABLE address_leases, page_quota")
        conn.execute("ALTER TABLE host_leases DROP COLUMN address")


def test_init_db_brings_an_older_store_of_ours_up_to_date(pg_url: str, capsys) -> None:
    assert MIGRATIONS[-1][0] == "0006_fleet_caps"  # what make_older undoes
    run(capsys, "init-db", pg_url)
    make_older(pg_url)
    code, _, err = run(capsys, "backlinks", "a.test", "--db", pg_url)
    assert code == 1 and "run `linkgraph init-db URL`" in err
    code, out, _ = run(capsys, "init-db", pg_url)
    n = len(MIGRATIONS)
    assert (code, out) == (0, f"upgraded {pg_url} from store schema v{n - 1} to v{n}\n")
    assert {"address_leases", "page_quota"} <= set(tables(pg_url))


def test_copy_into_an_older_store_with_rows_refuses_before_upgrading_it(
    pg_url: str, tmp_path, capsys
) -> None:
    import linkgraph

    run(capsys, "init-db", pg_url)
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO domains(name) VALUES ('a.test')")
    make_older(pg_url)
    before = tables(pg_url)
    src = tmp_path / "src.db"
    linkgraph.init_db(src)
    code, _, err = run(capsys, "copy", str(src), pg_url)
    assert code == 1 and "is not empty" in err
    assert tables(pg_url) == before  # still the older schema: nothing was written


def test_init_db_run_twice_at_once_applies_each_migration_once(pg_url: str) -> None:
    import linkgraph

    results: list[object] = []

    def init() -> None:
        try:
            results.append(linkgraph.init_db(pg_url)["after"])
        except Exception as exc:  # reported below, with the other thread's result
            results.append(exc)

    threads = [threading.Thread(target=init) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [len(MIGRATIONS)] * 3
    assert [v for v, _, _ in tables(pg_url)[META_TABLE]] == list(range(1, len(MIGRATIONS) + 1))
