"""A code location of the small daily/total assets on the project's asset storage.

Why: the storage tests run it in separate processes (a restart), configured only by the
environment, with the IO manager chosen by the same function the real code location uses
(:func:`investor_mimic.defs.resources.asset_io_manager`).
``python -m investor_mimic_tests.helpers.storage_location`` backfills ``daily`` on the
instance of ``DAGSTER_HOME``: one run per partition for 2024-01-02 and 01-03, then one
range run over 01-04..01-06.
"""

import dagster as dg

from investor_mimic.defs.resources import asset_io_manager
from investor_mimic.defs.stages import range_tags
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.daily_assets import daily, total

defs = dg.Definitions(
    assets=[daily, total], resources={"io_manager": asset_io_manager(get_settings())}
)


def backfill() -> None:
    instance = dg.DagsterInstance.get()
    runs = [{"partition_key": day} for day in ("2024-01-02", "2024-01-03")]
    runs.append({"tags": range_tags("2024-01-04", "2024-01-06")})
    for run in runs:
        done = dg.materialize(
            [daily, total], selection=[daily], resources=defs.resources, instance=instance, **run
        )
        assert done.success


if __name__ == "__main__":
    backfill()
