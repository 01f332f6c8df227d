"""Each blocking check of ``trade_proposals`` fails for a crafted proposal that breaks its
limit — that check alone — and a proposal with a failed check is never approvable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.trading import trading_defs
from investor_mimic.defs.trading.checks import CHECK_NAMES, proposal_approvable
from investor_mimic_tests.helpers.dagster import check_results, use_settings
from investor_mimic_tests.helpers.portfolio import portfolio_frame
from investor_mimic_tests.helpers.trading import DAY, Market, make_market

#: 100,000 equity: 73,000 cash and three 9,000 positions at 100.
CASH = 73_000.0
HELD = [
    {"ticker": "AAA", "shares": 90, "price": 100.0, "sector": "Tech"},
    {"ticker": "BBB", "shares": 90, "price": 100.0, "sector": "Energy"},
    {"ticker": "CCC", "shares": 90, "price": 100.0, "sector": "Health"},
]
#: A trim and one new 8 % name: within every limit of the settings below.
BASE = [("sell", "CCC", 10, "Health"), ("buy", "DDD", 80, "Retail")]
SETTINGS = {
    "max_positions": "4",
    "max_position_pct": "0.10",
    "max_sector_pct": "0.15",
    "max_turnover": "0.2",
    "min_trade_value": "100",
    "commission_bps": "10",
    "slippage_bps": "10",
}
TEN_HELD = [{"ticker": f"H{i}", "shares": 95, "price": 100.0, "sector": f"S{i}"} for i in range(10)]

Order = tuple[str, str, float, str]
#: limit → (orders, held, cash, settings overrides): breaks that limit and no other
SCENARIOS: dict[str, tuple[Sequence[Order], list[dict[str, Any]], float, dict[str, str]]] = {
    "position_pct": ([BASE[0], ("buy", "DDD", 120, "Retail")], HELD, CASH, {}),
    "sector_pct": ([BASE[0], ("buy", "DDD", 80, "Tech")], HELD, CASH, {}),
    "position_count": ([*BASE, ("buy", "EEE", 50, "Media")], HELD, CASH, {}),
    "cash": ([("buy", "NEW", 80, "S99")], TEN_HELD, 5_000.0, {"max_positions": "11"}),
    "min_trade_value": (
        [*BASE, ("buy", "EEE", 0.5, "Media")],
        HELD,
        CASH,
        {"max_positions": "5", "fractional_shares": "true"},
    ),
    "turnover": (
        [("sell", "AAA", 90, "Tech"), ("sell", "BBB", 90, "Energy"), *BASE],
        HELD,
        CASH,
        {},
    ),
    "sells_within_holdings": ([("sell", "CCC", 91, "Health"), BASE[1]], HELD, CASH, {}),
    "whole_shares": ([BASE[0], ("buy", "DDD", 80.5, "Retail")], HELD, CASH, {}),
    "schema": ([BASE[0], ("BUY", "DDD", 80, "Retail")], HELD, CASH, {}),
}


def proposals(orders: Sequence[Order], held: list[dict[str, Any]]) -> pd.DataFrame:
    prices = {h["ticker"]: h["price"] for h in held}
    frame = pd.DataFrame(
        [
            {
                "date": pd.Timestamp(DAY),
                "ticker": ticker,
                "side": side,
                "shares": shares,
                "ref_price": prices.get(ticker, 100.0),
                "notional": shares * prices.get(ticker, 100.0),
                "score": 1.0,
                "target_weight": 0.08,
                "sector": sector,
                "reason": "entry",
            }
            for side, ticker, shares, sector in orders
        ]
    )
    return frames.coerce(frame, frames.TRADE_PROPOSALS)


def run_checks(
    market: Market, orders: pd.DataFrame, book: pd.DataFrame
) -> dg.ExecuteInProcessResult:
    """Materialize the crafted frames as ``trade_proposals`` and ``portfolio`` and run the
    project's real checks on them."""
    kw: dict[str, Any] = {
        "partitions_def": trading_day_partitions,
        "metadata": {"partition_expr": "date"},
    }

    @dg.asset(name="portfolio", **kw)
    def crafted_portfolio() -> pd.DataFrame:
        return book

    @dg.asset(name="trade_proposals", deps=["portfolio"], **kw)
    def crafted_proposals() -> pd.DataFrame:
        return orders

    return market.materialize(
        "portfolio",
        "trade_proposals",
        parts=[crafted_portfolio, crafted_proposals, *(trading_defs.asset_checks or [])],
    )


@pytest.fixture()
def market(request: pytest.FixtureRequest) -> Market:
    return make_market(request, n=5)


def failed_checks(result: dg.ExecuteInProcessResult) -> set[str]:
    return {k.split(".", 1)[1] for k, e in check_results(result).items() if not e.passed}


def test_the_crafted_base_proposal_passes_every_check(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, **SETTINGS)
    result = run_checks(market, proposals(BASE, HELD), portfolio_frame(DAY, CASH, HELD))
    assert result.success and failed_checks(result) == set()
    assert {k.split(".", 1)[1] for k in check_results(result)} == set(CHECK_NAMES)
    assert proposal_approvable(market.instance, DAY) == (True, [])


@pytest.mark.parametrize("limit", sorted(SCENARIOS))
def test_a_proposal_breaking_a_limit_fails_that_check_and_is_not_approvable(
    market: Market, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    orders, held, cash, overrides = SCENARIOS[limit]
    use_settings(monkeypatch, **(SETTINGS | overrides))
    result = run_checks(market, proposals(orders, held), portfolio_frame(DAY, cash, held))
    assert not result.success
    assert failed_checks(result) == {limit}
    ok, reasons = proposal_approvable(market.instance, DAY)
    assert not ok and f"check {limit} failed" in reasons


def test_every_check_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(CHECK_NAMES) - {"inputs_fresh_and_checked"}


def test_a_proposal_whose_checks_did_not_run_is_not_approvable(market: Market) -> None:
    @dg.asset(name="trade_proposals", partitions_def=trading_day_partitions)
    def unchecked() -> pd.DataFrame:
        return proposals(BASE, HELD)

    assert market.materialize("trade_proposals", parts=[unchecked]).success
    ok, reasons = proposal_approvable(market.instance, DAY)
    assert not ok and "check cash did not run with this proposal" in reasons
