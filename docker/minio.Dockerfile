# MinIO (S3 warehouse) for the compose stack, built from the same Go module version as the
# native runtime (scripts/bootstrap.sh MINIO_MODULE; tests/unit/test_compose.py keeps the two equal).
#
# Why not a prebuilt image: MinIO's community edition became source-only in Oct 2025 and
# minio/minio was removed from Docker Hub (Sept 2026: "pull access denied"). quay.io/minio/minio
# still serves the old tags (newest RELEASE.2025-09-07T16-13-09Z), but as a frozen snapshot that
# predates the Oct 2025 security fixes. Building the archived repository's last commit gives the
# same server the native stack runs, with those fixes. To trade that for a fast pull, replace this
# build in docker-compose.yml with `image: quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z`.
ARG MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

FROM golang:1.24.8-bookworm AS build
ARG MINIO_MODULE
# the Go module proxy verifies every module against the checksum database (go.sum / sum.golang.org)
RUN CGO_ENABLED=0 GOBIN=/out GOFLAGS=-buildvcs=false go install "$MINIO_MODULE"

FROM debian:12.12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 --home-dir /data minio \
 && mkdir -p /data && chown minio /data
COPY --from=build /out/minio /usr/local/bin/minio
USER minio
ENV MINIO_BROWSER=off MINIO_UPDATE=off
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data", "--address", ":9000", "--quiet"]
