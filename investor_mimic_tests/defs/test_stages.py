"""The stage runner's progress: every stored result counted, against Dagster's own plan."""

from __future__ import annotations

import io

import pytest

from investor_mimic.core.progress import Progress
from investor_mimic.defs.stages import StageRunner
from investor_mimic_tests.helpers.dagster import make_sandbox

RANGE = ("2022-03-07", "2022-03-11")  # Mon..Fri, all trading days
#: insider_trades, prices, news_sentiment; a contract check each, plus prices' freshness
ASSETS, CHECKS = 3, 4


def test_a_range_run_reports_each_materialization_and_check_result_of_the_plan(
    request: pytest.FixtureRequest,
) -> None:
    box = make_sandbox(request, copy=False)
    out = io.StringIO()
    with StageRunner(box.instance) as runner:
        assert runner.run("universe_job").success
        with Progress("daily sources", unit="results", stream=out, every=0.0) as bar:
            stage = runner.run("daily_sources_job", partition_range=RANGE, progress=bar)
    assert stage.success, stage.failure
    days = 5
    assert len(stage.materializations) == ASSETS * days
    assert len(stage.checks) == CHECKS * days and all(c.passed for c in stage.checks)
    assert bar.total == bar.done == (ASSETS + CHECKS) * days
    lines = out.getvalue().splitlines()
    assert len(lines) > 2  # a line as results land, not only at the end
    assert lines[-1].startswith("daily sources: 35/35 results (100%)")
    assert lines[-1].endswith("(done)")
