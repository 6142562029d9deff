"""Settings: one frozen object, documented in configs/, layered defaults < TOML < env < CLI."""

from __future__ import annotations

import re
import tomllib
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from crawler.settings import DEFAULT_USER_AGENT, CrawlSettings, SettingsError, load_settings

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


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"overrides": {"scope": "planet"}}, "scope"),
        ({"overrides": {"delay": -1}}, "delay"),
        ({"environ": {"LINKGRAPH_MAX_PAGES": "lots"}}, "max_pages"),
        ({"environ": {"LINKGRAPH_FOLLOW_NOFOLLOW": "maybe"}}, "follow_nofollow"),
        ({"overrides": {"concurrency": 0}}, "concurrency"),
    ],
)
def test_bad_values_are_clear_errors(layer: dict, message: str) -> None:
    layer.setdefault("environ", {})
    with pytest.raises(SettingsError, match=message):
        load_settings(**layer)


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
