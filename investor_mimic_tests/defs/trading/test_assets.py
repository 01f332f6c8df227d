"""The trading assets on a crafted market: proposals, the portfolio, freshness, point-in-time."""

from __future__ import annotations

from datetime import date, time

import pandas as pd
import pytest

from investor_mimic.broker.models import OrderRequest, client_order_id
from investor_mimic.core import frames
from investor_mimic.defs.trading.checks import CHECK_NAMES, proposal_approvable
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.dagster import check_results, failure_message, materialized
from investor_mimic_tests.helpers.trading import DAY, NEXT, Market, make_market


@pytest.fixture()
def market(request: pytest.FixtureRequest) -> Market:
    return make_market(request)


def failed_steps(result) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(e.step_key for e in result.get_step_failure_events())


def stored(market: Market, asset: str, day: date = DAY) -> pd.DataFrame:
    return pd.read_parquet(market.asset_file(asset, day))


def test_a_fresh_day_proposes_orders_and_every_check_passes(market: Market) -> None:
    result = market.materialize("portfolio", "trade_proposals")
    assert result.success
    assert materialized(result) == {
        "portfolio": [DAY.isoformat()],
        "trade_proposals": [DAY.isoformat()],
    }
    checks = check_results(result)
    assert {k.split(".", 1)[1] for k in checks if k.startswith("trade_proposals.")} == set(
        CHECK_NAMES
    )
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}

    orders = stored(market, "trade_proposals")
    assert frames.schema_problems(orders, frames.TRADE_PROPOSALS) == []
    rules = get_settings().trading
    assert len(orders) == rules.max_positions and set(orders["side"]) == {"buy"}
    closes = market.bars[market.bars["date"] == pd.Timestamp(DAY)].set_index("ticker")["close"]
    assert orders["ref_price"].tolist() == closes.loc[orders["ticker"]].tolist()

    meta = result.asset_materializations_for_node("trade_proposals")[0].metadata
    assert "| buy" in str(meta["orders"].value)
    assert str(meta["target_weights"].value).startswith("![target weights](data:image/png;base64,")
    assert meta["buys"].value == rules.max_positions
    pmeta = result.asset_materializations_for_node("portfolio")[0].metadata
    assert pmeta["equity"].value == rules.paper_initial_cash == pmeta["cash"].value
    assert (pmeta["positions"].value, pmeta["trades"].value) == (0, 0)
    assert proposal_approvable(market.instance, DAY) == (True, [])


def test_orders_proposed_for_d_fill_at_the_next_open(market: Market) -> None:
    assert market.materialize("portfolio", "trade_proposals").success
    orders = stored(market, "trade_proposals")
    broker = market.broker()
    for row in orders.itertuples():
        broker.submit(
            OrderRequest(
                client_order_id("req", row.ticker, row.side), row.ticker, row.side, row.shares
            )
        )
    opens = market.bars[market.bars["date"] == pd.Timestamp(NEXT)].set_index("ticker")["open"]
    slip = 1 + get_settings().trading.slippage_bps / 1e4
    fills = broker.fills(NEXT, NEXT)
    assert len(fills) == len(orders)
    for fill in fills:
        assert fill.filled_at.date() == NEXT
        assert fill.price == pytest.approx(opens[fill.ticker] * slip)


def test_the_next_day_values_the_fills_and_counts_the_trades(market: Market) -> None:
    assert market.materialize("portfolio", "trade_proposals").success
    broker = market.broker()
    for row in stored(market, "trade_proposals").itertuples():
        broker.submit(OrderRequest(f"x-{row.ticker}", row.ticker, row.side, row.shares))
    market.write_partition("composite_score", market.scores(NEXT), NEXT)
    market.write_partition("factor_panel", market.panel(NEXT), NEXT)
    market.pin(NEXT)
    result = market.materialize("portfolio", day=NEXT)
    assert result.success
    meta = result.asset_materializations_for_node("portfolio")[0].metadata
    frame = stored(market, "portfolio", NEXT)
    assert meta["positions"].value == 10 and meta["trades"].value == 10
    closes = market.bars[market.bars["date"] == pd.Timestamp(NEXT)].set_index("ticker")["close"]
    stocks = frame[frame["asset_class"] == "stock"]
    assert stocks["price"].tolist() == closes.loc[stocks["ticker"]].tolist()
    assert meta["equity"].value == pytest.approx(frame["market_value"].sum())
    assert meta["daily_pnl"].value == pytest.approx(meta["equity"].value - 100_000.0)
    assert 0.9 < meta["exposure"].value < 1.0


