"""Target weights of the selected names: raw weights by the sizing method, then caps.

Methods: ``equal``; ``score_weighted`` ∝ the name's percentile in the day's composite
(scale-free and always positive, so a day whose scores are all negative still sizes);
``inverse_volatility`` ∝ 1 / daily-return volatility (a name without enough history takes
the median volatility of the others). The weights sum to ``1 − cash_buffer_pct``.

Caps: a name above ``max_position_pct`` is cut to it and the excess goes to the uncapped
names in proportion (water-filling); a sector above ``max_sector_pct`` is scaled down to
it and that excess stays in cash, so no cap can ever push another name over its own.
"""

from __future__ import annotations

import numpy as np

from investor_mimic.settings import TradingSettings

EPS = 1e-12


def raw_weights(
    method: str, score: np.ndarray, day_scores: np.ndarray, volatility: np.ndarray
) -> np.ndarray:
    """Unnormalised positive weights of the selected names."""
    n = len(score)
    if method == "equal" or n == 0:
        return np.ones(n)
    if method == "score_weighted":
        finite = np.sort(day_scores[np.isfinite(day_scores)])
        return np.searchsorted(finite, score, side="right") / max(len(finite), 1)
    if method == "inverse_volatility":
        vol = volatility.astype(float).copy()
        good = np.isfinite(vol) & (vol > 0)
        if not good.any():
            return np.ones(n)
        vol[~good] = np.median(vol[good])
        return 1.0 / vol
    raise ValueError(f"unknown sizing method {method!r}")


def cap_positions(w: np.ndarray, cap: float) -> np.ndarray:
    """Cut weights above ``cap``; hand the excess to uncapped names pro rata."""
    w = w.copy()
    capped = np.zeros(len(w), dtype=bool)
    for _ in range(len(w)):
        over = (w > cap + EPS) & ~capped
        if not over.any():
            break
        excess = float((w[over] - cap).sum())
        w[over] = cap
        capped |= over
        free = ~capped & (w > 0)
        room = float(w[free].sum())
        if room <= EPS:
            break  # everything capped: the excess stays in cash
        w[free] += excess * w[free] / room
    return np.minimum(w, cap)


def cap_sectors(w: np.ndarray, sector_code: np.ndarray, cap: float) -> np.ndarray:
    """Scale each sector above ``cap`` down to it (the excess stays in cash)."""
    totals = np.bincount(sector_code, weights=w)
    scale = np.where(totals > cap + EPS, cap / np.maximum(totals, EPS), 1.0)
    return w * scale[sector_code]


def target_weights(
    score: np.ndarray,
    day_scores: np.ndarray,
    volatility: np.ndarray,
    sector_code: np.ndarray,
    rules: TradingSettings,
) -> np.ndarray:
    """Final target weights of the selected names (sum ≤ 1 − cash buffer, every cap held)."""
    raw = raw_weights(rules.sizing_method, score, day_scores, volatility)
    total = float(raw.sum())
    if total <= 0:
        return np.zeros(len(score))
    w = raw / total * (1.0 - rules.cash_buffer_pct)
    w = cap_positions(w, rules.max_position_pct)
    return cap_sectors(w, sector_code, rules.max_sector_pct)
