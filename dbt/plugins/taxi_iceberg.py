"""dbt-duckdb plugin: the built-in `iceberg` plugin, minus empty catalog properties.

profiles.yml lists every pyiceberg catalog property, each read with env_var() and an empty
default for the optional ones (the s3.* keys). YAML/Jinja cannot leave a key out, so this
subclass drops every property whose value is empty before dbt-duckdb's iceberg plugin hands the
rest to ``pyiceberg.catalog.load_catalog``. With a local ``file://`` warehouse no s3.* key reaches
pyiceberg; with an ``s3://`` warehouse the keys that are set are passed through unchanged.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import iceberg


def catalog_properties(config: dict[str, Any]) -> dict[str, Any]:
    """Drop unset (None or blank) properties; pyiceberg expects string values."""
    return {
        key: value if isinstance(value, str) else str(value).lower()
        if isinstance(value, bool) else str(value)
        for key, value in config.items()
        if value is not None and str(value).strip() != ""
    }


class Plugin(iceberg.Plugin):
    def initialize(self, config: dict[str, Any]) -> None:
        super().initialize(catalog_properties(config))
