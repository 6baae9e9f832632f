"""Resources: the lakehouse settings, and dbt run with the environment its profile reads."""

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, OpExecutionContext
from dagster_dbt import DbtCliInvocation, DbtCliResource
from pydantic import Field, SecretStr

from lakehouse.dbt_runner import dbt_env, patched_environ
from lakehouse.settings import Settings


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
