"""The dbt project (dbt/) as Dagster sees it, and how its manifest is prepared.

The manifest Dagster builds the asset graph from is made once, at build time, not at each start:

* `dagster dev` (the `ui` command): `prepare_if_dev()` re-parses the project at load, so model
  changes show up while developing.
* everything else (the `run` command, tests, a packaged deployment) loads the prepared
  `dbt/target/dagster/manifest.json`. Prepare it with either

      python -m taxi_dagster.cli prepare
      dagster-dbt project prepare-and-package --file taxi-dagster/taxi_dagster/project.py

  Both run `dbt parse` through the preparer below. If the manifest is missing altogether,
  definitions.py prepares it once (a fresh clone must load).

`dbt parse` renders dbt/profiles.yml, which reads its connection from environment variables
(dbt/README.md). The preparer sets them from the lakehouse settings (lakehouse.dbt_runner.dbt_env)
for the duration of the parse only, so neither command needs a hand-exported environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace

from lakehouse.dbt_runner import DBT_DIR, _dbt_executable, dbt_env
from lakehouse.settings import get_settings

from .resources import patched_environ

#: relative to dbt/ (git-ignored): dbt/target/dagster/manifest.json
MANIFEST_TARGET_PATH = "target/dagster"


class LakehouseDbtProjectPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (`dbt parse --quiet`) with the profile's environment set from
    the lakehouse settings."""

    def prepare(self, project: DbtProject) -> None:
        # dagster-dbt's preparer runs `dbt` from PATH; the venv's bin is not on it when Python
        # is started by its full path (as Make and tests do)
        dbt_bin = str(Path(_dbt_executable()).parent)
        env = {**dbt_env(get_settings()), "PATH": dbt_bin + os.pathsep + os.environ.get("PATH", "")}
        with patched_environ(env):
            super().prepare(project)


# DbtProject builds its own default preparer and takes no preparer argument; swap ours in
# (`replace` is the record's copy-with-changes, like namedtuple._replace).
dbt_project = replace(
    DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=MANIFEST_TARGET_PATH),
    preparer=LakehouseDbtProjectPreparer(),
)


def prepare_manifest(*, force: bool = False) -> None:
    """Parse the dbt project into dbt_project.manifest_path: always under `dagster dev`, when
    `force`d (the `prepare` command), or when no manifest exists yet."""
    if force or not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
    else:
        dbt_project.prepare_if_dev()
