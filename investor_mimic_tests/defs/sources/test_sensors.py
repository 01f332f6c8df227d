"""The source sensors (13F filings, market close, EDGAR's daily index), evaluated as the
daemon would; the evening ones at given moments (naive New York time).

The sensor is called with a context built on a real (ephemeral) instance rather than
through ``evaluate_tick``, which cannot load the dynamic ``filers`` partitions the
sensor itself adds. Expected requests are read straight from the world's submissions
JSON, not from the project's EDGAR client.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.partitions import FILERS, trading_day_partitions
from investor_mimic.defs.sources.assets import thirteenf_filings_sensor
from investor_mimic.defs.sources.resource import SourcesResource
from investor_mimic.defs.sources.sensors import (
    SETTLE,
    form4_index_decision,
    last_closed_session,
    market_close_decision,
)
from investor_mimic.sources.edgar import EdgarClient, HttpEdgarTransport, daily_index_path
from investor_mimic_tests.helpers.dagster import Sandbox, make_sandbox
from investor_mimic_tests.helpers.loopback import LoopbackServer

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


def requested_days(result: dg.SensorResult) -> list[str | None]:
    return [r.partition_key for r in result.run_requests or []]


def skipped(result: dg.SensorResult) -> str:
    assert not result.run_requests, requested_days(result)
    assert result.skip_reason is not None
    return result.skip_reason.skip_message or ""


@pytest.mark.parametrize(
    ("now", "fetched", "expected"),
    [
        (datetime(2023, 11, 22, 16, 10), "2023-11-21", []),  # closed, bars not settled
        (datetime(2023, 11, 22, 16, 15), "2023-11-21", ["2023-11-22"]),
        (datetime(2023, 11, 24, 13, 15), "2023-11-22", ["2023-11-24"]),  # early close 13:00
        (datetime(2023, 11, 24, 12, 59), "2023-11-22", []),  # Thanksgiving had no session
        (datetime(2023, 11, 25, 12, 0), "2023-11-24", []),  # Saturday
        (datetime(2023, 4, 7, 20, 0), "2023-04-06", []),  # Good Friday: NYSE closed
        (datetime(2023, 4, 10, 2, 0), "2023-04-05", ["2023-04-06"]),  # a missed Thursday
        # a long gap: the five latest sessions, older ones are a backfill's job
        (
            datetime(2023, 11, 22, 17, 0),
            "2023-11-01",
            ["2023-11-16", "2023-11-17", "2023-11-20", "2023-11-21", "2023-11-22"],
        ),
    ],
)
def test_market_close_sensor_requests_closed_sessions_after_they_settle(
    now: datetime, fetched: str, expected: list[str]
) -> None:
    result = market_close_decision(now, [fetched])
    if expected:
        assert requested_days(result) == expected
        assert [r.run_key for r in result.run_requests or []] == [
            f"market_close:{d}" for d in expected
        ]
    else:
        assert f"through {min(fetched, last_closed_session(now, SETTLE).isoformat())}" in (
            skipped(result)
        )


def edgar_client(server: LoopbackServer) -> EdgarClient:
    return EdgarClient(
        HttpEdgarTransport("Sensor Test s@example.com", server.url, server.url, 1000)
    )


INDEX = "Form Type   Company Name   CIK   Date Filed  File Name\n" + "-" * 40 + "\n"


def publish(root: Path, *days: date) -> None:
    for day in days:
        path = root / daily_index_path(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(INDEX)


def test_form4_sensor_waits_for_the_index_naming_day_and_url(tmp_path: Path) -> None:
    with LoopbackServer(tmp_path) as server:
        client = edgar_client(server)
        evening = datetime(2023, 11, 22, 20, 0)
        reason = skipped(form4_index_decision(evening, ["2023-11-21"], client))
        assert "insider_trades 2023-11-22" in reason
        assert f"{server.url}/Archives/edgar/daily-index/2023/QTR4/form.20231122.idx" in reason

        publish(tmp_path, date(2023, 11, 22))
        result = form4_index_decision(datetime(2023, 11, 23, 1, 0), ["2023-11-21"], client)
        assert requested_days(result) == ["2023-11-22"]
        assert [r.run_key for r in result.run_requests or []] == ["insider_trades:2023-11-22"]
        # fetched: nothing more to do
        assert "through 2023-11-22" in skipped(
            form4_index_decision(datetime(2023, 11, 23, 2, 0), ["2023-11-22"], client)
        )


def test_form4_sensor_reads_edgar_days_not_exchange_days(tmp_path: Path) -> None:
    """Monday 2023-04-10 needs Good Friday's index (EDGAR open, NYSE closed) and its own;
    Columbus Day 2023-10-09 (NYSE open, EDGAR closed) needs none and is requested at once."""
    with LoopbackServer(tmp_path) as server:
        client = edgar_client(server)
        publish(tmp_path, date(2023, 4, 10))
        reason = skipped(form4_index_decision(datetime(2023, 4, 10, 23, 0), ["2023-04-06"], client))
        assert "daily index of 2023-04-07" in reason
        publish(tmp_path, date(2023, 4, 7))
        result = form4_index_decision(datetime(2023, 4, 10, 23, 0), ["2023-04-06"], client)
        assert requested_days(result) == ["2023-04-10"]

        before = len(server.requests)
        columbus = form4_index_decision(datetime(2023, 10, 9, 17, 0), ["2023-10-06"], client)
        assert requested_days(columbus) == ["2023-10-09"]
        assert len(server.requests) == before  # no index to wait for


def test_trading_day_partitions_exist_from_their_own_midnight() -> None:
    """end_offset=1: session D's partition exists during D's evening, D+1's does not."""
    evening = datetime(2023, 11, 22, 17, 0, tzinfo=NEW_YORK)
    with dg.partition_loading_context(effective_dt=evening):
        keys = trading_day_partitions.get_partition_keys()
    assert keys[-1] == "2023-11-22"
