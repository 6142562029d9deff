"""One SparkSession for the Spark tests: local[2], bound to loopback, UI off.

Where PySpark or Java is missing the Spark tests skip, saying which; with ``CI=true`` they
fail instead, so a CI run that lost its Java runtime does not pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from linkgraph.crawler.settings import SettingsError


def missing_spark() -> str | None:
    """Why Spark cannot run here (the command's own one-line reason), or None."""
    from linkgraph.spark import require

    try:
        require()
    except SettingsError as exc:
        return str(exc)
    return None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", name="spark")
def spark_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = missing_spark()
    if reason:
        skip_or_fail(reason)
    from linkgraph.spark import spark_session

    session = spark_session(
        "local[2]",
        app="linkgraph-tests",
        shuffle_partitions=2,
        loopback=True,
        config={"spark.sql.adaptive.enabled": "false", "spark.driver.memory": "1g"},
    )
    checkpoints: Path = tmp_path_factory.mktemp("spark-checkpoints")
    session.sparkContext.setCheckpointDir(str(checkpoints))
    try:
        yield session
    finally:
        session.stop()
