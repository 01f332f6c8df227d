"""Walk-forward fitting of the factor weights, one fit per refit date.

Point-in-time rule: weights with ``refit_date`` R are used from R on, so they may learn
only from labels that were known before R. A feature date D enters the training window
of R only when its forward window closed before R (``exit_date(D) < R``, the *purge*;
see :mod:`investor_mimic.research.targets` for the timing), and the last ``embargo_days``
of those dates are dropped as well (the *embargo*, default h) so that labels overlapping
the cut never touch R even if a label's exit date were understated by a few days.
The window is expanding: every eligible date since the start of the panel.

Methods (``FitMethod``, the same literal the settings use):

* ``ic``: weight ∝ max(mean daily rank IC over the window, 0). Daily rank ICs are
  computed once for the whole panel; each refit only averages a window of them.
* ``ridge``: non-negative ridge regression of the cross-sectionally ranked target
  (rank / n − mean, so every date weighs the same) on the factors, with missing factor
  values set to 0, the cross-sectional mean of a z-scored factor. Ridge needs only the
  window's X'X and X'y, so these are summed per date once; each refit solves the
  8-factor problem with scikit-learn's non-negative least squares on the Cholesky
  factor of X'X + αnI, which is exactly ``Ridge(alpha=α·n, positive=True)`` on all rows.

Weights are non-negative and sum to 1. When a fit gives no positive weight (no factor
helped in the window) the refit falls back to equal weights and logs a warning; weights
are never NaN. ``n_train`` counts the feature dates in the window (the unit of
``min_train_dates``); ``train_end`` is its last date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.factors.registry import FACTOR_NAMES
from investor_mimic.research.grid import Grid, require_columns, require_unique_keys
from investor_mimic.research.stats import daily_ic, rank_rows
from investor_mimic.research.targets import TARGET_COLUMNS
from investor_mimic.settings import FitMethod

log = logging.getLogger(__name__)

FACTORS = FACTOR_NAMES


def refit_dates(trading_days: pd.DatetimeIndex, frequency: str = "M") -> pd.DatetimeIndex:
    """First trading day of each period (pandas period alias: "M" month, "Q", "W", ...)."""
    days = pd.DatetimeIndex(trading_days).unique().sort_values()
    try:
        periods = days.to_period(frequency)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"refit_dates: unknown frequency {frequency!r} ({exc})") from None
    first = np.ones(len(days), dtype=bool)
    first[1:] = periods[1:] != periods[:-1]
    return days[first]


def check_panel(panel: pd.DataFrame, what: str) -> None:
    require_columns(panel, ("date", "ticker", *FACTORS), what)
    require_unique_keys(panel, what)


def check_targets(targets: pd.DataFrame, what: str) -> None:
    require_columns(targets, TARGET_COLUMNS, what)
    require_unique_keys(targets, what)
    exit_ = pd.to_datetime(targets["exit_date"])
    date = pd.to_datetime(targets["date"])
    unknown = exit_.isna() & targets["fwd_return"].notna()
    if unknown.any():
        raise ValueError(f"{what}: {int(unknown.sum())} rows have a fwd_return but no exit_date")
    early = exit_ <= date
    if early.any():
        row = targets.loc[early].iloc[0]
        raise ValueError(
            f"{what}: exit_date {row['exit_date']:%Y-%m-%d} is not after date "
            f"{row['date']:%Y-%m-%d} ({row['ticker']}); labels must close after their feature date"
        )


def label_end(targets: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.Series:
    """Per feature date, the last exit date of its labels (NaT when none is known)."""
    ends = pd.to_datetime(targets["exit_date"]).groupby(pd.to_datetime(targets["date"])).max()
    return ends.reindex(dates)


def training_dates(
    label_ends: pd.Series, refit_date: pd.Timestamp, embargo_days: int
) -> pd.DatetimeIndex:
    """Feature dates R may learn from: labels closed before R, minus the last ``embargo_days``."""
    closed = pd.DatetimeIndex(label_ends.index[(label_ends < refit_date).to_numpy()])
    return closed[: max(len(closed) - embargo_days, 0)]


@dataclass(frozen=True)
class RidgeMoments:
    """Per-date sums of the ridge problem: rows n, Σx, Σy, Σxx', Σxy (x = factors)."""

    n: np.ndarray  # (T,)
    sx: np.ndarray  # (T, F)
    sy: np.ndarray  # (T,)
    sxx: np.ndarray  # (T, F, F)
    sxy: np.ndarray  # (T, F)

    @classmethod
    def of(cls, factors: np.ndarray, forward: np.ndarray) -> RidgeMoments:
        """``factors`` (F, T, N), ``forward`` (T, N). Rows: a label and at least one factor."""
        valid = np.isfinite(forward) & np.isfinite(factors).any(axis=0)
        n = valid.sum(axis=1)
        ranks = rank_rows(np.where(valid, forward, np.nan))
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(valid, (ranks - (n[:, None] + 1) / 2) / n[:, None], 0.0)
        x = np.where(np.isfinite(factors) & valid, factors, 0.0).transpose(1, 2, 0)
        return cls(
            n=n.astype("float64"),
            sx=x.sum(axis=1),
            sy=y.sum(axis=1),
            sxx=np.einsum("tnf,tng->tfg", x, x),
            sxy=np.einsum("tnf,tn->tf", x, y),
        )

    def solve(self, window: np.ndarray, alpha: float) -> np.ndarray:
        """Non-negative ridge coefficients over the dates selected by boolean ``window``."""
        n = float(self.n[window].sum())
        if n < 2:
            return np.zeros(self.sx.shape[1])
        sx = self.sx[window].sum(axis=0)
        sy = float(self.sy[window].sum())
        gram = self.sxx[window].sum(axis=0) - np.outer(sx, sx) / n
        cross = self.sxy[window].sum(axis=0) - sx * sy / n
        # scikit-learn and SciPy on first use: ~2.5 s of the start of every process that
        # loads the code location, most of which never fit
        from scipy.linalg import solve_triangular
        from sklearn.linear_model import LinearRegression

        lower = np.linalg.cholesky(gram + alpha * n * np.eye(len(sx)))
        # ||z - L'w||² = w'(X'X + αnI)w - 2w'X'y + const: the ridge objective in 8 rows
        z = solve_triangular(lower, cross, lower=True)
        nnls = LinearRegression(positive=True, fit_intercept=False).fit(lower.T, z)
        return np.asarray(nnls.coef_, dtype="float64")


