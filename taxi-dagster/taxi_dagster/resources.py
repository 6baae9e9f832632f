"""Resources: the lakehouse settings, and dbt run with the environment its profile reads."""

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, OpExecutionContext
from dagster_dbt import DbtCliInvocation, DbtCliResource
from pydantic import Field, SecretStr

from lakehouse.dbt_runner import dbt_env
from lakehouse.settings import Settings


@contextmanager
def patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Set `env` in os.environ for the duration of the block, then restore the previous values.

    dbt's profile (dbt/profiles.yml) reads its connection from environment variables, and
    dagster-dbt starts dbt with a copy of os.environ and no way to pass extra variables. They are
    set only around the call: some of the names (GOLD_DUCKDB_PATH, ZONE_LOOKUP_CSV) are also
    lakehouse settings, and leaving them in the process would change every later Settings().
    """
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class LakehouseResource(ConfigurableResource):
    """The lakehouse settings (lakehouse/settings.py: environment variables, then `.env`).

    `overrides` are passed to Settings(...) and win over the environment, so tests (or another
    deployment) can point the same definitions at another stack without touching the env.
    """

    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings fields that replace the environment/.env values (e.g. ports).",
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> "LakehouseResource":
        """A resource reproducing `settings`: every field that was set explicitly (not read
        from the environment), as plain config values."""
        overrides: dict[str, Any] = {}
        for name in settings.model_fields_set:
            value = getattr(settings, name)
            if value is None:  # Dagster config maps hold no nulls; None is every such default
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, Path):
                value = str(value)
            overrides[name] = value
        return cls(overrides=overrides)

    def get_settings(self) -> Settings:
        return Settings(**self.overrides)

    def dbt_env(self) -> dict[str, str]:
        return dbt_env(self.get_settings())

    def dbt_target_root(self) -> Path:
        """Where the artifacts of dbt runs started by Dagster go (next to `make dbt-build`'s)."""
        return self.get_settings().lakehouse_home.resolve() / "dbt" / "target" / "dagster"


class LakehouseDbtCliResource(DbtCliResource):
    """DbtCliResource whose invocations get the environment of lakehouse.dbt_runner.dbt_env
    (computed from the `lakehouse` resource's settings) and write their artifacts and logs under
    <lakehouse_home>/dbt/target/dagster/<run>-<id> instead of the repository's dbt/target."""

    lakehouse: LakehouseResource

    def cli(  # type: ignore[override]
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: Any = None,
        dagster_dbt_translator: Any = None,
        context: OpExecutionContext | AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        if target_path is None:
            run = context.run.run_id[:8] if context is not None else "adhoc"
            target_path = self.lakehouse.dbt_target_root() / f"{run}-{uuid.uuid4().hex[:7]}"
        # dbt is started (and its profile loaded by dagster-dbt's adapter) inside super().cli;
        # the returned invocation only reads the subprocess's output afterwards.
        with patched_environ(self.lakehouse.dbt_env()):
            return super().cli(
                args,
                raise_on_error=raise_on_error,
                manifest=manifest,
                dagster_dbt_translator=dagster_dbt_translator,
                context=context,
                target_path=target_path,
            )
