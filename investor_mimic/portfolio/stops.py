"""Exits forced by price: stop-loss and take-profit, from each position's entry price.

Checked every trading day, rebalance or not. A stopped name is sold whole and is not
bought back on the same day.
"""

from __future__ import annotations

import numpy as np

from investor_mimic.settings import TradingSettings

STOP_LOSS = "stop_loss"
TAKE_PROFIT = "take_profit"


def stop_exits(price: np.ndarray, entry_price: np.ndarray, rules: TradingSettings) -> np.ndarray:
    """Per held position: ``"stop_loss"``, ``"take_profit"`` or ``""`` (keep).

    Return since entry = price / entry − 1; stop-loss when it is ≤ −``stop_loss_pct``,
    take-profit when it is ≥ ``take_profit_pct``; an unset threshold never fires.
    """
    ret = price / entry_price - 1.0
    out = np.full(len(price), "", dtype=object)
    if rules.take_profit_pct is not None:
        out[ret >= rules.take_profit_pct] = TAKE_PROFIT
    if rules.stop_loss_pct is not None:
        out[ret <= -rules.stop_loss_pct] = STOP_LOSS
    return out
