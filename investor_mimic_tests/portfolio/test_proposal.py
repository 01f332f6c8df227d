"""``propose``: targets from the composite, stops, and orders that keep every limit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from investor_mimic.core import frames
from investor_mimic.portfolio import limits
from investor_mimic.portfolio.proposal import propose
from investor_mimic.portfolio.state import Holding, PortfolioState
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.portfolio import cross_section

RULES = TradingSettings()


def all_pass(proposal, rules: TradingSettings) -> None:  # type: ignore[no-untyped-def]
    failed = {n: r.detail for n, r in proposal.limit_results(rules).items() if not r.passed}
    assert not failed, failed


def test_a_fresh_book_buys_the_top_names_equally_in_whole_shares() -> None:
    cs = cross_section(n=200, sectors=20)
    proposal = propose(cs, PortfolioState(100_000.0), RULES, rebalance=True)
    orders = proposal.orders()
    assert frames.schema_problems(orders, frames.TRADE_PROPOSALS) == []
    assert len(orders) == RULES.max_positions and set(orders["side"]) == {"buy"}
    assert set(orders["reason"]) == {"entry"}
    cutoff = np.quantile(cs.score, RULES.signal_threshold)
    assert (orders["score"] >= cutoff).all()
    best = set(cs.tickers[np.argsort(-cs.score)[: RULES.max_positions]])
    assert set(orders["ticker"]) == best  # 20 sectors: the sector cap does not bind
    assert np.allclose(orders["target_weight"], 0.095)
    assert (orders["shares"] == orders["shares"].round()).all()
    assert (orders["notional"] <= 0.095 * 100_000 + 1e-9).all()
    assert (orders["notional"] > 0.095 * 100_000 - orders["ref_price"]).all()  # floor only
    all_pass(proposal, RULES)


def test_nothing_below_the_signal_threshold_is_bought() -> None:
    cs = cross_section(n=20)
    rules = TradingSettings(signal_threshold=0.9, max_positions=10)
    orders = propose(cs, PortfolioState(100_000.0), rules, rebalance=True).orders()
    assert len(orders) == 2  # the top 10 % of 20 names


def test_the_sector_limit_shapes_the_selection() -> None:
    cs = cross_section(n=60, sectors=6)
    score = cs.score.copy()
    score[cs.sector == "S0"] += 10  # every S0 name outranks every other name
    cs = replace(cs, score=score)
    orders = propose(cs, PortfolioState(100_000.0), RULES, rebalance=True).orders()
    assert len(orders) == RULES.max_positions
    assert (orders["sector"] == "S0").sum() == 3  # 3 x 9.5 % <= 30 % < 4 x 9.5 %


def test_sells_come_before_buys_and_exits_are_whole() -> None:
    cs = cross_section(n=100)
    worst = cs.tickers[np.argsort(cs.score)[:3]]
    held = {t: Holding(50, float(cs.price[cs.position(t)])) for t in worst}  # type: ignore[index]
    proposal = propose(cs, PortfolioState(50_000.0, held), RULES, rebalance=True)
    orders = proposal.orders()
    sides = orders["side"].tolist()
    assert sides == sorted(sides, key=lambda s: s != "sell") and sides[0] == "sell"
    exits = orders[orders["side"] == "sell"]
    assert set(exits["ticker"]) == set(worst) and (exits["shares"] == 50).all()
    assert set(exits["reason"]) == {"exit"} and (exits["target_weight"] == 0).all()
    all_pass(proposal, RULES)


def test_stop_loss_exits_on_any_day_and_the_name_is_not_bought_back() -> None:
    cs = cross_section(n=100)
    top = str(cs.tickers[np.argmax(cs.score)])
    price = float(cs.price[cs.position(top)])  # type: ignore[index]
    loser = {top: Holding(40, price / 0.79)}  # 21 % below entry
    for rebalance in (False, True):
        orders = propose(cs, PortfolioState(10_000.0, loser), RULES, rebalance).orders()
        sale = orders[orders["ticker"] == top]
        assert sale[["side", "shares", "reason"]].values.tolist() == [["sell", 40.0, "stop_loss"]]
    still = {top: Holding(40, price / 0.81)}  # 19 % below: kept on a non-rebalance day
    assert propose(cs, PortfolioState(10_000.0, still), RULES, False).orders().empty


def test_take_profit_is_off_by_default_and_fires_when_set() -> None:
    cs = cross_section(n=50)
    name = str(cs.tickers[0])
    winner = {name: Holding(10, float(cs.price[0]) / 2.0)}  # +100 %
    assert propose(cs, PortfolioState(1_000.0, winner), RULES, False).orders().empty
    rules = TradingSettings(take_profit_pct=0.5)
    orders = propose(cs, PortfolioState(1_000.0, winner), rules, False).orders()
    assert orders["reason"].tolist() == ["take_profit"]


def test_no_trades_between_rebalances_once_invested() -> None:
    cs = cross_section(n=100)
    first = propose(cs, PortfolioState(100_000.0), RULES, True)
    state = first.expected_state(RULES)
    moved = replace(cs, score=-cs.score)  # a different ranking: still no trades
    assert propose(moved, state, RULES, rebalance=False).orders().empty
    assert not propose(moved, state, RULES, rebalance=True).orders().empty


def test_an_empty_book_invests_even_off_schedule() -> None:
    proposal = propose(cross_section(), PortfolioState(100_000.0), RULES, rebalance=False)
    assert proposal.rebalance and len(proposal.orders()) == RULES.max_positions


def test_turnover_cap_sells_first_and_never_opens_beyond_the_count() -> None:
    cs = cross_section(n=100)
    worst = cs.tickers[np.argsort(cs.score)[:10]]
    held = {
        str(t): Holding(round(9_500 / cs.price[cs.position(t)]), 1.0)  # type: ignore[index]
        for t in worst
    }
    rules = TradingSettings(max_turnover=1.2, stop_loss_pct=None)
    proposal = propose(cs, PortfolioState(5_000.0, held), rules, rebalance=True)
    all_pass(proposal, rules)
    results = proposal.limit_results(rules)
    assert 1.15 < results["turnover"].value <= 1.2
    orders = proposal.orders()
    sells = orders[orders["side"] == "sell"]
    assert set(sells["ticker"]) == set(held)  # every exit whole before any entry
    assert (sells["shares"].to_numpy() == [held[t].shares for t in sells["ticker"]]).all()
    bought = orders.loc[orders["side"] == "buy", "notional"].sum()
    assert 0 < bought < sells["notional"].sum()  # what the budget left: ~25 % of equity
    assert results["position_count"].value <= rules.max_positions

    tight = TradingSettings(max_turnover=0.5, stop_loss_pct=None)
    orders = propose(cs, PortfolioState(5_000.0, held), tight, rebalance=True).orders()
    assert set(orders["side"]) == {"sell"}  # the budget ran out on sells


def test_orders_below_the_minimum_are_dropped() -> None:
    cs = cross_section(n=100)
    first = propose(cs, PortfolioState(100_000.0), RULES, True)
    state = first.expected_state(RULES)
    nudged = replace(cs, price=cs.price * 1.003)  # every target moves by less than $100
    orders = propose(nudged, state, RULES, rebalance=True).orders()
    assert orders.empty


def test_buys_never_spend_more_cash_than_exists() -> None:
    cs = cross_section(n=100)
    rules = TradingSettings(cash_buffer_pct=0.0, commission_bps=50, slippage_bps=50)
    proposal = propose(cs, PortfolioState(100_000.0), rules, True)
    assert limits.cash_after_trades(proposal.book, rules) >= 0
    assert proposal.expected_state(rules).cash >= 0
    all_pass(proposal, rules)


def test_fractional_shares_when_enabled() -> None:
    cs = cross_section(n=100)
    rules = TradingSettings(fractional_shares=True)
    orders = propose(cs, PortfolioState(100_000.0), rules, True).orders()
    assert (orders["shares"] != orders["shares"].round()).any()
    assert np.allclose(orders["notional"], 9_500, atol=0.01)


@pytest.mark.parametrize("method", ["score_weighted", "inverse_volatility"])
def test_sizing_methods_tilt_the_weights(method: str) -> None:
    cs = cross_section(n=200, sectors=20)
    rules = TradingSettings(sizing_method=method, max_position_pct=0.2)
    proposal = propose(cs, PortfolioState(100_000.0), rules, True)
    b = proposal.book
    bought = b.trade > 0
    w = b.target_weight[bought]
    key = (
        b.score[bought]
        if method == "score_weighted"
        else -cs.volatility[
            [cs.position(t) for t in b.tickers[bought]]  # type: ignore[misc]
        ]
    )
    assert np.all(np.diff(w[np.argsort(key)]) >= -1e-12) and w.max() > w.min()
    assert w.sum() == pytest.approx(0.95)
    all_pass(proposal, rules)


def test_the_expected_state_rolls_the_book_forward() -> None:
    cs = cross_section(n=100)
    proposal = propose(cs, PortfolioState(100_000.0), RULES, True)
    state = proposal.expected_state(RULES)
    assert len(state.holdings) == RULES.max_positions
    for t, h in state.holdings.items():
        ref = float(cs.price[cs.position(t)])  # type: ignore[index]
        assert h.entry_price == pytest.approx(ref * (1 + RULES.slippage_bps / 1e4))
    assert state.cash == pytest.approx(limits.cash_after_trades(proposal.book, RULES))


def test_a_held_name_without_a_price_is_an_error() -> None:
    cs = cross_section(n=10)
    with pytest.raises(ValueError, match="not in the cross-section"):
        propose(cs, PortfolioState(0.0, {"ZZZ": Holding(1, 1.0)}), RULES, True)
    price = cs.price.copy()
    price[0] = np.nan
    with pytest.raises(ValueError, match="no price for held"):
        propose(
            replace(cs, price=price), PortfolioState(0.0, {"T000": Holding(1, 1.0)}), RULES, True
        )


@pytest.mark.parametrize("seed", range(25))
def test_every_proposal_keeps_every_limit(seed: int) -> None:
    """Random books, prices, scores and settings: whatever comes out passes every limit."""
    rng = np.random.default_rng(seed)
    cs = cross_section(n=int(rng.integers(20, 300)), seed=seed, sectors=int(rng.integers(2, 12)))
    max_pos = float(rng.uniform(0.05, 0.3))
    rules = TradingSettings(
        max_positions=int(rng.integers(1, 25)),
        signal_threshold=float(rng.uniform(0, 0.95)),
        max_position_pct=max_pos,
        max_sector_pct=float(rng.uniform(max_pos, 1.0)),
        cash_buffer_pct=float(rng.uniform(0, 0.2)),
        min_trade_value=float(rng.choice([0.0, 100.0, 2_000.0])),
        max_turnover=float(rng.uniform(0.05, 2.0)),
        sizing_method=str(rng.choice(["equal", "score_weighted", "inverse_volatility"])),
        commission_bps=float(rng.uniform(0, 30)),
        slippage_bps=float(rng.uniform(0, 30)),
        fractional_shares=bool(rng.integers(0, 2)),
        take_profit_pct=float(rng.uniform(0.1, 1)) if rng.integers(0, 2) else None,
    )
    held_idx = rng.choice(len(cs), size=int(rng.integers(0, 20)), replace=False)
    holdings = {
        str(cs.tickers[i]): Holding(
            float(rng.integers(1, 400)), float(cs.price[i] * rng.uniform(0.6, 1.6))
        )
        for i in held_idx
    }
    state = PortfolioState(float(rng.uniform(0, 200_000)), holdings)
    for rebalance in (False, True):
        proposal = propose(cs, state, rules, rebalance)
        all_pass(proposal, rules)
        assert proposal.expected_state(rules).cash >= -1e-6
