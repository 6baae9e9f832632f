"""PostgreSQL: the Iceberg catalog database (CATALOG_BACKEND=postgres) and Dagster's storage;
Debian's server package (scripts/bootstrap.sh --with-postgres), one cluster under
settings.lakehouse_home."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from lakehouse.stack.engine import Engine, ServiceStatus
from lakehouse.stack.processes import StackError, port_open


class Postgres(Engine):
    NAME = "postgres"

    def bin_dir(self) -> Path:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "postgres").exists():
                return candidate
        raise StackError(
            "PostgreSQL server not found. Run `scripts/bootstrap.sh --with-postgres` "
            "(Debian's postgresql package)."
        )

    def _run(self, cmd: list[str], what: str) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def _as_pg_user(self, cmd: list[str]) -> list[str]:
        if os.getuid() == 0:  # initdb/postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def init(self) -> tuple[Path, Path]:
        """initdb once (password auth, the superuser of .env); returns (bindir, data dir)."""
        password = self.s.postgres_password.get_secret_value()
        if not password:
            raise StackError("POSTGRES_PASSWORD must be set in .env (`make env` generates it).")
        bindir = self.bin_dir()
        pgdir = self.home / "postgres"
        data = pgdir / "data"
        svc_log = self.logs / "postgres.log"
        self.logs.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            pgdir.mkdir(parents=True, exist_ok=True)
            shutil.chown(pgdir, "postgres", "postgres")
            if not svc_log.exists():
                svc_log.touch()
            shutil.chown(svc_log, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            pwfile = pgdir / "pwfile"
            pwfile.write_text(password + "\n")
            if os.getuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            self._run(
                self._as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U",
                                  self.s.postgres_user, "--auth=scram-sha-256",
                                  f"--pwfile={pwfile}", "-E", "UTF8"]),
                "PostgreSQL initdb",
            )  # fmt: skip
            pwfile.unlink()
        return bindir, data

    def _pg_ctl_start(self, bindir: Path, data: Path, host: str, port: int) -> None:
        svc_log = self.logs / "postgres.log"
        self._run(
            self._as_pg_user([str(bindir / "pg_ctl"), "start", "-w", "-D", str(data), "-l",
                              str(svc_log), "-o",
                              f"-p {port} -k {data} -c listen_addresses={host}"]),
            f"PostgreSQL start (log: {svc_log})",
        )  # fmt: skip

    def up(self) -> None:
        bindir, data = self.init()
        host, port = self.s.postgres_host, self.s.postgres_port
        status = subprocess.run(
            self._as_pg_user([str(bindir / "pg_ctl"), "status", "-D", str(data)]),
            capture_output=True,
        )
        if status.returncode != 0:
            if port_open(host, port):
                raise StackError(f"PostgreSQL: port {host}:{port} is already in use.")
            self._pg_ctl_start(bindir, data, host, port)
        self.ensure_database(self.s.catalog_postgres_db)

    def serve_command(self, databases: Sequence[str] = ()) -> list[str]:
        """A container's PostgreSQL: initdb, the databases created on loopback, then the
        server command listening on every interface (password auth from any address)."""
        bindir, data = self.init()
        hba = data / "pg_hba.conf"
        rule = "host all all all scram-sha-256"
        if rule not in hba.read_text():
            with hba.open("a") as f:
                f.write(f"# the compose network (added by lakehouse stack serve)\n{rule}\n")
        port = self.s.postgres_port
        self._pg_ctl_start(bindir, data, "127.0.0.1", port)
        try:
            for name in dict.fromkeys([self.s.catalog_postgres_db, *databases]):
                self.ensure_database(name, host="127.0.0.1")
        finally:
            self._run(
                self._as_pg_user([str(bindir / "pg_ctl"), "stop", "-w", "-D", str(data),
                                  "-m", "fast"]),
                "PostgreSQL stop after creating the databases",
            )  # fmt: skip
        return self._as_pg_user(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
             "-c", "listen_addresses=*"]
        )  # fmt: skip

    def ensure_database(self, name: str, host: str | None = None) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host=host or self.s.postgres_host,
            port=self.s.postgres_port,
            user=self.s.postgres_user,
            password=self.s.postgres_password.get_secret_value(),
            dbname="postgres",
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(f'create database "{name}"')
        conn.close()

    def down(self) -> None:
        data = self.home / "postgres" / "data"
        if not (data / "PG_VERSION").exists():
            return
        try:
            bindir = self.bin_dir()
        except StackError:
            return
        subprocess.run(
            self._as_pg_user([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast"]),
            capture_output=True,
        )

    def status(self, used: bool = True) -> list[ServiceStatus]:
        host, port = self.s.postgres_host, self.s.postgres_port
        return [ServiceStatus(self.NAME, None, f"{host}:{port}", port_open(host, port), used)]
