#!/usr/bin/env bash
# Makes sure a Docker Engine, Compose v2 and the Debian base image are available for the compose
# stack, idempotently. For the test suite and for machines without a registry; on a usual machine
# (Docker Desktop / docker-ce with Compose, registry reachable) every step finds what it needs
# and does nothing.
#
#   engine   : if no engine answers, install Debian's docker.io and start dockerd by hand (no
#              systemd here); its pid goes to $TAXI_CACHE/docker/dockerd.pid so `engine.sh stop`
#              stops only the daemon this script started
#   compose  : `docker compose` if present, else Compose v2 built from its Go module (go install
#              is refused: its go.mod has exclude directives) into $TAXI_CACHE/bin/docker-compose
#   base     : the Debian image every Dockerfile starts FROM; pulled if a registry answers, else
#              built with debootstrap from Debian's packages (tarball cached) and imported
#
# Usage: docker/engine.sh [ensure|stop|compose-path]
set -euo pipefail

CACHE="${TAXI_CACHE:-$HOME/.cache/taxi-lakehouse}"
DOCKER_CACHE="$CACHE/docker"
COMPOSE_VERSION="v2.40.3"
# the one base image of every Dockerfile of the project (docker/<image>/Dockerfile)
BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
PIDFILE="$DOCKER_CACHE/dockerd.pid"

if [ -t 1 ]; then _c=$'\033[1;34m' _e=$'\033[1;31m' _r=$'\033[0m'; else _c='' _e='' _r=''; fi
log() { printf '%s[docker]%s %s\n' "$_c" "$_r" "$*"; }
die() { printf '%s[docker] ERROR:%s %s\n' "$_e" "$_r" "$*" >&2; exit 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
mkdir -p "$DOCKER_CACHE" "$CACHE/bin"

engine_answers() { docker info >/dev/null 2>&1; }

ensure_engine() {
  engine_answers && return 0
  if ! command -v dockerd >/dev/null; then
    command -v apt-get >/dev/null || die "no Docker Engine answers and apt-get is unavailable: install Docker (https://docs.docker.com/engine/install/)"
    log "installing Debian's docker.io (engine, containerd, runc)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      docker.io ca-certificates xz-utils debootstrap >/dev/null
  fi
  command -v docker >/dev/null || die "dockerd is installed but no docker client is on PATH"
  log "starting dockerd (log: $DOCKER_CACHE/dockerd.log)"
  # setsid: the daemon outlives this shell; stopped by `engine.sh stop` through its pid
  $SUDO setsid dockerd --host unix:///var/run/docker.sock >"$DOCKER_CACHE/dockerd.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 60); do
    engine_answers && { log "engine ready ($(docker version -f '{{.Server.Version}}'))"; return 0; }
    sleep 1
  done
  tail -n 20 "$DOCKER_CACHE/dockerd.log" >&2 || true
  die "dockerd did not answer within 60 s (log above)"
}

compose_path() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return; fi
  echo "$CACHE/bin/docker-compose"
}

ensure_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  local bin="$CACHE/bin/docker-compose"
  if [ -x "$bin" ] && "$bin" version --short 2>/dev/null | grep -qx "${COMPOSE_VERSION#v}"; then return 0; fi
  command -v go >/dev/null || die "Compose v2 is missing and Go is not installed to build it (apt-get install golang, or install the docker-compose-plugin)"
  log "building Compose $COMPOSE_VERSION from its Go module (about 5 min, once; cached in $bin)"
  local mod src
  mod="$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  src="$(mktemp -d)"
  cp -r "$mod/." "$src/"
  chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$bin.tmp" ./cmd) \
    >"$DOCKER_CACHE/compose-build.log" 2>&1 || { tail -n 20 "$DOCKER_CACHE/compose-build.log" >&2; die "building Compose failed (log above)"; }
  mv "$bin.tmp" "$bin"
  rm -rf "$src"
  log "compose: $("$bin" version --short)"
}

ensure_base() {
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  if docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then log "pulled $BASE_IMAGE"; return 0; fi
  local tarball="$DOCKER_CACHE/${BASE_IMAGE//[:\/]/-}.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || {
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    local mirror suite root
    suite="${BASE_IMAGE##*:}"; suite="${suite%-slim}"
    # the Debian mirror apt uses here (a proxy or local mirror on a closed network)
    mirror="$(apt-cache policy 2>/dev/null | awk -v s=" $suite/main " 'index($0, s) {print $2; exit}' || true)"
    log "no registry answers: building $BASE_IMAGE with debootstrap ($suite from ${mirror:-deb.debian.org}, about 1 min, once)"
    root="$(mktemp -d)"
    $SUDO debootstrap --variant=minbase "$suite" "$root" "${mirror:-http://deb.debian.org/debian}" >"$DOCKER_CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$DOCKER_CACHE/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    # like the official slim image: no apt lists, no docs, apt keeps no package cache
    $SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
    $SUDO tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    $SUDO rm -rf "$root"
  fi
  docker import --change 'CMD ["bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
  log "imported $BASE_IMAGE from $tarball"
}

stop_engine() {
  [ -f "$PIDFILE" ] || return 0
  local pid; pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping the dockerd this script started (pid $pid)"
    $SUDO kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$PIDFILE"
}

case "${1:-ensure}" in
  ensure) ensure_engine; ensure_compose; ensure_base ;;
  stop) stop_engine ;;
  compose-path) compose_path ;;
  *) die "usage: $0 [ensure|stop|compose-path]" ;;
esac
