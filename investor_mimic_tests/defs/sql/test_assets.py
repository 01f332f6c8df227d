"""The Dagster layer: model assets and YAML-test checks materialized against SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from investor_mimic import sql as sm
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.defs.sql.assets import GROUP, sql_model_defs
from investor_mimic_tests.helpers.paths import SQL_PROJECT_DIR
from investor_mimic_tests.helpers.sql_rows import (
    holdings_frame,
    insider_rows,
    load_raw,
    thirteenf_rows,
    trade,
    trades_frame,
)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return sql_model_defs()


def parts(defs: dg.Definitions) -> list[Any]:
    """The assets and checks of a Definitions object, as ``dg.materialize`` takes them."""
    return [*(defs.assets or []), *(defs.asset_checks or [])]


def materialize(defs: dg.Definitions, wh: Warehouse) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        parts(defs), resources={"warehouse": WarehouseResource(url=wh.url)}, raise_on_error=False
    )


def key_name(key: dg.AssetKey | None) -> str:
    assert key is not None
    return key.to_user_string()


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        f"{e.asset_key.to_user_string()}.{e.check_name}": e
        for e in result.get_asset_check_evaluations()
    }


def test_assets_carry_deps_group_kinds_and_checks(defs: dg.Definitions) -> None:
    full = dg.Definitions.merge(
        defs, dg.Definitions(resources={"warehouse": WarehouseResource(url="sqlite://")})
    )
    dg.Definitions.validate_loadable(full)
    graph = full.resolve_asset_graph()
    key = dg.AssetKey("insider_net_buying_daily")
    node = graph.get(key)
    assert node.parent_keys == {dg.AssetKey("stg_insider_open_market")}
    assert graph.get(dg.AssetKey("stg_thirteenf_holdings_pit")).parent_keys == {
        dg.AssetKey("thirteenf_holdings")
    }
    assert node.group_name == GROUP and node.kinds == {"sql", "sqlite"}  # technology, storage
    assert "opportunistic" in (node.description or "")
    check_keys = {k.name for k in graph.asset_check_keys if k.asset_key == key}
    assert check_keys == {
        "unique_combination_of_columns",
        "not_null_ticker",
        "not_null_known_date",
        "not_null_n_buyers",
        "not_null_n_sellers",
    }
    # blocking follows the YAML severity
    specs = {
        s.key.name: s
        for a in parts(defs)
        if isinstance(a, dg.AssetChecksDefinition)
        for s in a.check_specs
        if s.asset_key == dg.AssetKey("stg_insider_open_market")
    }
    assert specs["unique_combination_of_columns"].blocking
    assert not specs["not_null_price"].blocking
    assert dg.AssetKey("universe") in {
        d.asset_key for d in specs["relationships_ticker"].additional_deps
    }


def test_materialize_runs_models_and_checks_pass(defs: dg.Definitions, tmp_path: Path) -> None:
    wh = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    load_raw(
        wh,
        thirteenf_holdings=holdings_frame(thirteenf_rows()),
        insider_trades=trades_frame(insider_rows()),
    )
    result = materialize(defs, wh)
    assert result.success
    project = sm.load_project(SQL_PROJECT_DIR)
    mats = {
        key_name(m.asset_key): m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    assert set(mats) == set(project.models)
    for name, meta in mats.items():
        assert meta["dagster/row_count"].value == len(sm.read_model(wh, project, name)) > 0
        assert meta["dialect"].value == "sqlite"
        sql = str(meta["sql"].value)
        assert "```sql" in sql and "{{" not in sql
    evals = checks(result)
    expected = {f"{m}.{t.name}" for m in project.models for t in project.model(m).tests}
    assert set(evals) == expected
    assert all(e.passed for e in evals.values()), [k for k, e in evals.items() if not e.passed]


def test_bad_raw_row_fails_its_check_and_blocks_downstream(
    defs: dg.Definitions, tmp_path: Path
) -> None:
    wh = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    # The raw table's primary key refuses a repeated (accession, line) at load time; the
    # model's blocking check is the second line of defence for a table written without
    # it (an older release, a hand load): strip the key to reach that line.
    wh.execute("CREATE TABLE loose AS SELECT * FROM raw_insider_trades")
    wh.execute("DROP TABLE raw_insider_trades")
    wh.execute("ALTER TABLE loose RENAME TO raw_insider_trades")
    rows = insider_rows()
    rows.append(dict(rows[-1]))  # the same (accession, line) twice
    rows.append(trade("N1", "2024-05-01", "P", 10, 1.0) | {"price": None})
    load_raw(wh, insider_trades=trades_frame(rows))
    result = materialize(defs, wh)
    evals = checks(result)
    dup = evals["stg_insider_open_market.unique_combination_of_columns"]
    assert not dup.passed and dup.severity == dg.AssetCheckSeverity.ERROR
    assert dup.metadata["failing_rows"].value == 1
    assert "T6" in str(dup.metadata["sample"].value)  # the duplicated accession is shown
    price = evals["stg_insider_open_market.not_null_price"]
    assert not price.passed and price.severity == dg.AssetCheckSeverity.WARN
    # the blocking failure stops the downstream model; the 13F branch is unaffected
    done = {key_name(m.asset_key) for m in result.get_asset_materialization_events()}
    assert "stg_insider_open_market" in done
    assert "insider_net_buying_daily" not in done
    assert "thirteenf_position_changes" in done


def test_missing_source_table_fails_the_model_step(defs: dg.Definitions, tmp_path: Path) -> None:
    wh = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    wh.execute("DROP TABLE raw_thirteenf_holdings")  # the migrations created it
    result = dg.materialize(
        [
            a
            for a in parts(defs)
            if isinstance(a, dg.AssetsDefinition)
            and dg.AssetKey("stg_thirteenf_holdings_pit") in a.keys
        ],
        resources={"warehouse": WarehouseResource(url=wh.url)},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "source table raw_thirteenf_holdings is missing" in str(failure.step_failure_data.error)
