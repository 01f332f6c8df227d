"""A Dagster instance on PostgreSQL (what staging runs), with the warehouse there too.

The instance is built the way deployments build it: :func:`prepare_home` writes a
``dagster.yaml`` naming ``IM_DAGSTER_PG_URL``, and ``DagsterInstance.from_config`` reads
it. Everything is then read back through a *second* instance on the same home, so the
assertions see what PostgreSQL stored, not what one process kept in memory.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.instance import PG_URL_ENV, prepare_home
from investor_mimic_tests.helpers.dagster import Sandbox, make_sandbox, original_13f, use_settings

DAYS = ("2022-03-07", "2022-03-08", "2022-03-09", "2022-03-10", "2022-03-11")
DAILY = ("insider_trades", "prices", "news_sentiment")


@pytest.mark.postgres
def test_runs_checks_and_warehouse_live_in_postgres(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    box = make_sandbox(request, copy=False)
    use_settings(monkeypatch, warehouse_url=pg_url)
    monkeypatch.setenv(PG_URL_ENV, pg_url)
    home = prepare_home(tmp_path / "dagster_home", postgres=True)
    assert pg_url not in (home / "dagster.yaml").read_text()  # the secret stays in the env
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"] == {"postgres": {"postgres_url": {"env": PG_URL_ENV}}}
    instance = dg.DagsterInstance.from_config(str(home))
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

    box = Sandbox(box.data_dir, instance)
    cik, period, accession = original_13f(box.world)
    box.add_filers(cik)
    holdings_key = dg.MultiPartitionKey({"quarter": period, "filer": cik})
    assert box.materialize("universe").success
    assert box.materialize("thirteenf_holdings", partition=holdings_key).success
    daily = box.materialize(*DAILY, day_range=(DAYS[0], DAYS[-1]))
    assert daily.success

    reader = dg.DagsterInstance.from_config(str(home))
    assert len(reader.get_runs()) == 3
    assert reader.get_run_by_id(daily.run_id).is_success  # type: ignore[union-attr]
    assert reader.get_dynamic_partitions("filers") == [cik]
    for asset in DAILY:
        key = dg.AssetKey(asset)
        assert reader.get_materialized_partitions(key) == set(DAYS)
        event = reader.get_latest_materialization_event(key)
        assert event is not None and event.run_id == daily.run_id
        for check in ("contract", "fresh") if asset == "prices" else ("contract",):
            record = reader.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(key, check)]
            )[dg.AssetCheckKey(key, check)]
            assert record.run_id == daily.run_id
            evaluation = record.evaluation
            assert evaluation is not None and evaluation.passed
    assert reader.get_materialized_partitions(dg.AssetKey("thirteenf_holdings")) == {holdings_key}
    cover = reader.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("thirteenf_holdings"), "cover_totals")]
    )
    assert all(r.evaluation and r.evaluation.passed for r in cover.values()) and cover

    warehouse = Warehouse(pg_url)
    assert warehouse.dialect == "postgresql"
    prices = warehouse.read("SELECT date, ticker FROM raw_prices")
    assert sorted(prices["date"].dt.strftime("%Y-%m-%d").unique()) == list(DAYS)
    latest = reader.get_latest_materialization_event(dg.AssetKey("prices"))
    assert latest is not None and latest.asset_materialization is not None
    meta, day = latest.asset_materialization.metadata, latest.asset_materialization.partition
    assert meta["run_rows"].value == len(prices)  # the range's rows; the day's own below
    assert meta["dagster/row_count"].value == (prices["date"].dt.strftime("%Y-%m-%d") == day).sum()
    holdings = warehouse.read("SELECT accession FROM raw_thirteenf_holdings")
    assert set(holdings["accession"]) == {accession}
