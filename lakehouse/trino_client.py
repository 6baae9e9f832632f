"""The Trino client as every reader and dbt driver uses it (GOLD_ENGINE=trino): quiet loggers and
a DB-API connection on the project's Iceberg catalog."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from lakehouse.settings import Settings


def quiet_trino_client() -> None:
    """The trino client sets its loggers to INFO on import and says at each connection that it
    has no keyring (used by OAuth2 only): not for people."""
    import trino.auth  # noqa: F401 - its import sets the level this overrides

    for name in ("trino", "trino.auth", "trino.client", "trino.dbapi"):
        logging.getLogger(name).setLevel(logging.WARNING)


def trino_connection(settings: Settings, schema: str | None = None) -> Any:
    """A DB-API connection to Trino on the project's Iceberg catalog (GOLD_ENGINE=trino), in
    the gold namespace unless `schema` says otherwise."""
    import trino

    quiet_trino_client()
    url = urlparse(settings.trino_url)
    return trino.dbapi.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 8080, http_scheme=url.scheme,
        user=settings.trino_user, catalog=settings.iceberg_catalog_name,
        schema=schema or settings.gold_namespace,
    )  # fmt: skip
