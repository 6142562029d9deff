#!/usr/bin/env bash
# The test command: makes sure a Java runtime for the Spark tests (tests/spark_support.py;
# PySpark 4 needs Java 17 or newer) is installed, then runs pytest with the arguments given.
#
# Only as root, and only when neither JAVA_HOME/bin/java nor java on PATH exists, it installs
# the Debian package openjdk-17-jre-headless. A failed install is reported and the tests run
# anyway: the Spark tests then skip, or under CI=true fail, saying what is missing.
set -uo pipefail

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
