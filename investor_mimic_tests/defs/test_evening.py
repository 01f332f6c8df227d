"""One simulated evening against the real publication times, over loopback services.

The deployment has run through D-1 (history loaded as the source assets load it, the
weights fitted by the pure chain). Then the evening of D = 2023-12-26 plays out on a
simulated clock: the two source sensors and the automation conditions are evaluated
at each moment as the daemon would, and every run they ask for is executed for real
(real EDGAR, alpaca-py and Alpha Vantage clients against the loopback services). EDGAR
publishes D's daily index only after midnight, Alpha Vantage throttles the first news
request; the graph must end with every asset of D materialized and equal to what the
pure code computes from the world's truth, and nothing of D+1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.core.calendar import previous_trading_day, trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.definitions import defs
from investor_mimic.defs.resources import asset_io_manager, build_resources
from investor_mimic.defs.sources.assets import insider_trades, news_sentiment, prices
from investor_mimic.defs.sources.sensors import (
    form4_index_decision,
    market_close_decision,
)
from investor_mimic.defs.trading.demo import pin_paper_clock
from investor_mimic.demo.manifest import load_manifest
from investor_mimic.demo.warehouse import RawTables, load_warehouse, panel_start, raw_tables
from investor_mimic.research.chain import factor_panel_for, targets_for, weight_schedule
from investor_mimic.research.composite import composite_scores
from investor_mimic.settings import get_settings
from investor_mimic.sources.backends import edgar_from_settings
from investor_mimic_tests.helpers.dagster import Sandbox, make_sandbox, use_settings
from investor_mimic_tests.helpers.evening import NEWS, WorldServices
from investor_mimic_tests.helpers.loopback import Answer

D = date(2023, 12, 26)  # Tuesday after Christmas: its Form 4s are the only ones since Friday
NEXT = date(2023, 12, 27)
EARLIER = previous_trading_day(D).isoformat()  # Friday 2023-12-22
DAILY = ["prices", "news_sentiment", "insider_trades", "factor_panel", "composite_score"]
TRADING = ["portfolio", "trade_proposals"]
PARTS = [*(defs.assets or []), *(defs.asset_checks or [])]
GRAPH = defs.resolve_asset_graph()


def before(tables: RawTables, day: date) -> RawTables:
    """The world's source frames as known through ``day`` (every row of a later day cut)."""
    cut = pd.Timestamp(day)
    return RawTables(
        universe=tables.universe,
        thirteenf_holdings=tables.thirteenf_holdings,
        insider_trades=tables.insider_trades[tables.insider_trades["known_date"] <= cut],
        prices=tables.prices[tables.prices["date"] <= cut],
        news_sentiment=tables.news_sentiment[tables.news_sentiment["trading_date"] <= cut],
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def aware(moment: datetime) -> datetime:
    return pd.Timestamp(moment).tz_localize("America/New_York").to_pydatetime()


class Evening:
    """The daemon's part: evaluate sensors and conditions at a moment, execute the runs."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.cursor = None
        self.runs: list[tuple[datetime, list[str], str | None]] = []

    def execute(self, moment: datetime, assets: Sequence[str], partition: str | None) -> None:
        result = dg.materialize(
            PARTS,
            selection=list(assets),
            partition_key=partition,
            resources=build_resources(),
            instance=self.box.instance,
            raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        self.runs.append((moment, sorted(assets), partition))

    def sensor(self, moment: datetime, decision: dg.SensorResult, assets: list[str]) -> str | None:
        """Execute what a sensor requested; its skip reason otherwise."""
        for request in decision.run_requests or []:
            self.execute(moment, assets, request.partition_key)
        skip = decision.skip_reason
        return skip.skip_message if skip is not None and not decision.run_requests else None

    def automation(self, moment: datetime) -> int:
        """Evaluate every condition once and execute what it asks for, upstream first
        (unpartitioned models in one run, then one run per partition); returns how many
        asset partitions were requested."""
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=self.box.instance, evaluation_time=aware(moment), cursor=self.cursor
        )
        self.cursor = result.cursor
        whole, by_day = [], dict[str, list[str]]()
        for key in GRAPH.toposorted_asset_keys:
            for partition in result.get_requested_partitions(key):
                name = key.to_user_string()
                if partition is None:
                    whole.append(name)
                else:
                    by_day.setdefault(partition, []).append(name)
        if whole:
            self.execute(moment, whole, None)
        for partition, names in sorted(by_day.items()):
            self.execute(moment, names, partition)
        return result.total_requested

    def settle(self, moment: datetime) -> None:
        """Tick the automation a minute apart until it asks for nothing more."""
        for tick in range(10):
            if not self.automation(moment + timedelta(minutes=tick)):
                return
        raise AssertionError("the automation never settled")


def materialized(box: Sandbox, name: str) -> set[str]:
    return set(box.instance.get_materialized_partitions(dg.AssetKey(name)))


def fetched(box: Sandbox, *assets: dg.AssetsDefinition) -> set[str]:
    sets = [materialized(box, a.key.to_user_string()) for a in assets]
    return set.intersection(*sets)


@pytest.fixture()
def deployment(request: pytest.FixtureRequest) -> tuple[Sandbox, WorldServices, RawTables]:
    """The sandbox on the loopback services, history through D-1 in the warehouse and
    the instance, the weights fitted on it, the paper broker's clock at D's evening."""
    box = make_sandbox(request, copy=False)
    world = box.world
    manifest = load_manifest(world)
    services = WorldServices(world).__enter__()
    request.addfinalizer(lambda: services.__exit__(None, None, None))
    use_settings(
        request.getfixturevalue("monkeypatch"),
        edgar_source="sec",
        edgar_identity="Evening Test evening@example.com",
        edgar_www_url=services.url,
        edgar_data_url=services.url,
        edgar_max_rps="1000",
        tracked_filers=json.dumps([f.cik for f in manifest.filers]),
        universe_path=str(world / "universe.csv"),
        prices_source="alpaca",
        alpaca_api_key="evening-key",
        alpaca_secret_key="evening-secret",
        alpaca_data_url=services.url,
        benchmark_ticker=manifest.benchmark_ticker,
        news_source="alphavantage",
        alphavantage_api_key="evening-av-key",
        alphavantage_url=f"{services.url}{NEWS}",
        alphavantage_rpm="6000",
        source_retry_seconds="0.05",
    )
    truth = raw_tables(world)
    load_warehouse(box.warehouse(), before(truth, previous_trading_day(D)))
    settings = get_settings()
    history = factor_panel_for(
        box.warehouse(), panel_start(manifest), previous_trading_day(D), manifest.benchmark_ticker
    )
    targets = targets_for(
        box.warehouse(), history, settings.horizon_days, manifest.benchmark_ticker
    )
    weights = weight_schedule(history, targets, settings.fit_method, settings.horizon_days)
    asset_io_manager(settings).write_asset(dg.AssetKey("factor_weights"), weights)
    recent = [
        d.date().isoformat() for d in trading_days(D - timedelta(days=10), previous_trading_day(D))
    ]
    assert dg.materialize(
        PARTS, selection=["universe"], resources=build_resources(), instance=box.instance
    ).success
    unpartitioned = ["factor_weights"] + [
        k.to_user_string()
        for k in GRAPH.get_all_asset_keys()
        if GRAPH.get(k).group_name == "sql_models"
    ]
    for name in unpartitioned:
        box.instance.report_runless_asset_event(dg.AssetMaterialization(name))
    for name in [*DAILY, *TRADING]:
        for day in recent:
            box.instance.report_runless_asset_event(dg.AssetMaterialization(name, partition=day))
    pin_paper_clock(settings, D)
    return box, services, truth


def test_an_evening_completes_when_edgar_is_late_and_alpha_vantage_throttles(
    deployment: tuple[Sandbox, WorldServices, RawTables],
) -> None:
    box, services, truth = deployment
    evening = Evening(box)
    client = edgar_from_settings(get_settings()).client
    services.hold_index(D)

    def market(moment: datetime) -> str | None:
        return evening.sensor(
            moment,
            market_close_decision(moment, fetched(box, prices, news_sentiment)),
            ["prices", "news_sentiment"],
        )

    def form4(moment: datetime) -> str | None:
        return evening.sensor(
            moment,
            form4_index_decision(moment, fetched(box, insider_trades), client),
            ["insider_trades"],
        )

    # 15:00, before the close: nothing is due, nothing runs
    assert f"through {EARLIER}" in (market(at(D, 15)) or "")
    assert f"through {EARLIER}" in (form4(at(D, 15)) or "")
    assert evening.automation(at(D, 15)) == 0

    # 16:05: closed, but the bars have not settled
    assert market(at(D, 16, 5)) is not None

    # 16:20: bars and news; Alpha Vantage throttles the first request, the step retries
    services.queue(
        NEWS, Answer(200, {"Note": "Thank you for using Alpha Vantage! 5 calls per minute"})
    )
    assert market(at(D, 16, 20)) is None
    assert len(services.news_requests()) == 2
    assert materialized(box, "prices") >= {D.isoformat()}
    # EDGAR has not published D's index: the sensor says so, naming the day and URL
    reason = form4(at(D, 16, 20)) or ""
    assert "2023-12-26" in reason and "form.20231226.idx" in reason and services.url in reason
    # the panel waits for D's Form 4s: the automation asks for nothing
    evening.settle(at(D, 16, 25))
    assert D.isoformat() not in materialized(box, "factor_panel")
    assert "form.20231226.idx" in (form4(at(D, 23)) or "")

    # 02:00 on D+1 EDGAR has published: Form 4s, then everything downstream of them
    services.release_index(D)
    assert form4(at(NEXT, 2)) is None
    assert market(at(NEXT, 2)) is not None  # D+1 has not closed
    evening.settle(at(NEXT, 2, 5))

    for name in ["factor_panel", "composite_score", *TRADING]:  # once, with final inputs
        assert sum(name in assets for _, assets, _ in evening.runs) == 1, evening.runs
    for name in [*DAILY, *TRADING]:
        done = materialized(box, name)
        assert D.isoformat() in done, name
        assert NEXT.isoformat() not in done, name
    downstream = dg.AssetSelection.assets("insider_trades").downstream().resolve(GRAPH)
    sql_models = [k for k in downstream if GRAPH.get(k).group_name == "sql_models"]
    assert sql_models
    insider_at = box.instance.get_latest_materialization_event(dg.AssetKey("insider_trades"))
    for key in sql_models:
        event = box.instance.get_latest_materialization_event(key)
        assert event is not None and insider_at is not None
        assert event.timestamp >= insider_at.timestamp, key

    # correct: D's rows are the world's truth, the panel and score what the pure code computes
    io = asset_io_manager(get_settings())
    day = pd.Timestamp(D)
    for name, column in [
        ("prices", "date"),
        ("news_sentiment", "trading_date"),
        ("insider_trades", "known_date"),
    ]:
        stored = io.read_asset(dg.AssetKey(name), D.isoformat())
        expected = getattr(truth, name)
        expected = expected[expected[column] == day]
        key = sorted(set(stored.columns) & set(expected.columns))
        assert len(stored) == len(expected) > 0, name
        pd.testing.assert_frame_equal(
            stored[key].sort_values(key).reset_index(drop=True),
            expected[key].sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )
    reference = Warehouse(f"sqlite:///{box.data_dir / 'reference.db'}")
    load_warehouse(reference, before(truth, D))
    bench = load_manifest(box.world).benchmark_ticker
    panel = factor_panel_for(reference, D, D, bench)
    stored_panel = io.read_asset(dg.AssetKey("factor_panel"), D.isoformat())
    exact = {"check_dtype": False, "check_exact": True}  # Parquet reads strings back typed
    pd.testing.assert_frame_equal(
        stored_panel.reset_index(drop=True), panel.reset_index(drop=True), **exact
    )
    weights = io.read_asset(dg.AssetKey("factor_weights"))
    pd.testing.assert_frame_equal(
        io.read_asset(dg.AssetKey("composite_score"), D.isoformat()).reset_index(drop=True),
        composite_scores(panel, weights).reset_index(drop=True),
        **exact,
    )
    news_meta = box.instance.get_latest_materialization_event(dg.AssetKey("news_sentiment"))
    assert news_meta is not None and news_meta.asset_materialization is not None
    meta = news_meta.asset_materialization.metadata
    assert meta["requests"].value == 1 and meta["complete"].value is True
    assert 0 < meta["tickers_with_news"].value <= meta["universe_size"].value == 40
