"""One checkout, one Python environment: the Makefile and scripts/bootstrap.sh put the venv in
the checkout (.venv, ignored by git and by image builds), the engines in the shared TAXI_CACHE."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lakehouse.settings import REPO_ROOT, Settings


def _make_var(name: str, **env: str) -> str:
    """A variable as the Makefile resolves it (make's database, nothing run)."""
    out = subprocess.run(
        ["make", "-pnq", "-f", str(REPO_ROOT / "Makefile"), "help"],
        capture_output=True, text=True, cwd=REPO_ROOT,
        env={k: v for k, v in {**os.environ, **env}.items() if k != "TAXI_VENV"},
    ).stdout  # fmt: skip
    for line in out.splitlines():
        if line.startswith(f"{name} := ") or line.startswith(f"{name} = "):
            return line.split("=", 1)[1].strip()
    raise AssertionError(f"{name} not in make's database")


def test_the_venv_is_the_checkouts_own_and_engines_stay_in_the_cache() -> None:
    assert _make_var("VENV") == str(REPO_ROOT / ".venv")
    assert _make_var("TAXI_CACHE", TAXI_CACHE="/tmp/shared-cache") == "/tmp/shared-cache"
    assert _make_var("VENV", TAXI_CACHE="/tmp/shared-cache") == str(REPO_ROOT / ".venv")


def test_bootstrap_defaults_to_the_checkout_venv() -> None:
    script = (REPO_ROOT / "scripts" / "bootstrap.sh").read_text()
    assert 'VENV="${TAXI_VENV:-$REPO/.venv}"' in script


def test_the_venv_is_kept_out_of_git_and_image_builds() -> None:
    assert ".venv/" in (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".venv" in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".venv/bin/python"], cwd=REPO_ROOT
    ).returncode
    assert ignored == 0


def test_the_suite_runs_this_checkouts_code() -> None:
    """Under `make test` (TAXI_VENV exported), the interpreter is the checkout's venv and the
    package is imported from this checkout, not from another clone's editable install."""
    import sys
    from pathlib import Path

    import lakehouse

    assert Path(lakehouse.__file__).resolve().is_relative_to(REPO_ROOT.resolve())
    if venv := os.environ.get("TAXI_VENV"):
        assert Path(sys.prefix).resolve() == Path(venv).resolve()


def test_an_empty_path_setting_is_unset_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lakehouse.dbt_runner import dbt_env
    from lakehouse.settings import Settings

    monkeypatch.setenv("ZONE_LOOKUP_CSV", "")
    monkeypatch.setenv("GOLD_DUCKDB_PATH", " ")
    s = Settings(lakehouse_home=tmp_path)
    assert s.zone_lookup_csv is None and s.gold_path == tmp_path / "gold" / "gold.duckdb"
    assert dbt_env(s)["ZONE_LOOKUP_CSV"] == ""
    monkeypatch.setenv("ZONE_LOOKUP_CSV", str(tmp_path / "zones.csv"))
    assert Settings(lakehouse_home=tmp_path).zone_lookup_csv == tmp_path / "zones.csv"


def test_the_engines_are_found_in_the_taxi_cache_that_bootstrap_installed_into(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """TAXI_CACHE (make, bootstrap, CI) places the engines; Trino's home follows it too."""
    from lakehouse.settings import Settings
    from lakehouse.stack.trino import trino_home, trino_version

    monkeypatch.delenv("CACHE_DIR", raising=False)
    monkeypatch.delenv("TRINO_HOME", raising=False)
    monkeypatch.setenv("TAXI_CACHE", str(tmp_path / "cache"))
    s = Settings(lakehouse_home=tmp_path)
    assert s.cache_dir == tmp_path / "cache"
    assert trino_home(s) == tmp_path / "cache" / f"trino-{trino_version()}"
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "explicit"))
    assert Settings(lakehouse_home=tmp_path).cache_dir == tmp_path / "explicit"
    monkeypatch.delenv("CACHE_DIR")
    monkeypatch.delenv("TAXI_CACHE")
    assert Settings(lakehouse_home=tmp_path).cache_dir == Path.home() / ".cache" / "taxi-lakehouse"


def test_unit_tests_read_no_env_file_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/unit/conftest.py: the developer's .env never reaches a unit test; a test that
    wants one passes it."""
    monkeypatch.delenv("TOPIC_RAW", raising=False)
    env = tmp_path / ".env"
    env.write_text("TOPIC_RAW=from-a-dotenv\n")
    assert Settings.model_config["env_file"] is None
    assert Settings(_env_file=env).topic_raw == "from-a-dotenv"  # type: ignore[call-arg]
    assert Settings().topic_raw == Settings.model_fields["topic_raw"].default
