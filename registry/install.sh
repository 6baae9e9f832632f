#!/usr/bin/env bash
# Installs the native schema registry (Apicurio Registry, Confluent-compatible API), idempotently:
#   $TAXI_CACHE/registry/apicurio-registry-<ver>/   Quarkus fast-jar distribution (quarkus-run.jar)
#   $TAXI_CACHE/registry/java-home                  path of a Java >= 21 runtime (Apicurio 3.3 needs it)
# and the Python client extras confluent-kafka's schema-registry/Avro code imports (fastavro,
# authlib) into the project venv, after a pip dry-run against the venv's current pins.
#
# Usage: registry/install.sh            (TAXI_CACHE defaults to ~/.cache/taxi-lakehouse)
set -euo pipefail

CACHE="${TAXI_CACHE:-$HOME/.cache/taxi-lakehouse}"
VENV="${TAXI_VENV:?TAXI_VENV: the project venv (scripts/bootstrap.sh sets it)}"
REG_HOME="$CACHE/registry"
APICURIO_VERSION="3.3.3"
# The Maven artifact io.apicurio:apicurio-registry-app:<ver> (type jar) is only the app's own
# classes; the runnable Quarkus fast-jar is attached to the same coordinates as classifier "all",
# type tar.gz (assembly id "all" in the app's pom).
APICURIO_GAV="io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all"
DIST="$REG_HOME/apicurio-registry-${APICURIO_VERSION}"
# Client extras of confluent-kafka==2.16.1 that its schema-registry + Avro code imports. Its [avro]
# extra would also add avro, httpx2, httpcore2, truststore, which the Avro serializer does not need
# (without httpx2 the client falls back to the pinned httpx). attrs, cachetools and certifi are
# already in the project venv through other pins; listed unpinned (bounds of confluent-kafka's
# extra) so a venv without them gets them, and the constraints keep whatever version is installed.
PY_PACKAGES=("fastavro==1.13.1" "authlib==1.9.10" "attrs>=21.2.0" "cachetools>=5.5.0" "certifi>=2026.10.19")

# colours only on a terminal: a log file or CI output gets plain text
if [ -t 1 ]; then _c=$'\033[1;34m' _e=$'\033[1;31m' _r=$'\033[0m'; else _c='' _e='' _r=''; fi
log() { printf '%s[registry]%s %s\n' "$_c" "$_r" "$*"; }
die() { printf '%s[registry] ERROR:%s %s\n' "$_e" "$_r" "$*" >&2; exit 1; }

mkdir -p "$REG_HOME"

# ---------------------------------------------------------------- Java >= 21
java_major() {  # $1 = JAVA_HOME; prints the feature version from its release file
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
find_java_home() {
  local candidates=()
  [[ -n "${APICURIO_JAVA_HOME:-}" ]] && candidates+=("$APICURIO_JAVA_HOME")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
  local d
  for d in /usr/lib/jvm/*; do [[ -L "$d" ]] || candidates+=("$d"); done
  if command -v java >/dev/null; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for d in "${candidates[@]}"; do
    local major
    major="$(java_major "$d")"
    if [[ -x "$d/bin/java" && -n "$major" && "$major" -ge 21 ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}
if JH="$(find_java_home)"; then
  echo "$JH" >"$REG_HOME/java-home"
  log "Java for the registry: $JH (Java $(java_major "$JH"))"
else
  die "Apicurio Registry ${APICURIO_VERSION} needs Java 21+ (its classes are class-file 65); none found. \
Set APICURIO_JAVA_HOME to a JDK/JRE 21+ (Debian 12 ships only 17; Debian 13 has openjdk-21-jre-headless)."
fi

# ---------------------------------------------------------------- Apicurio distribution (Maven Central)
if [[ -f "$DIST/quarkus-run.jar" ]]; then
  log "Apicurio Registry ${APICURIO_VERSION} already installed in $DIST"
else
  command -v mvn >/dev/null || die "Maven is required to resolve ${APICURIO_GAV} from Maven Central."
  tmp="$(mktemp -d "$REG_HOME/.download.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "resolving ${APICURIO_GAV} from Maven Central (about 160 MB)"
  # --strict-checksums: fail on a checksum mismatch instead of warning
  # Maven 3.8 writes colour resets even in batch mode: stripped (pipefail keeps its status)
  mvn -q -B --strict-checksums dependency:copy \
    -Dartifact="${APICURIO_GAV}" -DoutputDirectory="$tmp" -Dmdep.useBaseVersion=true 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g' || die "could not resolve ${APICURIO_GAV}"
  mkdir -p "$tmp/dist"
  tar -xzf "$tmp/apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz" -C "$tmp/dist"
  [[ -f "$tmp/dist/quarkus-run.jar" ]] || die "the archive has no quarkus-run.jar"
  rm -rf "$DIST"
  mv "$tmp/dist" "$DIST"
  log "installed Apicurio Registry ${APICURIO_VERSION} in $DIST"
fi

# ---------------------------------------------------------------- Python client extras
PY="$VENV/bin/python"
[[ -x "$PY" ]] || die "project venv $VENV not found: run scripts/bootstrap.sh first"
if "$PY" - "${PY_PACKAGES[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    name, op, want = spec.partition("==") if "==" in spec else spec.partition(">=")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if op == "==" and have != want:
        sys.exit(1)
EOF
then
  log "Python extras already installed: ${PY_PACKAGES[*]}"
else
  constraints="$(mktemp)"
  # every installed distribution stays at its version (editable/direct-URL installs excluded)
  "$PY" -m pip freeze --exclude-editable | grep -v ' @ ' >"$constraints"
  log "pip dry-run of ${PY_PACKAGES[*]} against the venv's installed versions"
  if ! "$PY" -m pip install --dry-run -q -c "$constraints" "${PY_PACKAGES[@]}" >/dev/null; then
    rm -f "$constraints"
    die "installing ${PY_PACKAGES[*]} would change a pinned package of the venv; not installing"
  fi
  "$PY" -m pip install -q -c "$constraints" "${PY_PACKAGES[@]}"
  rm -f "$constraints"
  "$PY" -m pip check >/dev/null || die "pip check fails after installing ${PY_PACKAGES[*]}"
  log "installed ${PY_PACKAGES[*]} into $VENV"
fi
log "done"
