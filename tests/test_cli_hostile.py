"""Hostile values of the command line and its files: each is one line and a non-zero exit.

The audit behind these tests tried every command with bad stores, files and flag values;
what already behaved is tested where it is built (test_cli, test_store_safety,
test_settings...). These are the cases that once printed a traceback, replaced a file the
user did not ask to replace, or left a wrong exit status.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import run
from linkgraph.storage import schema

from linkgraph.importer import import_links
from linkgraph.inputs import read_seeds_file

pytestmark = pytest.mark.timeout(60)

HUGE = str(10**23)  # past SQLite's 64-bit integers


@pytest.fixture
def store(tmp_path: Path) -> str:
    """An empty store: a query on it binds its limit all the same."""
    path = tmp_path / "links.db"
    schema.connect(path, create=True).close()
    return str(path)


def one_line_error(err: str) -> str:
    """The single error line of ``err``, after checking it is the only line."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["top", "--limit", HUGE],
        ["backlinks", "example.com", "--limit", HUGE],
        ["broken", "--limit", HUGE],
        ["intersect", "a.example", "b.example", "--limit", HUGE],
    ],
)
def test_a_limit_past_64_bits_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], store: str, argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--db", store)
    assert code == 2 and out == ""
    assert "--limit" in err.splitlines()[-1] and "Traceback" not in err


@pytest.mark.parametrize("port", ["65536", HUGE])
def test_a_port_past_65535_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], store: str, port: str
) -> None:
    code, out, err = run(capsys, "serve", "--db", store, "--port", port)
    assert code == 2 and out == ""
    assert "--port" in err.splitlines()[-1] and "Traceback" not in err


@pytest.fixture
def two_links(tmp_path: Path) -> Path:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "source,target\nhttps://a.example/,https://b.example/\n"
        "https://a.example/,https://c.example/\n",
        encoding="utf-8",
    )
    db = tmp_path / "two.db"
    import_links(db, edges)
    return db


@pytest.mark.parametrize("format", ["jsonl", "csv", "edgelist", "graphml"])
def test_export_into_a_fifo_writes_through_it_and_leaves_it_a_fifo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, two_links: Path, format: str
) -> None:
    # A pipe, /dev/stdout, /dev/null: a temporary file renamed over it would replace it.
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # two links fit the pipe's buffer
    try:
        code, _, err = run(
            capsys, "export", "--db", str(two_links), "--format", format, "--output", str(fifo)
        )
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert "https://c.example/" in received
    assert not (tmp_path / ".out.partial").exists()


def test_export_into_a_folder_is_refused_before_writing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, two_links: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    code, out, err = run(capsys, "export", "--db", str(two_links), "--output", str(folder))
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert line.startswith("linkgraph: error:") and str(folder) in line and ".partial" not in line
    assert list(folder.iterdir()) == [] and not (tmp_path / ".folder.partial").exists()


def test_export_into_a_missing_folder_names_the_file_asked_for(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, two_links: Path
) -> None:
    wanted = tmp_path / "missing" / "links.jsonl"
    code, out, err = run(capsys, "export", "--db", str(two_links), "--output", str(wanted))
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert line.endswith(f": {wanted}") and ".partial" not in line


UTF16_TOML = "[crawl]\ndelay = 2\n".encode("utf-16")


def test_a_config_in_utf16_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "linkgraph.toml"
    config.write_bytes(UTF16_TOML)
    db = tmp_path / "links.db"
    code, out, err = run(
        capsys, "crawl", "http://a.example/", "--db", str(db), "--config", str(config)
    )
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert str(config) in line and "UTF-8" in line
    assert not db.exists()


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        (UTF16_TOML.decode("latin-1"), "UTF-8"),
        ("profile = 3\n", "table"),
        ('[profile]\nbrands = "Acme"\n', "brands"),
        ("[profile]\nbrands = [1, 2]\n", "brands"),
        ('[profile]\nkeywords = [["blue widgets"]]\n', "keywords"),
        ("[profile]\nmax_exact_share = nan\n", "max_exact_share"),
        ("[profile]\nmax_money_share = 1.5\n", "max_money_share"),
        ("[profile]\nsitewide_share = true\n", "sitewide_share"),
        ("[profile]\ngeneric_file = 5\n", "generic_file"),
    ],
)
@pytest.mark.parametrize("command", [["anchors", "--classify"], ["toxic"]])
def test_a_profile_of_the_wrong_shape_is_one_line_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: str,
    toml: str,
    says: str,
    command: list[str],
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_bytes(toml.encode("latin-1"))
    code, out, err = run(
        capsys, command[0], "example.com", *command[1:], "--db", store, "--profile", str(profile)
    )
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"linkgraph: error: profile {profile}") and says in line


def test_a_bad_generic_file_without_a_profile_is_not_blamed_on_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    generic = tmp_path / "generic.txt"
    generic.write_bytes("click here\n".encode("utf-16"))
    code, _, err = run(
        capsys,
        "anchors",
        "example.com",
        "--classify",
        "--db",
        store,
        "--generic-file",
        str(generic),
    )
    assert code == 1
    line = one_line_error(err)
    assert line.startswith(f"linkgraph: error: generic anchors file {generic}")


def test_a_seeds_file_saved_with_a_byte_order_mark_reads_its_first_url(tmp_path: Path) -> None:
    # Windows Notepad starts a UTF-8 file with U+FEFF; the first URL must not carry it.
    seeds = tmp_path / "seeds.txt"
    seeds.write_bytes("\ufeffhttp://a.example/\r\nhttp://b.example/\r\n".encode())
    assert read_seeds_file(seeds) == ["http://a.example/", "http://b.example/"]