def test_a_stale_score_proposes_nothing(market: Market) -> None:
    assert market.materialize("portfolio").success
    market.pin(NEXT, time(10, 0))  # the next session is open: D's orders would miss its open
    result = market.materialize("trade_proposals")
    assert materialized(result) == {"trade_proposals": [DAY.isoformat()]}  # ran, proposed nothing
    assert stored(market, "trade_proposals").empty
    assert failed_steps(result) == ["trade_proposals_inputs_fresh_and_checked"]
    checks = check_results(result)
    failed = {k for k, e in checks.items() if not e.passed}
    assert failed == {"trade_proposals.inputs_fresh_and_checked"}
    assert "stale score" in str(checks["trade_proposals.inputs_fresh_and_checked"].description)
    ok, reasons = proposal_approvable(market.instance, DAY)
    assert not ok and any("stale score" in r for r in reasons)


def test_the_portfolio_refuses_a_day_that_is_not_the_brokers_now(market: Market) -> None:
    market.pin(date(2024, 6, 10))
    result = market.materialize("portfolio", "trade_proposals")
    assert not result.success
    assert "snapshot of the broker" in failure_message(result)
    assert "trade_proposals" not in materialized(result)


def test_a_day_without_a_score_proposes_nothing(market: Market) -> None:
    market.write_partition("composite_score", market.scores().iloc[0:0])
    result = market.materialize("portfolio", "trade_proposals")
    assert stored(market, "trade_proposals").empty
    assert not check_results(result)["trade_proposals.inputs_fresh_and_checked"].passed
    assert not proposal_approvable(market.instance, DAY)[0]


@pytest.mark.parametrize("one_run_for_two_days", [False, True])
def test_a_failed_blocking_check_of_the_score_proposes_nothing(
    market: Market, one_run_for_two_days: bool
) -> None:
    """Also when the score came from a range run: Dagster then records the check once for
    the whole range, not per day."""
    import dagster as dg

    from investor_mimic.core.calendar import previous_trading_day
    from investor_mimic.defs.partitions import trading_day_partitions
    from investor_mimic.defs.scoring.assets import composite_score_valid

    bad = market.scores()
    bad.loc[0, "score"] = float("nan")
    before = previous_trading_day(DAY)
    if one_run_for_two_days:
        bad = pd.concat([market.scores(before), bad], ignore_index=True)

    @dg.asset(
        name="composite_score",
        partitions_def=trading_day_partitions,
        metadata={"partition_expr": "date"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def scored_with_a_hole() -> pd.DataFrame:
        return bad

    checked = market.materialize(
        "composite_score",
        parts=[scored_with_a_hole, composite_score_valid],
        day_range=(before, DAY) if one_run_for_two_days else None,
    )
    assert not check_results(checked)["composite_score.composite_score_valid"].passed

    result = market.materialize("portfolio", "trade_proposals")
    assert stored(market, "trade_proposals").empty
    why = check_results(result)["trade_proposals.inputs_fresh_and_checked"].description
    assert "composite_score_valid" in str(why)
    assert not proposal_approvable(market.instance, DAY)[0]


def test_proposals_for_d_ignore_everything_after_d(
    market: Market, request: pytest.FixtureRequest
) -> None:
    assert market.materialize("portfolio", "trade_proposals").success
    base = stored(market, "trade_proposals")
    later = market.bars["date"] > pd.Timestamp(DAY)
    perturbed = market.bars.copy()
    perturbed.loc[later, ["open", "high", "low", "close"]] *= 1.7
    perturbed.loc[later, "volume"] = 1.0
    market.warehouse().replace_rows("raw_prices", perturbed, {})
    market.write_partition("composite_score", market.scores(NEXT, seed=9), NEXT)
    market.write_partition("factor_panel", market.panel(NEXT), NEXT)
    assert market.materialize("portfolio", "trade_proposals").success
    pd.testing.assert_frame_equal(stored(market, "trade_proposals"), base)
