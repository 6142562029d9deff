"""Settings: one frozen object, documented in configs/, layered defaults < TOML < env < CLI."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path
from typing import NamedTuple

import pytest
from linkgraph.crawler.settings import (
    DEFAULT_USER_AGENT,
    CrawlSettings,
    SettingsError,
    load_settings,
)

from linkgraph import cli

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "linkgraph.toml"


def test_every_setting_is_documented_in_the_default_config() -> None:
    text = CONFIG.read_text()
    documented = set(re.findall(r"^#? ?([a-z_]+) = ", text, flags=re.MULTILINE))
    names = {f.name for f in fields(CrawlSettings)}
    assert names - documented == set(), "settings missing from configs/linkgraph.toml"
    assert documented - names == set(), "configs/linkgraph.toml names settings that do not exist"


def test_default_config_holds_the_defaults() -> None:
    table = tomllib.loads(CONFIG.read_text())["crawl"]
    defaults = CrawlSettings()
    for name, value in table.items():
        expected = getattr(defaults, name)
        assert (tuple(value) if isinstance(value, list) else value) == expected, name
    assert load_settings(config_file=CONFIG, environ={}) == defaults


def test_precedence_defaults_toml_env_cli(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[crawl]\ndelay = 2.5\nmax-pages = 10\nscope = "host"\n')
    s = load_settings(
        config_file=config, environ={"LINKGRAPH_MAX_PAGES": "20"}, overrides={"scope": "any"}
    )
    assert (s.delay, s.max_pages, s.scope) == (2.5, 20, "any")
    # An absent command-line flag (None) never hides a lower layer.
    s = load_settings(config_file=config, environ={}, overrides={"delay": None})
    assert s.delay == 2.5


class BadValue(NamedTuple):
    """A bad value of a setting, as each source spells it."""

    name: str
    text: str  # in the environment and on the command line
    toml: str


BAD_VALUES = [
    BadValue("delay", "nan", "nan"),  # nan compared false with every gap: no delay at all
    BadValue("delay", "inf", "inf"),  # waited for ever
    BadValue("delay", "-1", "-1"),
    BadValue("max_pages", "-1", "-1"),
    BadValue("max_depth", "1.5", "1.5"),
    BadValue("concurrency", "0", "0"),
    BadValue("user_agent", "bot/1\r\nX-Evil: 1", '"bot/1\\r\\nX-Evil: 1"'),
    BadValue("flush_seconds", "0", "0"),
    BadValue("batch_pages", "0", "0"),
    BadValue("read_timeout", "-1", "-1"),
    BadValue("max_redirects", "-1", "-1"),  # silently turned redirects off
    BadValue("max_retries", "-1", "-1"),
    BadValue("host_budget_seconds", "nan", "nan"),
    BadValue("scope", "planet", '"planet"'),
]
CRAWL = ["crawl", "http://a.test/"]


def bad_id(bad: BadValue) -> str:
    return f"{bad.name}={bad.text!r}"


@pytest.fixture(params=BAD_VALUES, ids=bad_id)
def bad(request: pytest.FixtureRequest) -> BadValue:
    """Each bad value in turn: every source of settings must refuse all of them."""
    value: BadValue = request.param
    return value


def run_crawl(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    db = tmp_path / "links.db"
    code = cli.main([*CRAWL, "--db", str(db), *args])
    assert not db.exists()  # refused before anything started
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *names: str) -> None:
    assert code == 1
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("linkgraph: error: ")
    for name in names:
        assert name in line


def test_a_bad_value_in_the_config_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: BadValue
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f"[crawl]\n{bad.name} = {bad.toml}\n")
    code, err = run_crawl(capsys, tmp_path, "--config", str(config))
    assert_one_line_error(code, err, str(config), bad.name)


def test_a_bad_value_in_the_environment_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bad: BadValue,
) -> None:
    monkeypatch.setenv(f"LINKGRAPH_{bad.name.upper()}", bad.text)
    code, err = run_crawl(capsys, tmp_path)
    assert_one_line_error(code, err, f"LINKGRAPH_{bad.name.upper()}")


@pytest.mark.parametrize(
    "bad",
    [bad for bad in BAD_VALUES if bad.name in cli.CRAWL_FLAGS],
    ids=bad_id,
)
def test_a_bad_value_on_the_command_line_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: BadValue
) -> None:
    flag = "--" + bad.name.replace("_", "-")
    code, err = run_crawl(capsys, tmp_path, flag, bad.text)
    assert_one_line_error(code, err, flag)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("crawl = 5\n", "crawl"),  # a number where the [crawl] table belongs
        ('[crawl]\ndelay = "2"\n', "delay"),  # a string where a number belongs
        ("[crawl]\nmax_pages = 5.0\n", "max_pages"),
        ('[crawl]\nsitemaps = "yes"\n', "sitemaps"),
        ("[crawl]\nseeds = 5\n", "seeds"),
        ("[crawl]\nuser_agent = 7\n", "user_agent"),
    ],
)
def test_a_wrong_type_in_the_config_file_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str, key: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    code, err = run_crawl(capsys, tmp_path, "--config", str(config))
    assert_one_line_error(code, err, str(config), key)


def test_a_seed_in_the_config_file_that_is_no_http_url_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Dropped before, as a seed no crawl can fetch: the crawl then said "no seed URLs".
    config = tmp_path / "seeds.toml"
    config.write_text('[crawl]\nseeds = ["http://ok.test/", "javascript:alert(1)"]\n')
    code, err = run_crawl(capsys, tmp_path, "--config", str(config))
    assert_one_line_error(
        code, err, str(config), "seeds", "not an http(s) URL: 'javascript:alert(1)'"
    )


def test_a_nan_or_infinite_delay_is_refused_however_the_settings_are_built() -> None:
    for value in (math.nan, math.inf):
        with pytest.raises(SettingsError, match="delay: must be a finite number"):
            CrawlSettings(delay=value)
        with pytest.raises(SettingsError, match="finite"):
            replace(CrawlSettings(), delay=value)
        with pytest.raises(SettingsError, match="LINKGRAPH_DELAY"):
            load_settings(environ={"LINKGRAPH_DELAY": str(value)})


def _numeric_fields() -> list[tuple[str, str]]:
    kinds = [(f.name, str(f.type).split("|")[0].strip()) for f in fields(CrawlSettings)]
    return [(name, kind) for name, kind in kinds if kind in ("int", "float")]


@pytest.mark.parametrize(("name", "kind"), _numeric_fields())
def test_every_numeric_setting_refuses_negatives_nan_and_the_wrong_type(
    name: str, kind: str
) -> None:
    """Driven by the fields themselves: a setting added later gets the same checks."""
    bad: list[object] = [-1, "3", True]
    bad += [math.nan, math.inf, -math.inf] if kind == "float" else [2.5]
    for value in bad:
        with pytest.raises(SettingsError, match=name):
            CrawlSettings(**{name: value})


def test_limits_are_lifted_with_none_from_every_source(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[crawl]\nmax_depth = "none"\n')
    assert load_settings(config_file=config, environ={}).max_depth is None
    assert load_settings(environ={"LINKGRAPH_MAX_URLS_PER_HOST": "none"}).max_urls_per_host is None
    args = cli.build_parser().parse_args(["crawl", "http://a.test/", "--db", "x.db"])
    args.host_budget_seconds = "none"
    assert cli.crawl_settings(args).host_budget_seconds is None
    # A setting that must have a value cannot be lifted.
    with pytest.raises(SettingsError, match="LINKGRAPH_DELAY"):
        load_settings(environ={"LINKGRAPH_DELAY": "none"})


def test_unknown_and_broken_config_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[crawl]\nspeed = 'fast'\n")
    with pytest.raises(SettingsError, match="unknown setting 'speed'"):
        load_settings(config_file=bad, environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[crawl\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config_file=broken, environ={})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(config_file=tmp_path / "missing.toml", environ={})


def test_settings_are_frozen_and_name_a_contact() -> None:
    s = CrawlSettings()
    with pytest.raises(FrozenInstanceError):
        s.delay = 0  # type: ignore[misc]
    assert "+http" in DEFAULT_USER_AGENT
    assert s.product_token == "linkgraph"
    assert CrawlSettings(user_agent="MyBot/2.0 (+https://x)").product_token == "MyBot"
