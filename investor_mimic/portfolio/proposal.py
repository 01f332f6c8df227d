"""One trading day of the portfolio logic: cross-section + book in, orders + book out.

:func:`propose` is what the ``trade_proposals`` asset runs for day D and what the
backtest runs for every day of its replay: stop exits every day; on a rebalance day (or
when the book holds nothing) the target portfolio from the composite, sized and capped;
then the orders that move the book toward it within every limit. Inputs are the
cross-section of D (known by D's close); the orders are meant for D+1's open, and
:meth:`Proposal.expected_state` is the book if they fill at the reference prices with
the modelled costs (the backtest replaces that with its fill model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.portfolio import costs, limits, orders, sizing, target
from investor_mimic.portfolio.book import Book
from investor_mimic.portfolio.cross_section import CrossSection
from investor_mimic.portfolio.state import Holding, PortfolioState
from investor_mimic.portfolio.stops import stop_exits
from investor_mimic.settings import TradingSettings

ENTRY, REBALANCE, EXIT = "entry", "rebalance", "exit"


@dataclass(frozen=True)
class Proposal:
    date: date
    rebalance: bool
    book: Book

    def orders(self) -> pd.DataFrame:
        """The orders as a ``frames.TRADE_PROPOSALS`` frame: sells first, then buys."""
        b = self.book
        traded = np.flatnonzero(b.trade != 0)
        traded = traded[np.lexsort((b.tickers[traded].astype(str), b.trade[traded] > 0))]
        side = np.where(b.trade[traded] < 0, "sell", "buy")
        frame = pd.DataFrame(
            {
                "date": pd.Timestamp(self.date),
                "ticker": b.tickers[traded],
                "side": side,
                "shares": np.abs(b.trade[traded]),
                "ref_price": b.price[traded],
                "notional": np.abs(b.trade[traded]) * b.price[traded],
                "score": b.score[traded],
                "target_weight": b.target_weight[traded],
                "sector": b.sector[traded],
                "reason": b.reason[traded],
            }
        )
        return frames.coerce(frame, frames.TRADE_PROPOSALS)

    def limit_results(self, rules: TradingSettings) -> dict[str, limits.LimitResult]:
        return limits.check_all(self.book, rules)

    def expected_state(self, rules: TradingSettings) -> PortfolioState:
        """The book after every order fills at its reference price, costs included."""
        b = self.book
        after = b.after
        buys = np.where(b.trade > 0, b.trade, 0.0)
        paid = costs.buy_price(b.price, rules)
        entry = np.where(
            buys > 0,
            (np.nan_to_num(b.held * b.entry_price) + buys * paid) / np.where(after > 0, after, 1),
            b.entry_price,
        )
        holdings = {
            str(t): Holding(float(a), float(e))
            for t, a, e in zip(b.tickers, after, entry, strict=True)
            if a > 1e-12
        }
        return PortfolioState(limits.cash_after_trades(b, rules), holdings)


def propose(
    cs: CrossSection, state: PortfolioState, rules: TradingSettings, rebalance: bool
) -> Proposal:
    """The orders of day ``cs.date`` for ``state`` (see the module docstring)."""
    held_tickers = list(state.holdings)
    held_pos = [cs.position(t) for t in held_tickers]
    if any(p is None for p in held_pos):
        missing = sorted(t for t, p in zip(held_tickers, held_pos, strict=True) if p is None)
        raise ValueError(f"{cs.date}: held ticker(s) {missing} are not in the cross-section")
    held_idx = np.array(held_pos, dtype=np.int64)
    held_shares = np.array([state.holdings[t].shares for t in held_tickers], dtype=float)
    entry = np.array([state.holdings[t].entry_price for t in held_tickers], dtype=float)
    bad_price = ~(np.isfinite(cs.price[held_idx]) & (cs.price[held_idx] > 0))
    if bad_price.any():
        raise ValueError(
            f"{cs.date}: no price for held {sorted(np.array(held_tickers)[bad_price])}"
        )

    stop_reason = stop_exits(cs.price[held_idx], entry, rules)
    stopped = held_idx[stop_reason != ""]
    rebalance = rebalance or not held_tickers

    if rebalance:
        chosen = target.select(cs.score, cs.price, cs.sector_code, stopped, rules)
        w = sizing.target_weights(
            cs.score[chosen], cs.score, cs.volatility[chosen], cs.sector_code[chosen], rules
        )
    else:
        chosen = np.empty(0, dtype=np.int64)
        w = np.empty(0)

    idx = np.union1d(held_idx, chosen)
    n = len(idx)
    pos_in = {int(i): k for k, i in enumerate(idx.tolist())}
    held = np.zeros(n)
    entry_b = np.full(n, np.nan)
    reason = np.full(n, "", dtype=object)
    for k_held, i in enumerate(held_idx.tolist()):
        held[pos_in[i]] = held_shares[k_held]
        entry_b[pos_in[i]] = entry[k_held]
        reason[pos_in[i]] = stop_reason[k_held]
    price = cs.price[idx]
    cash = float(state.cash)
    equity = float(cash + np.dot(held, price))

    weight = np.zeros(n)
    if rebalance:
        for k_chosen, i in enumerate(chosen.tolist()):
            weight[pos_in[i]] = w[k_chosen]
        goal = orders.round_down(weight * max(equity, 0.0) / price, rules.fractional_shares)
    else:
        weight = held * price / equity if equity > 0 else np.zeros(n)
        goal = held.copy()
    forced = reason != ""
    goal[forced] = 0.0
    weight[forced] = 0.0

    trade = orders.trades(
        goal, held, price, cs.score[idx], cs.sector_code[idx], forced, cash, rules
    )

    plain = reason == ""
    reason[plain & (held <= 0)] = ENTRY
    reason[plain & (held > 0) & (goal <= 0)] = EXIT
    reason[plain & (held > 0) & (goal > 0)] = REBALANCE
    book = Book(
        tickers=cs.tickers[idx],
        sector=cs.sector[idx],
        price=price,
        held=held,
        entry_price=entry_b,
        trade=trade,
        forced=forced,
        score=cs.score[idx],
        target_weight=weight,
        reason=reason,
        cash=cash,
    )
    return Proposal(cs.date, rebalance, book)
