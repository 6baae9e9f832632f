"""Unit tests never read the developer's .env: Settings are the defaults plus what a test passes
(and the process environment, which CI keeps clean)."""

from __future__ import annotations

import pytest

from lakehouse.settings import Settings


@pytest.fixture(autouse=True)
def _no_developer_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(Settings.model_config, "env_file", None)
