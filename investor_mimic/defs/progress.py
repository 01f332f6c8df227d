"""Progress of a long step as Dagster log lines, through :mod:`investor_mimic.core.progress`.

Why log lines and not a bar: a step runs inside Dagster (in the demo's process, or in a
run worker the daemon started), where the terminal is not the step's to draw on. Its
progress goes to ``context.log.info`` every few seconds, which the UI shows on the run's
page while the run is going on; the demo's own terminal bar counts the run's stored
results (:meth:`investor_mimic.defs.stages.StageRunner.run`).
"""

import dagster as dg

from investor_mimic.core.progress import Progress


def step_progress(
    context: dg.AssetExecutionContext, label: str, total: int | None, unit: str
) -> Progress:
    """A :class:`Progress` that writes only Dagster log lines of this step."""
    return Progress(label, total, unit, mode="quiet", log=context.log.info)
