"""dbt-duckdb plugin: the built-in `iceberg` plugin, minus empty catalog properties.

profiles.yml lists every pyiceberg catalog property, each read with env_var() and an empty
default for the optional ones (the s3.* keys). A YAML key cannot be left out conditionally, and
building the whole dict in one Jinja expression would break dbt's DBT_ENV_SECRET_ handling
(secrets are only substituted into plain string values), so this subclass drops every property
whose value is empty before dbt-duckdb's iceberg plugin hands the rest to
``pyiceberg.catalog.load_catalog``. With a local ``file://`` warehouse no s3.* key reaches
pyiceberg; with an ``s3://`` warehouse the keys that are set are passed through unchanged.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import iceberg


def catalog_properties(config: dict[str, Any]) -> dict[str, str]:
    """Drop unset (None or blank) properties; pass the rest to pyiceberg as strings."""
    properties = {}
    for key, value in config.items():
        if value is None or str(value).strip() == "":
            continue
        # YAML may turn `true` into a bool; pyiceberg wants "true"/"false"
        properties[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return properties


class Plugin(iceberg.Plugin):
    def initialize(self, config: dict[str, Any]) -> None:
        super().initialize(catalog_properties(config))
