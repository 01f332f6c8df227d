"""From target shares to the trades that respect every limit.

The diff ``target − held`` is cut, in this order, by: the minimum trade value; the
turnover budget (stop exits never cut; then sells before buys, worst score sold first,
best score bought first; the trade crossing the budget is done in part and everything
after it waits for the next rebalance); the position count (newest, weakest entries
dropped); the position and sector caps (buys trimmed); and the cash the sells leave
(buys scaled down together). Every cut rounds shares down — whole shares unless
fractional trading is on — and drops what falls below the minimum, so each step can only
shrink trades and no later step can undo an earlier one's guarantee.
"""

from __future__ import annotations

import numpy as np

from investor_mimic.portfolio import costs
from investor_mimic.settings import TradingSettings

#: Fractional orders are rounded down to this many decimals (Alpaca accepts up to 9).
FRACTION_DECIMALS = 6


def round_down(shares: np.ndarray, fractional: bool) -> np.ndarray:
    """Shares rounded toward zero (a hair of float noise forgiven)."""
    step = 10.0**FRACTION_DECIMALS if fractional else 1.0
    mag = np.floor(np.abs(shares) * step + 1e-7) / step
    return np.sign(shares) * mag


def drop_small(trade: np.ndarray, price: np.ndarray, rules: TradingSettings) -> np.ndarray:
    small = (trade != 0) & (np.abs(trade) * price < rules.min_trade_value)
    return np.where(small, 0.0, trade)


def limit_turnover(
    trade: np.ndarray,
    price: np.ndarray,
    score: np.ndarray,
    held: np.ndarray,
    forced: np.ndarray,
    equity: float,
    rules: TradingSettings,
) -> np.ndarray:
    value = np.abs(trade) * price
    free = ~forced & (trade != 0)
    budget = rules.max_turnover * equity
    if value[free].sum() <= budget:
        return trade
    ranked = np.where(np.isfinite(score), score, -np.inf)
    idx = np.flatnonzero(free)
    # sells first (worst score first), then top-ups of held names, then new names (best first)
    group = np.where(trade[idx] < 0, 0, np.where(held[idx] > 0, 1, 2))
    key = np.where(trade[idx] < 0, ranked[idx], -ranked[idx])
    order = idx[np.lexsort((key, group))]
    out = trade.copy()
    remaining = budget
    for i in order.tolist():
        if remaining >= value[i]:
            remaining -= value[i]
            continue
        wanted = np.array([np.sign(trade[i]) * remaining / price[i]])
        part = float(round_down(wanted, rules.fractional_shares)[0])
        out[i] = part if abs(part) * price[i] >= rules.min_trade_value else 0.0
        remaining = 0.0
    return out


def limit_new_names(
    trade: np.ndarray, held: np.ndarray, score: np.ndarray, rules: TradingSettings
) -> np.ndarray:
    after = held + trade
    excess = int((after > 0).sum()) - rules.max_positions
    if excess <= 0:
        return trade
    opened = np.flatnonzero((held <= 0) & (after > 0))
    ranked = np.where(np.isfinite(score[opened]), score[opened], -np.inf)
    out = trade.copy()
    out[opened[np.argsort(ranked, kind="stable")][:excess]] = 0.0
    return out


def limit_caps(
    trade: np.ndarray,
    held: np.ndarray,
    price: np.ndarray,
    sector_code: np.ndarray,
    equity: float,
    rules: TradingSettings,
) -> np.ndarray:
    """Trim buys so no bought name and no sector with a buy ends above its cap."""
    out = trade.copy()
    buys = out > 0
    if not buys.any():
        return out
    room = rules.max_position_pct * equity / price - held
    out[buys] = np.minimum(
        out[buys], round_down(np.maximum(room[buys], 0.0), rules.fractional_shares)
    )
    out = drop_small(out, price, rules)
    cap = rules.max_sector_pct * equity
    for code in np.unique(sector_code[out > 0]).tolist():
        members = sector_code == code
        value_after = float(((held + out) * price)[members].sum())
        if value_after <= cap * (1 + 1e-12):
            continue
        in_sector = members & (out > 0)
        bought = float((out * price)[in_sector].sum())
        keep = max(bought - (value_after - cap), 0.0) / bought
        out[in_sector] = round_down(out[in_sector] * keep, rules.fractional_shares)
    return drop_small(out, price, rules)


def limit_cash(
    trade: np.ndarray, price: np.ndarray, cash: float, rules: TradingSettings
) -> np.ndarray:
    """Scale buys down together until the sells' proceeds plus cash pay for them."""
    out = trade.copy()
    for _ in range(3):  # rounding down only shrinks; a second pass is a safety net
        sells = np.where(out < 0, -out, 0.0)
        buys = np.where(out > 0, out, 0.0)
        available = cash + float(costs.sell_proceeds(sells, price, rules).sum())
        spent = float(costs.buy_cost(buys, price, rules).sum())
        if spent <= available:
            return out
        keep = max(available, 0.0) / spent
        out = np.where(out > 0, round_down(out * keep, rules.fractional_shares), out)
        out = drop_small(out, price, rules)
    return np.where(out > 0, 0.0, out)


def trades(
    target: np.ndarray,
    held: np.ndarray,
    price: np.ndarray,
    score: np.ndarray,
    sector_code: np.ndarray,
    forced: np.ndarray,
    cash: float,
    rules: TradingSettings,
) -> np.ndarray:
    """Signed shares to trade per name (+ buy, − sell); see the module docstring."""
    equity = float(cash + np.dot(held, price))
    trade = target - held
    trade = np.where(trade < 0, -np.minimum(-trade, held), trade)  # never below zero shares
    trade = drop_small(trade, price, rules)
    trade = limit_turnover(trade, price, score, held, forced, equity, rules)
    trade = limit_new_names(trade, held, score, rules)
    trade = limit_caps(trade, held, price, sector_code, equity, rules)
    return limit_cash(trade, price, cash, rules)
