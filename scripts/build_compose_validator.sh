#!/usr/bin/env bash
# Builds tools/compose-validate (compose-go, the loader `docker compose` uses) into
# $TAXI_CACHE/bin/compose-validate, once per source change. Needs Go >= 1.24 and the Go module
# proxy (module versions and checksums are pinned by tools/compose-validate/go.mod and go.sum).
# Prints the binary's path.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TAXI_CACHE:-$HOME/.cache/taxi-lakehouse}"
SRC="$REPO/tools/compose-validate"
HASH="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)"
BIN="$CACHE/bin/compose-validate-$HASH"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { echo "Go is required to build compose-validate (apt-get install golang)" >&2; exit 1; }
  mkdir -p "$CACHE/bin"
  rm -f "$CACHE"/bin/compose-validate-*
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath -o "$BIN.tmp" .) >&2
  mv "$BIN.tmp" "$BIN"
fi
ln -sf "$BIN" "$CACHE/bin/compose-validate"
echo "$CACHE/bin/compose-validate"
