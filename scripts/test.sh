#!/usr/bin/env bash
# The test command: makes sure the PostgreSQL server binaries the PostgreSQL store's tests
# start (tests/pg_support.py), the Chromium the browser tests drive and the Java runtime the
# Spark tests need (tests/spark_support.py; PySpark 4 needs Java 17 or newer) are installed,
# then runs pytest with the arguments given.
#
# Only as root, and only when initdb/pg_ctl are neither on PATH nor in
# /usr/lib/postgresql/*/bin, it installs the Debian package postgresql. A failed install
# is reported and the tests run anyway: the PostgreSQL tests then skip, or under CI=true
# fail, saying what is missing.
set -uo pipefail

have_pg_binaries() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    return 0
  fi
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      return 0
    fi
  done
  return 1
}

if ! have_pg_binaries; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing the PostgreSQL server (Debian package postgresql) for the PostgreSQL tests" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >/tmp/linkgraph-apt.log 2>&1; then
      echo "scripts/test.sh: could not install postgresql (see /tmp/linkgraph-apt.log); the PostgreSQL tests will skip, or fail under CI=true" >&2
    fi
  else
    echo "scripts/test.sh: PostgreSQL server binaries not found and not root: the PostgreSQL tests will skip (install the Debian package postgresql)" >&2
  fi
fi

# The browser tests of `linkgraph serve` (tests/test_web_browser.py) drive the Debian
# chromium package through Playwright (its own browser download does not work offline):
# installed the same way, only as root and only when /usr/bin/chromium is missing.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing Chromium (Debian package chromium) for the browser tests" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/tmp/linkgraph-apt-chromium.log 2>&1; then
      echo "scripts/test.sh: could not install chromium (see /tmp/linkgraph-apt-chromium.log); the browser tests will skip, or fail under CI=true" >&2
    fi
  else
    echo "scripts/test.sh: /usr/bin/chromium not found and not root: the browser tests will skip (install the Debian package chromium)" >&2
  fi
fi

# The Spark tests (tests/spark_support.py) run PySpark in local mode, which needs a Java
# runtime: installed the same way, only as root and only when neither JAVA_HOME/bin/java nor
# java on PATH exists.
have_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    return 0
  fi
  command -v java >/dev/null 2>&1
}

if ! have_java; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing a Java runtime (Debian package openjdk-17-jre-headless) for the Spark tests" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; } >/tmp/linkgraph-apt-java.log 2>&1; then
      echo "scripts/test.sh: could not install openjdk-17-jre-headless (see /tmp/linkgraph-apt-java.log); the Spark tests will skip, or fail under CI=true" >&2
    fi
  else
    echo "scripts/test.sh: no Java runtime found and not root: the Spark tests will skip (install the Debian package openjdk-17-jre-headless)" >&2
  fi
fi

exec python -P -m pytest "$@"
