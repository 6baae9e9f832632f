#!/usr/bin/env bash
# Installs the native Trino (gold on Trino, GOLD_ENGINE=trino), idempotently:
#   $TAXI_CACHE/trino-<ver>/          the core server, with only plugin/iceberg (+ the SQLite driver)
#   $TAXI_CACHE/trino-<ver>/java-home a JDK 24+ (Trino 476 needs it; Flink and Kafka keep Java 17)
# Versions: trino/pom.xml. Configuration is written at start from the settings
# (lakehouse/stack/trino.py), not kept here.
#
# Usage: trino/install.sh            (TAXI_CACHE defaults to ~/.cache/taxi-lakehouse)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TAXI_CACHE:-$HOME/.cache/taxi-lakehouse}"
POM="$REPO/trino/pom.xml"
VERSION="$(sed -n 's:.*<trino.version>\(.*\)</trino.version>.*:\1:p' "$POM")"
# the SQLite JDBC driver Flink's catalog uses (one pin: flink/jars/pom.xml)
SQLITE_JDBC="$(sed -n 's:.*<sqlite-jdbc.version>\(.*\)</sqlite-jdbc.version>.*:\1:p' "$REPO/flink/jars/pom.xml")"
HOME_DIR="$CACHE/trino-$VERSION"
STAMP="$HOME_DIR/.installed-$( (cat "$POM"; echo "$SQLITE_JDBC") | sha256sum | cut -c1-16)"

if [ -t 1 ]; then _c=$'\033[1;34m' _e=$'\033[1;31m' _r=$'\033[0m'; else _c='' _e='' _r=''; fi
log() { printf '%s[trino]%s %s\n' "$_c" "$_r" "$*"; }
die() { printf '%s[trino] ERROR:%s %s\n' "$_e" "$_r" "$*" >&2; exit 1; }

java_major() { sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null; }
find_java_home() {  # the newest JDK 24+ : TRINO_JAVA_HOME, JAVA_HOME, then /usr/lib/jvm
  local d best="" best_major=0 major
  for d in ${TRINO_JAVA_HOME:-} ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] || continue
    major="$(java_major "$d")"
    if [ -n "$major" ] && [ "$major" -ge 24 ] && [ "$major" -gt "$best_major" ]; then
      best="$d" best_major="$major"
    fi
  done
  [ -n "$best" ] && echo "$best"
}
JH="$(find_java_home)" || die "Trino $VERSION needs Java 24+; none found under /usr/lib/jvm. \
Install one (e.g. Temurin 25) and set TRINO_JAVA_HOME to it."

if [ ! -f "$STAMP" ]; then
  command -v mvn >/dev/null || die "Maven is required to resolve Trino from Maven Central."
  tmp="$(mktemp -d "$CACHE/.trino-download.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # Maven 3.8 writes colour resets even in batch mode: stripped (pipefail keeps its status)
  mvn -q -B --strict-checksums -f "$POM" dependency:copy \
      -Dsqlite-jdbc.version="$SQLITE_JDBC" -DoutputDirectory="$tmp/dl" 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g' || die "could not resolve the artifacts of $POM"
  mkdir -p "$tmp/dist"
  tar -xzf "$tmp/dl/trino-server-core-$VERSION.tar.gz" -C "$tmp/dist" --strip-components=1
  # only the Iceberg connector: the core's bundled plugins (Python functions, geospatial, ...)
  # are not used by gold and would each load at start
  rm -rf "$tmp/dist/plugin"
  mkdir -p "$tmp/dist/plugin/iceberg"
  (cd "$tmp/dist/plugin/iceberg" && "${PYTHON:-python3}" -m zipfile -e "$tmp/dl/trino-iceberg-$VERSION.zip" .)
  # the zip holds one directory (trino-iceberg-<ver>/): its jars go straight into the plugin dir
  if [ -d "$tmp/dist/plugin/iceberg/trino-iceberg-$VERSION" ]; then
    mv "$tmp/dist/plugin/iceberg/trino-iceberg-$VERSION"/* "$tmp/dist/plugin/iceberg/"
    rmdir "$tmp/dist/plugin/iceberg/trino-iceberg-$VERSION"
  fi
  cp "$tmp"/dl/sqlite-jdbc-*.jar "$tmp/dist/plugin/iceberg/"
  rm -rf "$HOME_DIR"
  mv "$tmp/dist" "$HOME_DIR"
  touch "$STAMP"
fi
echo "$JH" >"$HOME_DIR/java-home"
log "Trino $VERSION in $HOME_DIR (Java $(java_major "$JH"): $JH)"
