#!/usr/bin/env bash
# Validate kestra/flows/*.yml with Kestra 2.0's libraries and this repository's stand-in for the
# script plugin's shell task (kestra/README.md) (kestra/validate: FlowService.validate,
# YamlParser + ModelValidator, and broken copies that must be rejected). Exits non-zero when a flow
# is invalid. Kestra 2.x needs Java 25: KESTRA_JAVA_HOME (default: the Temurin 25 JDK).
# Maven downloads go to the usual ~/.m2 cache, so reruns are offline-fast.
#
#   scripts/validate_kestra_flow.sh            # validate
#   scripts/validate_kestra_flow.sh -X ...     # extra Maven arguments are passed through
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA_HOME="${KESTRA_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if [[ ! -x "$JAVA_HOME/bin/java" ]]; then
  echo "validate_kestra_flow: no JDK 25 at $JAVA_HOME (set KESTRA_JAVA_HOME); Kestra 2.x needs Java 25" >&2
  exit 2
fi
if ! command -v mvn >/dev/null; then
  echo "validate_kestra_flow: Maven (mvn) is not installed" >&2
  exit 2
fi
export JAVA_HOME
# Maven 3.8's bundled Guava touches sun.misc.Unsafe: keep Java 25 from warning about it
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

exec mvn -B -q -Dstyle.color=never -f "$ROOT/kestra/validate/pom.xml" test "$@"
