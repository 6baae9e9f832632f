#!/usr/bin/env bash
# Installs everything the native runtime needs, idempotently:
#   $TAXI_VENV (default <checkout>/.venv, ignored by git): the Python venv with the pinned packages
#     of pyproject.toml and this checkout installed editable. One per checkout: two clones side
#     by side each run their own code, and deleting one leaves the other working.
#   $TAXI_CACHE (default ~/.cache/taxi-lakehouse), OUTSIDE the repository, shared by checkouts:
#     flink-<ver>/          Flink distribution unpacked from the apache-flink wheels + connector jars
#     kafka-<ver>/libs/     Kafka broker jars resolved from Maven Central
#     bin/minio             MinIO server built from its Go module   (only with --with-s3)
#   PostgreSQL server from Debian's packages                         (only with --with-postgres)
#   Chromium from Debian's packages, for the browser tests           (only with --with-browser)
#     trino-<ver>/          Trino with its Iceberg plugin, gold on Trino (only with --with-trino)
#
# Usage: scripts/bootstrap.sh [--with-s3] [--with-postgres] [--with-registry] [--with-browser]
#                             [--with-trino]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TAXI_CACHE:-$HOME/.cache/taxi-lakehouse}"
PYTHON="${PYTHON:-python3}"
# the project's extras in the venv (the images leave out dev: no test tools in a shipped image)
EXTRAS="${TAXI_EXTRAS:-dev,orchestration,registry}"

# Pinned engine versions (why: see README "Versions").
FLINK_VERSION="$(sed -n 's:.*<flink.version>\(.*\)</flink.version>.*:\1:p' "$REPO/flink/jars/pom.xml")"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO/kafka/pom.xml")"
# MinIO has no semver tags in its Go module; this pseudo-version is the last commit of the archived
# repository (2026-02-12), the newest source build of the community edition.
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

WITH_S3=0
WITH_PG=0
WITH_REGISTRY=0
WITH_BROWSER=0
WITH_TRINO=0
for arg in "$@"; do
  case "$arg" in
    --with-s3) WITH_S3=1 ;;
    --with-postgres) WITH_PG=1 ;;
    --with-registry) WITH_REGISTRY=1 ;;
    --with-browser) WITH_BROWSER=1 ;;
    --with-trino) WITH_TRINO=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

# colours only on a terminal: a log file or CI output gets plain text
if [ -t 1 ]; then _c=$'\033[1;34m' _e=$'\033[1;31m' _r=$'\033[0m'; else _c='' _e='' _r=''; fi
log() { printf '%s[bootstrap]%s %s\n' "$_c" "$_r" "$*"; }
die() { printf '%s[bootstrap] ERROR:%s %s\n' "$_e" "$_r" "$*" >&2; exit 1; }

mkdir -p "$CACHE"
LOGS="$CACHE/logs"
mkdir -p "$LOGS"

# step LABEL CMD...: one line per install step with its time; the tools' own output (pip, Maven,
# go) goes to a log file whose tail and path are printed only when the step fails
step() {
  local label="$1" file rc t0=$SECONDS
  shift
  file="$LOGS/bootstrap-$(printf '%s' "$label" | tr -cs 'a-zA-Z0-9' '-' | cut -c1-48).log"
  [ -t 1 ] && printf '%s[bootstrap]%s %s ...' "$_c" "$_r" "$label"
  if "$@" >"$file" 2>&1; then
    if [ -t 1 ]; then printf ' %s s\n' "$((SECONDS - t0))"; else log "$label: $((SECONDS - t0)) s"; fi
  else
    rc=$?
    [ -t 1 ] && printf '\n'
    # Maven 3.8 writes colour codes even in batch mode: plain text for people and CI logs
    tail -n 30 "$file" | sed 's/\x1b\[[0-9;]*m//g' >&2
    die "$label failed (exit $rc); full output: $file"
  fi
}

# ---------------------------------------------------------------- prerequisites
command -v java >/dev/null || die "Java 17+ is required (Flink 2.0 and Kafka 4 run on Java 17). Install a JDK, e.g. 'apt-get install openjdk-17-jdk-headless', and put 'java' on PATH."
JAVA_MAJOR="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = \([0-9]*\).*/\1/p')"
[ "${JAVA_MAJOR:-0}" -ge 17 ] || die "Java 17+ is required, found Java ${JAVA_MAJOR:-unknown} ($(command -v java))."
command -v mvn >/dev/null || die "Maven (mvn) is required to resolve jars from Maven Central: 'apt-get install maven'."
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3,11),(3,12)) else 1)' \
  || die "Python 3.11 or 3.12 is required (set PYTHON=/path/to/python3.11)."

