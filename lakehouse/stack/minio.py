"""MinIO: the S3 warehouse (WAREHOUSE=s3://...), one server binary installed by
scripts/bootstrap.sh --with-s3."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx

from lakehouse.stack.engine import Engine, ServiceStatus, host_port
from lakehouse.stack.processes import StackError, port_open, wait_until


class MinIO(Engine):
    NAME = "minio"

    def up(self) -> None:
        binary = self.cache / "bin" / "minio"
        self.require(binary, "MinIO binary (scripts/bootstrap.sh --with-s3)")
        key = self.s.s3_access_key.get_secret_value()
        secret = self.s.s3_secret_key.get_secret_value()
        if not key or len(secret) < 8:
            raise StackError(
                "S3_ACCESS_KEY / S3_SECRET_KEY (8+ chars) must be set in .env for MinIO "
                "(`make env` generates them)."
            )
        svc = self.service(self.NAME)
        host, port = host_port(self.s.s3_endpoint)
        if not svc.pid():
            self.check_port_free("MinIO", host, port, svc)
            data = self.home / "minio"
            data.mkdir(parents=True, exist_ok=True)
            svc.start(
                [str(binary), "server", str(data), "--address", f"{host}:{port}",
                 "--console-address", f"{host}:{port + 1}", "--quiet"],
                env={"MINIO_ROOT_USER": key, "MINIO_ROOT_PASSWORD": secret,
                     "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"},
            )  # fmt: skip
        wait_until(
            "MinIO",
            lambda: (
                httpx.get(f"{self.s.s3_endpoint}/minio/health/live", timeout=2).status_code == 200
            ),
            60,
            svc.log_file,
            lambda: bool(svc.pid()),
        )
        self.ensure_bucket()

    def ensure_bucket(self) -> None:
        """Create the warehouse bucket (private) if the warehouse is on S3."""
        if not self.s.warehouse_is_s3:
            return
        from pyarrow import fs

        bucket = urlparse(self.s.warehouse_uri).netloc
        s3 = fs.S3FileSystem(
            access_key=self.s.s3_access_key.get_secret_value(),
            secret_key=self.s.s3_secret_key.get_secret_value(),
            endpoint_override=self.s.s3_endpoint,
            region=self.s.s3_region,
            allow_bucket_creation=True,
        )
        if s3.get_file_info(bucket).type == fs.FileType.NotFound:
            s3.create_dir(bucket)

    def down(self) -> None:
        self.service(self.NAME).stop(timeout=10)

    def status(self, used: bool = True) -> list[ServiceStatus]:
        host, port = host_port(self.s.s3_endpoint)
        pid = self.service(self.NAME).pid()
        return [ServiceStatus(self.NAME, pid, self.s.s3_endpoint, port_open(host, port), used)]
