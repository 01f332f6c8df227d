"""Which names the book should hold at a rebalance.

A name qualifies at day D when its composite score is finite, at or above the day's
``signal_threshold`` quantile of all scores, it has a positive price at D, and it was not
just stopped out. Qualifying names are taken by descending score up to
``max_positions``, skipping a name whose sector already holds as many names as the sector
limit allows at an equal weight — so the sector cap shapes the selection instead of only
leaving cash idle.
"""

from __future__ import annotations

import numpy as np

from investor_mimic.settings import TradingSettings


def select(
    score: np.ndarray,
    price: np.ndarray,
    sector_code: np.ndarray,
    excluded: np.ndarray,
    rules: TradingSettings,
) -> np.ndarray:
    """Indices of the names to hold, best score first (see the module docstring)."""
    finite = np.isfinite(score)
    if not finite.any():
        return np.empty(0, dtype=np.int64)
    cutoff = np.quantile(score[finite], rules.signal_threshold)
    ok = finite & (score >= cutoff) & np.isfinite(price) & (price > 0)
    ok[excluded] = False
    candidates = np.flatnonzero(ok)
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    invested = 1.0 - rules.cash_buffer_pct
    weight = min(invested / rules.max_positions, rules.max_position_pct)
    per_sector = max(1, int(rules.max_sector_pct / weight + 1e-9))
    counts: dict[int, int] = {}
    chosen: list[int] = []
    for i in order.tolist():
        code = int(sector_code[i])
        if counts.get(code, 0) >= per_sector:
            continue
        counts[code] = counts.get(code, 0) + 1
        chosen.append(i)
        if len(chosen) == rules.max_positions:
            break
    return np.array(chosen, dtype=np.int64)