# ---------------------------------------------------------------- Python venv
VENV="${TAXI_VENV:-$REPO/.venv}"
export TAXI_VENV="$VENV"  # registry/install.sh adds its client packages to this venv
STAMP="$VENV/.installed-$(sha256sum "$REPO/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  step "Python packages into $VENV (pyproject.toml pins)" \
    bash -c '"$1/bin/pip" install -q --upgrade pip && "$1/bin/pip" install -q -e "$2[$3]"' _ \
    "$VENV" "$REPO" "$EXTRAS"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
else
  # a venv shared through TAXI_VENV runs the checkout its editable install points at: this one
  if ! (cd / && "$VENV/bin/python" -I -c "import lakehouse, pathlib, sys; sys.exit(0 if pathlib.Path(lakehouse.__file__).resolve().is_relative_to(pathlib.Path('$REPO').resolve()) else 1)" 2>/dev/null); then
    step "re-pointing the editable install at $REPO" \
      "$VENV/bin/pip" install -q --no-deps -e "$REPO[$EXTRAS]"
  fi
fi

# ---------------------------------------------------------------- Flink distribution
FLINK_HOME="$CACHE/flink-$FLINK_VERSION"
JARS_STAMP="$FLINK_HOME/.jars-$(sha256sum "$REPO/flink/jars/pom.xml" | cut -c1-16)"
if [ ! -f "$FLINK_HOME/.unpacked" ]; then
  DL="$CACHE/pip"
  mkdir -p "$DL"
  step "downloading Flink $FLINK_VERSION (the apache-flink wheels)" \
    "$VENV/bin/pip" download -q --no-deps -d "$DL" "apache-flink==$FLINK_VERSION" "apache-flink-libraries==$FLINK_VERSION"
  TMP="$(mktemp -d)"
  "$VENV/bin/python" -m zipfile -e "$DL"/apache_flink-"$FLINK_VERSION"-*.whl "$TMP/wheel"
  LIBS_ARCHIVE="$(ls "$DL"/apache_flink_libraries-"$FLINK_VERSION"[-.]* | head -1)"
  case "$LIBS_ARCHIVE" in
    *.whl) "$VENV/bin/python" -m zipfile -e "$LIBS_ARCHIVE" "$TMP/libs"; LIBROOT="$TMP/libs/pyflink" ;;
    *.tar.gz) mkdir -p "$TMP/libs"; tar xzf "$LIBS_ARCHIVE" -C "$TMP/libs"; LIBROOT="$(ls -d "$TMP"/libs/*/deps)" ;;
    *) die "unexpected apache-flink-libraries archive: $LIBS_ARCHIVE" ;;
  esac
  rm -rf "$FLINK_HOME"; mkdir -p "$FLINK_HOME"
  cp -r "$TMP/wheel/pyflink/bin" "$TMP/wheel/pyflink/conf" "$FLINK_HOME/"
  cp -r "$LIBROOT/lib" "$LIBROOT/opt" "$FLINK_HOME/"
  cp "$LIBROOT/bin/"*.jar "$FLINK_HOME/bin/"
  mkdir -p "$FLINK_HOME/plugins" "$FLINK_HOME/log"
  chmod +x "$FLINK_HOME"/bin/*
  rm -rf "$TMP"
  touch "$FLINK_HOME/.unpacked"
fi
if [ ! -f "$JARS_STAMP" ]; then
  rm -rf "$FLINK_HOME/connectors"
  step "Flink connector jars from Maven Central (flink/jars/pom.xml)" \
    mvn -q -B -f "$REPO/flink/jars/pom.xml" dependency:copy-dependencies \
    -DexcludeTransitive=true -DoutputDirectory="$FLINK_HOME/connectors"
  # the gateway belongs in opt/ (sql-gateway.sh looks there); the rest extend lib/
  mv "$FLINK_HOME"/connectors/flink-sql-gateway-*.jar "$FLINK_HOME/opt/"
  cp "$FLINK_HOME"/connectors/*.jar "$FLINK_HOME/lib/"
  rm -f "$FLINK_HOME"/.jars-*
  touch "$JARS_STAMP"
fi

# build_jar NAME JAR DEST: build one of our Maven modules (flink/NAME) into $FLINK_HOME/DEST,
# again only when its pom or main sources changed (stamp = their hash)
build_jar() {
  local name="$1" jar="$2" dest="$3" hash build
  hash="$(cat "$REPO/flink/$name/pom.xml" $(find "$REPO/flink/$name/src/main" -type f | sort) | sha256sum | cut -c1-16)"
  [ -f "$FLINK_HOME/.$name-$hash" ] && return 0
  build="$CACHE/$name-build"
  rm -rf "$build"; mkdir -p "$build"
  cp -r "$REPO/flink/$name/pom.xml" "$REPO/flink/$name/src" "$build/"
  step "building $jar (flink/$name)" mvn -q -B -f "$build/pom.xml" package -DskipTests
  cp "$build/target/$jar" "$FLINK_HOME/$dest/"
  rm -f "$FLINK_HOME/.$name-"*
  touch "$FLINK_HOME/.$name-$hash"
}
# our UDFs (flink/udf): decode + one JSON parse per record for validation and typing
build_jar udf taxi-flink-udf.jar lib
# Iceberg table maintenance (flink/maintenance): compaction, snapshot expiry, orphan cleanup with
# Iceberg's own APIs; runs as `java -cp "$FLINK_HOME/lib/*:<jar>"` (lakehouse maintain)
build_jar maintenance taxi-iceberg-maintenance.jar opt

# ---------------------------------------------------------------- Kafka broker
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
KSTAMP="$KAFKA_HOME/.jars-$(sha256sum "$REPO/kafka/pom.xml" | cut -c1-16)"
if [ ! -f "$KSTAMP" ]; then
  rm -rf "$KAFKA_HOME"; mkdir -p "$KAFKA_HOME"
  step "Kafka $KAFKA_VERSION broker jars from Maven Central (kafka/pom.xml)" \
    mvn -q -B -f "$REPO/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME/libs"
  touch "$KSTAMP"
fi

# ---------------------------------------------------------------- MinIO (S3 warehouse)
if [ "$WITH_S3" = 1 ] && [ ! -x "$CACHE/bin/minio" ]; then
  command -v go >/dev/null || die "Go is required to build MinIO from its module (apt-get install golang)."
  mkdir -p "$CACHE/bin"
  step "building MinIO from its Go module (a few minutes, once)" \
    env GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE"
fi

# ---------------------------------------------------------------- PostgreSQL (catalog / Kestra)
if [ "$WITH_PG" = 1 ]; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    command -v apt-get >/dev/null || die "PostgreSQL server binaries not found and apt-get is unavailable: install PostgreSQL 15+."
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    step "PostgreSQL from Debian's packages" bash -c \
      "$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql"
  fi
fi

# ---------------------------------------------------------------- Chromium (browser tests)
# Playwright drives Debian's Chromium: its own browser download is not reachable offline, and
# a distribution package gets security updates with the rest of the system
if [ "$WITH_BROWSER" = 1 ] && [ ! -x "${TAXI_CHROMIUM:-/usr/bin/chromium}" ]; then
  command -v apt-get >/dev/null || die "Chromium not found and apt-get is unavailable: install Chromium and set TAXI_CHROMIUM=/path/to/chromium."
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  step "Chromium from Debian's packages (browser tests)" bash -c \
    "$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium"
fi

# ---------------------------------------------------------------- Schema Registry (Apicurio)
if [ "$WITH_REGISTRY" = 1 ]; then
  TAXI_CACHE="$CACHE" bash "$REPO/registry/install.sh"
fi

# ---------------------------------------------------------------- Trino (gold on Trino)
if [ "$WITH_TRINO" = 1 ]; then
  step "Trino from Maven Central (trino/pom.xml: core server + Iceberg plugin, ~540 MB once)" \
    env TAXI_CACHE="$CACHE" PYTHON="$VENV/bin/python" bash "$REPO/trino/install.sh"
fi

# the shared engines; the Python tools: `source .venv/bin/activate` in a checkout
cat > "$CACHE/env.sh" <<EOF
# generated by scripts/bootstrap.sh
export TAXI_CACHE="$CACHE"
export FLINK_HOME="$FLINK_HOME"
export KAFKA_HOME="$KAFKA_HOME"
EOF
log "ready: venv=$VENV flink=$FLINK_HOME kafka=$KAFKA_HOME"