def _normalise(raw: np.ndarray, refit_date: pd.Timestamp, method: str) -> np.ndarray:
    w = np.clip(np.nan_to_num(raw, nan=0.0), 0.0, None)
    total = w.sum()
    if total > 0:
        return w / total
    log.warning(
        "fit_weights(%s): no factor has a positive weight at %s; using equal weights",
        method,
        f"{refit_date:%Y-%m-%d}",
    )
    return np.full(len(w), 1.0 / len(w))


def fit_weights(
    panel: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    method: FitMethod,
    horizon: int,
    refit_dates: Iterable[pd.Timestamp],
    embargo_days: int | None = None,
    min_train_dates: int = 60,
    ridge_alpha: float = 0.1,
) -> pd.DataFrame:
    """Weights per refit date with at least ``min_train_dates`` training dates.

    ``panel`` is a ``frames.FACTOR_PANEL``; ``targets`` the output of
    :func:`~investor_mimic.research.targets.forward_returns` with the same ``horizon``.
    ``ridge_alpha`` is the ridge penalty per training row (z-scored factors: 0.1 shrinks
    about 10%). Returns a ``frames.FACTOR_WEIGHTS`` frame.
    """
    if method not in ("ic", "ridge"):
        raise ValueError(f"fit_weights: method must be 'ic' or 'ridge', got {method!r}")
    if horizon < 1:
        raise ValueError(f"fit_weights: horizon must be >= 1, got {horizon}")
    embargo = horizon if embargo_days is None else embargo_days
    if embargo < 0:
        raise ValueError(f"fit_weights: embargo_days must be >= 0, got {embargo}")
    if min_train_dates < 1:
        raise ValueError(f"fit_weights: min_train_dates must be >= 1, got {min_train_dates}")
    if not ridge_alpha > 0:
        raise ValueError(f"fit_weights: ridge_alpha must be > 0, got {ridge_alpha}")
    check_panel(panel, "fit_weights panel")
    check_targets(targets, "fit_weights targets")

    grid = Grid.of(panel)
    factors = np.stack([grid.matrix(panel, f) for f in FACTORS])
    forward = grid.matrix(targets, "fwd_return")
    ends = label_end(targets, grid.dates)

    if method == "ic":
        ics = np.column_stack([daily_ic(f, forward, "spearman") for f in factors])

        def solve(window: np.ndarray) -> np.ndarray:
            return _mean_or_zero(ics[window])

    else:
        moments = RidgeMoments.of(factors, forward)

        def solve(window: np.ndarray) -> np.ndarray:
            return moments.solve(window, ridge_alpha)

    rows: list[dict[str, object]] = []
    for refit in pd.DatetimeIndex(list(refit_dates)).unique().sort_values():
        window = training_dates(ends, refit, embargo)
        if len(window) < min_train_dates:
            continue
        weights = _normalise(solve(grid.dates.isin(window)), refit, method)
        rows.extend(
            {
                "refit_date": refit,
                "factor": factor,
                "weight": weight,
                "method": method,
                "horizon_days": horizon,
                "train_end": window[-1],
                "n_train": len(window),
            }
            for factor, weight in zip(FACTORS, weights, strict=True)
        )
    if not rows:
        return frames.FACTOR_WEIGHTS.empty()
    return frames.coerce(pd.DataFrame(rows), frames.FACTOR_WEIGHTS)


def _mean_or_zero(ics: np.ndarray) -> np.ndarray:
    """Column means of daily ICs; 0 for a factor without a single IC in the window."""
    counts = np.isfinite(ics).sum(axis=0)
    sums = np.nansum(ics, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
