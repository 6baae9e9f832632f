#!/bin/sh
# with-extra-ca.sh CMD...: run one build step trusting an extra CA bundle (a TLS-intercepting
# proxy's), then remove it again. The bundle comes in as the BuildKit secret `extra_ca`
# (docker-compose.yml: EXTRA_CA_BUNDLE); a secret is never written to a layer, and the trust
# store this step changes is restored before the step ends, so no shipped layer trusts it.
# Bind-mounted into the RUN steps that download (never copied into an image).
set -eu
secret=/run/secrets/extra_ca
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -s "$secret" ]; then
  dir=/usr/local/share/ca-certificates/taxi-extra-ca
  mkdir -p "$dir"
  # one file per certificate: update-ca-certificates (and the Java trust store hook of
  # ca-certificates-java, for Maven) take one certificate per file
  awk -v d="$dir" '/-----BEGIN CERTIFICATE-----/ {n++} n {print > sprintf("%s/extra-%04d.crt", d, n)}' "$secret"
  update-ca-certificates >/dev/null 2>&1
  restore() { rm -rf "$dir"; update-ca-certificates --fresh >/dev/null 2>&1; }
  trap restore EXIT
fi
# pip (Debian's 23.x uses certifi), Python, curl and Go read these
export PIP_CERT="$bundle" SSL_CERT_FILE="$bundle" REQUESTS_CA_BUNDLE="$bundle" CURL_CA_BUNDLE="$bundle"
"$@"