@contextlib.contextmanager
def closed_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Standard output is a pipe whose reader has gone (`linkgraph ... | head -1`). Set in
    the test's body: pytest puts its own capture back between a fixture and the test."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = open(write_end, "w", encoding="utf-8")  # closed below
    try:
        with monkeypatch.context() as patch:
            patch.setattr("sys.stdout", stream)
            yield
    finally:
        with contextlib.suppress(OSError):
            stream.close()


@pytest.mark.parametrize("argv", [["stats"], ["backlinks", "b.example"], ["changes", "b.example"]])
def test_a_table_into_a_closed_pipe_exits_0_quietly(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    two_links: Path,
    argv: list[str],
) -> None:
    # rich answers a broken pipe with SystemExit(1); every other output of ours exits 0.
    with closed_pipe(monkeypatch):
        code, _, err = run(capsys, *argv, "--db", str(two_links))
    assert (code, err) == (0, "")


def test_the_robots_table_into_a_closed_pipe_exits_0_quietly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    robots = tmp_path / "robots.txt"
    robots.write_text("User-agent: *\nDisallow: /x\n")
    with closed_pipe(monkeypatch):
        code, _, err = run(capsys, "robots", str(robots), "/a", "/x")
    assert (code, err) == (0, "")


def _damage_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(64, len(data) - 600, 7):  # the footer (schema, row groups) stays
        data[i] = 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not parquet at all\n"),
        lambda p: p.write_bytes(p.read_bytes()[:200]),
        _damage_middle,
    ],
    ids=["garbage", "truncated", "damaged-inside"],
)
@pytest.mark.parametrize("table", ["links", "pages"])
def test_import_parquet_of_a_damaged_file_is_one_line_and_builds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, two_links: Path, damage: Any, table: str
) -> None:
    pytest.importorskip("pyarrow")
    folder = tmp_path / "export"
    assert (
        run(
            capsys, "export", "--db", str(two_links), "--format", "parquet", "--output", str(folder)
        )[0]
        == 0
    )
    (part,) = [
        p for p in (folder / table).rglob("*.parquet") if "kind=link" in str(p) or table == "pages"
    ]
    damage(part)
    db = tmp_path / "new.db"
    code, out, err = run(capsys, "import-parquet", str(folder), "--db", str(db))
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert line.startswith("linkgraph: error:") and "Parquet" in line
    assert not db.exists()


def test_an_error_line_shows_control_characters_of_a_path_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "x\x1b[2Jy\x07\u202e.db"
    code, _, err = run(capsys, "stats", "--db", str(db))
    assert code == 1
    line = one_line_error(err)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert line.endswith("x\\x1b[2Jy\\x07\\u202e.db")


def test_an_error_quoting_a_huge_line_is_cut_short(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("a" * 1_000_000 + "\n")
    code, _, err = run(capsys, "crawl", "--seeds", str(seeds), "--db", str(tmp_path / "x.db"))
    assert code == 1
    line = one_line_error(err)
    assert line.startswith("linkgraph: error: not an http(s) URL: 'aaaa")
    assert len(line) < 3000 and line.endswith("more characters)")


@pytest.mark.parametrize("format", ["csv", "jsonl", "edgelist"])
def test_export_of_a_missing_store_prints_nothing_to_standard_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, format: str
) -> None:
    # `linkgraph export --format csv > links.csv` must not leave a header that looks like
    # an export of an empty store.
    code, out, err = run(capsys, "export", "--db", str(tmp_path / "none.db"), "--format", format)
    assert code == 1 and out == ""
    assert one_line_error(err).startswith("linkgraph: error: no linkgraph store")


@pytest.mark.parametrize(
    ("sites", "pages", "says"),
    [
        (str(10**18), "12", "at most 64,768 sites"),
        ("56", str(10**18), "at most 1,000 pages"),
        ("64769", "12", "at most 64,768 sites"),
        ("56", "1001", "at most 1,000 pages"),
    ],
)
def test_demo_refuses_a_web_larger_than_it_can_build_before_building(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sites: str, pages: str, says: str
) -> None:
    # Before, --pages 10**23 built pages until memory ran out: a stall, not an error.
    code, out, err = run(
        capsys,
        "demo",
        "--db",
        str(tmp_path / "demo.db"),
        "--quiet",
        "--sites",
        sites,
        "--pages",
        pages,
    )
    assert code == 1 and out == ""
    assert says in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["init-db", "mysql://u:secret@db.example/links"],
        ["copy", "{store}", "mysql://u:secret@db.example/links"],
        ["copy", "mysql://u:secret@db.example/links", "{new}"],
    ],
)
def test_copy_and_init_db_refuse_a_url_of_another_database_as_the_query_commands_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str, argv: list[str]
) -> None:
    new = tmp_path / "new.db"
    argv = [a.format(store=store, new=new) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert "mysql:// is not a store linkgraph knows" in line and "secret" not in line
    assert not new.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--output", "{out}"],
        ["export", "--format", "graphml", "--output", "{out}"],
        ["disavow", "b.example", "--min-score", "0", "--output", "{out}"],
    ],
)
@pytest.mark.parametrize("which", ["itself", "another store"])
def test_an_output_that_is_a_store_is_refused_and_the_store_kept(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    two_links: Path,
    store: str,
    argv: list[str],
    which: str,
) -> None:
    # `--output links.db` for `--output links.csv`: the export replaced the store.
    out = two_links if which == "itself" else Path(store)
    before = out.read_bytes()
    code, stdout, err = run(
        capsys, argv[0], "--db", str(two_links), *(a.format(out=out) for a in argv[1:])
    )
    assert code == 1 and stdout == ""
    line = one_line_error(err)
    assert line.startswith(f"linkgraph: error: {out} is a SQLite database")
    assert out.read_bytes() == before
