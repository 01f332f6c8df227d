"""The composite score: the weighted sum of a date's z-scored factors.

Timing: the score at trading day D uses D's factor panel (data known by D's close;
orders at D+1's open) and the weights with the latest ``refit_date <= D``, which were
fitted only on labels closed before that refit date (see
:mod:`investor_mimic.research.fitting`). Dates before the first refit get no score.

A missing factor value contributes 0, the cross-sectional mean of a z-scored factor,
so a ticker with partial coverage is neither rewarded nor punished for the gap; a
ticker with no factor value at all on a date gets no score. ``rank`` is 1 for the
highest score of the date (ties share the best rank).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.research.fitting import FACTORS, check_panel
from investor_mimic.research.grid import Grid, require_columns


def weight_matrix(weights: pd.DataFrame) -> pd.DataFrame:
    """Weights as refit_date × factor (columns in ``FACTOR_NAMES`` order; absent factor = 0)."""
    require_columns(weights, ("refit_date", "factor", "weight"), "composite weights")
    unknown = sorted(set(weights["factor"]) - set(FACTORS))
    if unknown:
        raise ValueError(f"composite weights: unknown factors {unknown}")
    if frames.duplicate_keys(weights, frames.FACTOR_WEIGHTS.key).any():
        raise ValueError("composite weights: duplicate (refit_date, factor) rows")
    if weights["weight"].isna().any():
        raise ValueError("composite weights: NaN weights")
    table = weights.pivot(index="refit_date", columns="factor", values="weight")
    table.index = pd.DatetimeIndex(pd.to_datetime(table.index))
    return table.reindex(columns=list(FACTORS)).fillna(0.0).sort_index()


def composite_scores(panel: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """``frames.COMPOSITE_SCORE`` rows for every panel date on or after the first refit."""
    check_panel(panel, "composite panel")
    table = weight_matrix(weights)
    if table.empty:
        return frames.COMPOSITE_SCORE.empty()
    grid = Grid.of(panel)
    refits = table.index
    which = refits.searchsorted(grid.dates, side="right") - 1  # latest refit <= date
    scored = which >= 0

    factors = np.stack([grid.matrix(panel, f) for f in FACTORS])  # (F, T, N)
    has_any = np.isfinite(factors).any(axis=0)
    w = table.to_numpy()[np.where(scored, which, 0)]  # (T, F)
    score = np.einsum("ftn,tf->tn", np.where(np.isfinite(factors), factors, 0.0), w)
    score = np.where(has_any & scored[:, None], score, np.nan)

    i, j = np.nonzero(np.isfinite(score))
    out = pd.DataFrame(
        {
            "date": grid.dates[i],
            "ticker": grid.tickers[j].to_numpy(),
            "score": score[i, j],
            "refit_date": refits[which[i]],
        }
    )
    out["rank"] = out.groupby("date")["score"].rank(method="min", ascending=False)
    return frames.coerce(out, frames.COMPOSITE_SCORE)
