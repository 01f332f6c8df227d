"""The 13F filings sensor and the daily sources schedule, evaluated as the daemon would.

The sensor is called with a context built on a real (ephemeral) instance rather than
through ``evaluate_tick``, which cannot load the dynamic ``filers`` partitions the
sensor itself adds. Expected requests are read straight from the world's submissions
JSON, not from the project's EDGAR client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.partitions import FILERS, trading_day_partitions
from investor_mimic.defs.sources.assets import daily_sources_schedule, thirteenf_filings_sensor
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic_tests.helpers.dagster import Sandbox, make_sandbox

NEW_YORK = ZoneInfo("America/New_York")
THIRTEENF_FORMS = {"13F-HR", "13F-HR/A"}


def evaluate(box: Sandbox, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=box.instance, cursor=cursor, resources={"sources": SourcesResource()}
    )
    result = thirteenf_filings_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def filer_ciks(world: Path) -> list[str]:
    return [f["cik"] for f in json.loads((world / "manifest.json").read_text())["filers"]]


def submissions_path(world: Path, cik: str) -> Path:
    return world / "edgar" / "submissions" / f"CIK{cik}.json"


def world_13f_filings(world: Path) -> set[tuple[str, str]]:
    """(accession, "<filer>|<quarter>") of every 13F in the world's submissions JSON."""
    out = set()
    for cik in filer_ciks(world):
        recent = json.loads(submissions_path(world, cik).read_text())["filings"]["recent"]
        for accession, form, period in zip(
            recent["accessionNumber"], recent["form"], recent["reportDate"], strict=True
        ):
            if form in THIRTEENF_FORMS:
                out.add((accession, f"{cik}|{period}"))
    return out


def requested(result: dg.SensorResult) -> list[tuple[str | None, str | None]]:
    return [(r.run_key, r.partition_key) for r in result.run_requests or []]


def added_filers(result: dg.SensorResult) -> list[str]:
    added = []
    for request in result.dynamic_partitions_requests or []:
        assert isinstance(request, dg.AddDynamicPartitionsRequest)
        assert request.partitions_def_name == FILERS
        added += list(request.partition_keys)
    return added


def test_first_tick_requests_every_filing_once_then_nothing(request: pytest.FixtureRequest) -> None:
    box = make_sandbox(request, copy=False)
    ciks = filer_ciks(box.world)
    box.add_filers(ciks[0])  # a filer already known to the instance is not re-added
    expected = world_13f_filings(box.world)
    assert len(expected) > len(ciks)

    first = evaluate(box, cursor=None)

    assert len(first.run_requests or []) == len(expected)
    assert set(requested(first)) == expected
    assert sorted(added_filers(first)) == sorted(ciks[1:])
    for run_request in first.run_requests or []:
        assert isinstance(run_request.partition_key, dg.MultiPartitionKey)
        assert set(run_request.partition_key.keys_by_dimension) == {"quarter", "filer"}

    box.add_filers(*added_filers(first))  # what the daemon does with the request
    second = evaluate(box, cursor=first.cursor)
    assert requested(second) == []
    assert added_filers(second) == []


def add_filing(world: Path, cik: str, accession: str, period: str, filed: str) -> None:
    """A new 13F-HR in the submissions JSON and the archive: the filer's latest 13F-HR
    with its accession and dates rewritten."""
    path = submissions_path(world, cik)
    doc = json.loads(path.read_text())
    recent = doc["filings"]["recent"]
    latest = next(i for i, form in enumerate(recent["form"]) if form == "13F-HR")
    old_accession, old_period, old_filed = (
        recent["accessionNumber"][latest],
        recent["reportDate"][latest],
        recent["filingDate"][latest],
    )
    row = {k: v[latest] for k, v in recent.items()}
    row |= {
        "accessionNumber": accession,
        "reportDate": period,
        "filingDate": filed,
        "acceptanceDateTime": f"{filed}T10:00:00.000Z",
    }
    for k, v in row.items():
        recent[k].insert(0, v)
    path.write_text(json.dumps(doc))

    folder = world / "edgar" / "Archives" / "edgar" / "data" / str(int(cik))
    text = (folder / f"{old_accession}.txt").read_text()
    for old, new in [(old_accession, accession), (old_period, period), (old_filed, filed)]:
        y, m, d = old.split("-")
        ny, nm, nd = new.split("-")
        text = text.replace(old, new).replace(f"{y}{m}{d}", f"{ny}{nm}{nd}")
        text = text.replace(f"{m}-{d}-{y}", f"{nm}-{nd}-{ny}")
    (folder / f"{accession}.txt").write_text(text)


def test_a_new_filing_is_requested_alone_and_its_run_loads_it(
    request: pytest.FixtureRequest,
) -> None:
    box = make_sandbox(request, copy=True)
    first = evaluate(box, cursor=None)
    box.add_filers(*added_filers(first))
    cik = filer_ciks(box.world)[0]
    accession = f"{cik}-24-000001"

    add_filing(box.world, cik, accession, period="2023-12-31", filed="2024-02-09")
    later = evaluate(box, cursor=first.cursor)

    key = dg.MultiPartitionKey({"quarter": "2023-12-31", "filer": cik})
    assert requested(later) == [(accession, key)]
    assert added_filers(later) == []
    assert requested(evaluate(box, cursor=later.cursor)) == []
    # the requested partition really holds the new filing
    assert box.materialize("universe").success
    result = box.materialize("thirteenf_holdings", partition=key)
    assert result.success
    stored = pd.read_parquet(box.assets_dir / "thirteenf_holdings" / f"{cik}__2023-12-31.parquet")
    assert set(stored["accession"]) == {accession}
    assert set(stored["period_of_report"]) == {pd.Timestamp("2023-12-31")}


def tick(when: datetime) -> list[dg.RunRequest | dg.SkipReason]:
    """What the schedule decides at ``when``, as a list whichever form it returns."""
    evaluation = daily_sources_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    if isinstance(evaluation, dg.RunRequest | dg.SkipReason):
        return [evaluation]
    assert isinstance(evaluation, Iterator), evaluation
    return list(evaluation)


def test_schedule_requests_the_trading_day_it_runs_on() -> None:
    [request] = tick(datetime(2023, 11, 22, 18, 30, tzinfo=NEW_YORK))
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2023-11-22"
    assert request.run_key == "2023-11-22"
    assert trading_day_partitions.has_partition_key("2023-11-22")
    assert daily_sources_schedule.execution_timezone == "America/New_York"


@pytest.mark.parametrize(
    "day",
    [
        datetime(2023, 11, 25, 18, 30, tzinfo=NEW_YORK),  # Saturday
        datetime(2023, 11, 23, 18, 30, tzinfo=NEW_YORK),  # Thanksgiving
        datetime(2023, 4, 7, 18, 30, tzinfo=NEW_YORK),  # Good Friday: EDGAR open, NYSE closed
    ],
    ids=["saturday", "thanksgiving", "good_friday"],
)
def test_schedule_skips_days_the_market_is_closed(day: datetime) -> None:
    [skip] = tick(day)
    assert isinstance(skip, dg.SkipReason)
    assert f"{day.date()} is not a trading day" in (skip.skip_message or "")
    assert not trading_day_partitions.has_partition_key(day.date().isoformat())
