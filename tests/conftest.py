"""Make the Dagster code location (dagster/taxi_dagster) importable in the tests.

The package lives in dagster/ (not a package itself: `dagster` must stay the library), which the
editable install does not put on sys.path.
"""

import sys
from pathlib import Path

DAGSTER_DIR = str(Path(__file__).resolve().parent.parent / "dagster")
if DAGSTER_DIR not in sys.path:
    sys.path.insert(0, DAGSTER_DIR)
