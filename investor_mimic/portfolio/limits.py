"""Every risk limit as a function of a :class:`~investor_mimic.portfolio.book.Book`.

Why functions over a book and not assertions inside the proposal code: the same function
is the proposal's own final word, the Dagster blocking check on ``trade_proposals``, the
per-order ``limit_checks`` of the demo summary, and what a test calls on a book crafted
to break exactly one limit. Each returns a :class:`LimitResult` naming its offenders.

What each limit forbids (weights are of the equity before trading, at reference prices):

* ``position_pct`` — a buy bringing a name above ``max_position_pct`` (drift of a name
  the proposal does not buy is not the proposal's doing and is not flagged);
* ``sector_pct`` — a buy in a sector that ends above ``max_sector_pct``;
* ``position_count`` — opening a name while the book ends with more than ``max_positions``;
* ``cash`` — cash below zero after the sells and then the buys, costs included;
* ``min_trade_value`` — an order worth less than ``min_trade_value``;
* ``turnover`` — traded value above ``max_turnover`` × equity (forced exits excluded);
* ``sells_within_holdings`` — selling more than is held (no shorts);
* ``whole_shares`` — a fractional order while fractional trading is off (closing a
  fractional position whole is allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from investor_mimic.portfolio import costs
from investor_mimic.portfolio.book import Book
from investor_mimic.settings import TradingSettings

#: Relative slack for float arithmetic; far below a cent on any realistic book.
TOL = 1e-9


@dataclass(frozen=True)
class LimitResult:
    name: str
    passed: bool
    value: float  # the measured quantity (worst case)
    limit: float
    offenders: tuple[str, ...] = ()
    detail: str = ""


def _result(
    name: str, value: float, limit: float, offenders: np.ndarray | list[str], detail: str
) -> LimitResult:
    off = tuple(str(t) for t in offenders)
    return LimitResult(name, not off, float(value), float(limit), off, detail if off else "ok")


def position_pct(book: Book, rules: TradingSettings) -> LimitResult:
    """No buy brings a name above max_position_pct of equity."""
    equity = book.equity
    weight = book.after * book.price / equity if equity > 0 else np.full(len(book.price), np.inf)
    bad = (book.trade > 0) & (weight > rules.max_position_pct * (1 + TOL))
    worst = float(weight[book.trade > 0].max()) if (book.trade > 0).any() else 0.0
    return _result(
        "position_pct",
        worst,
        rules.max_position_pct,
        book.tickers[bad],
        f"buys above {rules.max_position_pct:.1%} of equity",
    )


def sector_pct(book: Book, rules: TradingSettings) -> LimitResult:
    """No buy lands in a sector that ends above max_sector_pct of equity."""
    equity = book.equity
    value_after = book.after * book.price
    offenders: list[str] = []
    worst = 0.0
    for sector in sorted(set(book.sector[book.trade > 0].tolist())):
        members = book.sector == sector
        weight = float(value_after[members].sum() / equity) if equity > 0 else np.inf
        worst = max(worst, weight)
        if weight > rules.max_sector_pct * (1 + TOL):
            offenders.extend(book.tickers[members & (book.trade > 0)].tolist())
    return _result(
        "sector_pct",
        worst,
        rules.max_sector_pct,
        offenders,
        f"buys in a sector ending above {rules.max_sector_pct:.1%} of equity",
    )


def position_count(book: Book, rules: TradingSettings) -> LimitResult:
    """No name is opened while the book ends with more than max_positions names."""
    count = int((book.after > 0).sum())
    opened = (book.held <= 0) & (book.after > 0)
    offenders = book.tickers[opened] if count > rules.max_positions else np.array([])
    return _result(
        "position_count",
        count,
        rules.max_positions,
        offenders,
        f"opens names while ending with {count} > {rules.max_positions} positions",
    )


def cash_after_trades(book: Book, rules: TradingSettings) -> float:
    """Cash once the sells and then the buys are done at the reference prices, with costs."""
    sells = np.where(book.trade < 0, -book.trade, 0.0)
    buys = np.where(book.trade > 0, book.trade, 0.0)
    proceeds = float(costs.sell_proceeds(sells, book.price, rules).sum())
    spent = float(costs.buy_cost(buys, book.price, rules).sum())
    return book.cash + proceeds - spent


def cash(book: Book, rules: TradingSettings) -> LimitResult:
    """Cash stays >= 0 after the sells and then the buys, costs included."""
    after = cash_after_trades(book, rules)
    short = after < -TOL * max(book.equity, 1.0)
    offenders: np.ndarray | list[str] = book.tickers[book.trade > 0] if short else []
    return _result(
        "cash", after, 0.0, offenders, f"cash ends at {after:,.2f} after sells then buys"
    )


def min_trade_value(book: Book, rules: TradingSettings) -> LimitResult:
    """Every order is worth at least min_trade_value at its reference price."""
    value = np.abs(book.trade) * book.price
    traded = book.trade != 0
    bad = traded & (value < rules.min_trade_value * (1 - TOL))
    smallest = float(value[traded].min()) if traded.any() else 0.0
    return _result(
        "min_trade_value",
        smallest,
        rules.min_trade_value,
        book.tickers[bad],
        f"orders worth less than {rules.min_trade_value:,.2f}",
    )


def turnover(book: Book, rules: TradingSettings) -> LimitResult:
    """Traded value (stop exits aside) is at most max_turnover of equity."""
    equity = book.equity
    traded = float((np.abs(book.trade) * book.price)[~book.forced].sum())
    share = traded / equity if equity > 0 else (np.inf if traded else 0.0)
    bad = share > rules.max_turnover * (1 + TOL)
    offenders = book.tickers[(book.trade != 0) & ~book.forced] if bad else []
    return _result(
        "turnover",
        share,
        rules.max_turnover,
        offenders,
        f"trades {share:.1%} of equity, more than {rules.max_turnover:.1%}",
    )


def sells_within_holdings(book: Book, rules: TradingSettings) -> LimitResult:
    """No sale exceeds the shares held (no shorts)."""
    del rules
    over = np.maximum(-book.trade - book.held, 0.0)
    bad = (book.trade < 0) & (over > TOL * np.maximum(book.held, 1.0))
    return _result(
        "sells_within_holdings", float(over.max(initial=0.0)), 0.0, book.tickers[bad], "shorts"
    )


def whole_shares(book: Book, rules: TradingSettings) -> LimitResult:
    """Whole shares only, unless fractional trading is on (closing a position whole is fine)."""
    if rules.fractional_shares:
        return _result("whole_shares", 0.0, 0.0, [], "fractional trading is on")
    frac = np.abs(book.trade - np.round(book.trade))
    closes_whole = (book.trade < 0) & np.isclose(-book.trade, book.held)
    bad = (frac > 1e-9) & ~closes_whole
    return _result(
        "whole_shares", float(frac.max(initial=0.0)), 0.0, book.tickers[bad], "fractional orders"
    )


Limit = Callable[[Book, TradingSettings], LimitResult]

#: Every limit, by the name its Dagster check and the demo's ``limit_checks`` carry.
LIMITS: dict[str, Limit] = {
    "position_pct": position_pct,
    "sector_pct": sector_pct,
    "position_count": position_count,
    "cash": cash,
    "min_trade_value": min_trade_value,
    "turnover": turnover,
    "sells_within_holdings": sells_within_holdings,
    "whole_shares": whole_shares,
}


def check_all(book: Book, rules: TradingSettings) -> dict[str, LimitResult]:
    return {name: limit(book, rules) for name, limit in LIMITS.items()}


def per_order(book: Book, results: dict[str, LimitResult]) -> dict[str, dict[str, bool]]:
    """Ticker of each order → limit → passed. A limit with named offenders fails for
    those orders only; a limit failing as a whole (cash, count, turnover) fails for all."""
    out: dict[str, dict[str, bool]] = {}
    for ticker in book.tickers[book.trade != 0].tolist():
        out[ticker] = {
            name: r.passed or (ticker not in r.offenders and bool(r.offenders))
            for name, r in results.items()
        }
    return out
