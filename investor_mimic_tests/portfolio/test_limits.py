"""Every limit, broken on purpose by a crafted book, fails — and only that limit."""

from __future__ import annotations

import pytest

from investor_mimic.portfolio import limits
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.portfolio import book

RULES = TradingSettings(
    max_positions=4,
    max_position_pct=0.10,
    max_sector_pct=0.25,
    min_trade_value=100.0,
    max_turnover=0.2,
    commission_bps=10.0,
    slippage_bps=10.0,
)

# 100,000 equity: 73,000 cash + three 9,000 positions at price 100 in three sectors
CASH = 73_000.0
HELD = [
    {"ticker": "AAA", "sector": "Tech", "held": 90, "trade": 0},
    {"ticker": "BBB", "sector": "Energy", "held": 90, "trade": 0},
    {"ticker": "CCC", "sector": "Health", "held": 90, "trade": -10},
]


def clean_rows() -> list[dict[str, object]]:
    """One trim and one new 8 % name: within every limit of RULES."""
    return [*HELD, {"ticker": "DDD", "sector": "Retail", "held": 0, "trade": 80}]


def failing(rows: list[dict[str, object]], cash: float = CASH) -> set[str]:
    return {n for n, r in limits.check_all(book(rows, cash), RULES).items() if not r.passed}


def test_the_clean_book_passes_every_limit() -> None:
    assert failing(clean_rows()) == set()


def test_position_pct_fails_for_a_buy_above_the_cap() -> None:
    rows = clean_rows()
    rows[3] = {**rows[3], "trade": 120}  # 12 % of equity
    result = limits.position_pct(book(rows, CASH), RULES)
    assert not result.passed and result.offenders == ("DDD",)
    assert result.value == pytest.approx(0.12)
    assert failing(rows) == {"position_pct"}


def test_position_pct_ignores_drift_of_a_name_not_bought() -> None:
    rows = [{"ticker": "AAA", "sector": "Tech", "held": 150, "trade": 0}]  # 15 %, no trade
    assert limits.position_pct(book(rows, 85_000.0), RULES).passed


def test_sector_pct_fails_when_a_buy_lifts_its_sector_above_the_cap() -> None:
    rows = clean_rows()
    rows[3] = {**rows[3], "sector": "Tech"}  # Tech: AAA 9 % + DDD 8 % = 17 %: fine
    assert failing(rows) == set()
    rows.append({"ticker": "EEE", "sector": "Tech", "held": 0, "trade": 90})  # Tech 26 %
    rules = RULES.model_copy(update={"max_positions": 5})
    results = limits.check_all(book(rows, CASH), rules)
    assert {n for n, r in results.items() if not r.passed} == {"sector_pct"}
    assert set(results["sector_pct"].offenders) == {"DDD", "EEE"}


def test_position_count_fails_when_opening_beyond_the_maximum() -> None:
    rows = clean_rows()
    rows.append({"ticker": "EEE", "sector": "Media", "held": 0, "trade": 50})  # 5 names
    assert failing(rows) == {"position_count"}
    rows[0] = {**rows[0], "trade": -90}  # AAA sold whole: 4 names at the end
    wider = RULES.model_copy(update={"max_turnover": 0.3})
    assert all(r.passed for r in limits.check_all(book(rows, CASH), wider).values())


def test_cash_fails_when_buys_need_more_than_cash_and_sales() -> None:
    # ten names at 9.5 % and 5 % cash; buying 8 % more needs cash that is not there
    rows: list[dict[str, object]] = [
        {"ticker": f"H{i}", "sector": f"S{i}", "held": 95, "trade": 0} for i in range(10)
    ]
    rows.append({"ticker": "NEW", "sector": "S99", "held": 0, "trade": 80})
    rules = RULES.model_copy(update={"max_positions": 11})
    results = limits.check_all(book(rows, 5_000.0), rules)
    assert {n for n, r in results.items() if not r.passed} == {"cash"}
    assert results["cash"].value < 0 and results["cash"].offenders == ("NEW",)


def test_cash_counts_costs() -> None:
    """8,000 of stock costs 8,016.02 with 10 bps slippage and 10 bps commission."""
    rows = [{"ticker": "DDD", "sector": "Retail", "held": 0, "trade": 80}]
    assert not limits.cash(book(rows, 8_010.0), RULES).passed
    assert limits.cash(book(rows, 8_016.02), RULES).passed


def test_min_trade_value_fails_for_a_small_order() -> None:
    rows = clean_rows()
    rows.append({"ticker": "EEE", "sector": "Retail", "held": 0, "trade": 0.5, "price": 100})
    rules = RULES.model_copy(update={"max_positions": 5, "fractional_shares": True})
    results = limits.check_all(book(rows, CASH), rules)
    assert {n for n, r in results.items() if not r.passed} == {"min_trade_value"}
    assert results["min_trade_value"].offenders == ("EEE",)


def test_turnover_fails_above_the_cap_but_stop_exits_do_not_count() -> None:
    rows = clean_rows()
    rows[0] = {**rows[0], "trade": -90}
    rows[1] = {**rows[1], "trade": -90}  # 9,000 + 9,000 + 1,000 + 8,000 traded = 27 %
    assert failing(rows) == {"turnover"}
    rows[0] = {**rows[0], "reason": "stop_loss"}
    rows[1] = {**rows[1], "reason": "stop_loss"}
    assert failing(rows) == set()


def test_sells_within_holdings_fails_for_a_short() -> None:
    rows = clean_rows()
    rows[0] = {**rows[0], "trade": -91}
    assert "sells_within_holdings" in failing(rows)


def test_whole_shares_fails_for_fractional_orders_unless_allowed() -> None:
    rows = clean_rows()
    rows[3] = {**rows[3], "trade": 80.5}
    assert failing(rows) == {"whole_shares"}
    frac = RULES.model_copy(update={"fractional_shares": True})
    assert all(r.passed for r in limits.check_all(book(rows, CASH), frac).values())


def test_whole_shares_allows_closing_a_fractional_position() -> None:
    rows = [{"ticker": "AAA", "held": 10.5, "trade": -10.5}]
    assert limits.whole_shares(book(rows, 0.0), RULES).passed


def test_per_order_blames_only_the_offending_order() -> None:
    rows = clean_rows()
    rows[3] = {**rows[3], "trade": 120}
    b = book(rows, CASH)
    per = limits.per_order(b, limits.check_all(b, RULES))
    assert per["DDD"]["position_pct"] is False
    assert per["CCC"]["position_pct"] is True
    assert all(per["CCC"].values())
