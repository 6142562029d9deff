"""`linkgraph spark` without PySpark or without Java says what to install, in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_support import run


def test_without_java_spark_says_to_install_a_java_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyspark", reason="the Java check comes after the PySpark one")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    code, out, err = run(capsys, "spark", "rank", "--input", str(tmp_path), "--output", "x")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "linkgraph: error: the spark commands need a Java runtime, version 17 or newer"
        " (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)"
    ]


def test_a_java_home_without_java_counts_as_no_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyspark", reason="the Java check comes after the PySpark one")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    code, _, err = run(capsys, "spark", "rank", "--input", str(tmp_path), "--output", "x")
    assert code == 1
    assert "need a Java runtime" in err and len(err.splitlines()) == 1


def test_without_pyspark_spark_says_to_install_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    code, out, err = run(capsys, "spark", "rank", "--input", str(tmp_path), "--output", "x")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "linkgraph: error: the spark commands need PySpark: pip install 'linkgraph[spark]'"
    ]
