"""How well each factor and the composite rank tomorrow's forward returns.

Per signal (each factor of the panel, and the composite score when given):

* daily IC (Pearson) and rank IC (Spearman) against the h-day forward return of
  :func:`investor_mimic.research.targets.forward_returns` (entry at D+1's open);
* their mean, ICIR (mean / standard deviation of the daily values, not annualised),
  t-stat and two-sided p-value from :func:`investor_mimic.research.stats.horizon_ttest`
  (an EWC long-run variance and Student t with ``rank_ic_df`` degrees of freedom):
  overlapping h-day labels make daily ICs autocorrelated, a naive t-stat would overstate
  significance about sqrt(h) times and a Newey-West one still about 1.2 times, so judge
  significance by the p-value (``describe_inference`` says the method in one line);
* quantile mean forward returns: each date's names with a value are split into
  ``n_quantiles`` buckets by signal (1 = lowest) whose sizes differ by at most one, ties
  broken by ticker (deterministic; see ``_buckets``); a bucket's mean forward return
  is averaged over dates; ``spread`` is top minus bottom;
* ``turnover``: mean daily share of the top bucket's names that were not in it the day
  before (0 = the same names every day, 1 = all new);
* ``coverage``: mean share of the panel's tickers of a date that have a value, over the
  dates on which the signal has any value (``n_dates`` says how many dates had an IC).

:func:`oos_ic` judges the composite only on dates on or after the first refit date, where
every score was made with weights fitted on earlier labels: out of sample by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from investor_mimic.research.fitting import FACTORS, check_panel, check_targets
from investor_mimic.research.grid import Grid, require_columns, require_unique_keys
from investor_mimic.research.stats import daily_ic, horizon_ttest

COMPOSITE = "composite"


@dataclass(frozen=True)
class SignalEvaluation:
    """The metrics of one signal (see the module docstring for their definitions)."""

    name: str
    n_dates: int
    ic_mean: float
    ic_ir: float
    ic_tstat: float
    ic_pvalue: float
    rank_ic_mean: float
    rank_ic_ir: float
    rank_ic_tstat: float
    rank_ic_pvalue: float
    rank_ic_df: int
    quantile_returns: tuple[float, ...]  # bucket 1 (lowest signal) .. n_quantiles
    spread: float
    turnover: float
    coverage: float


@dataclass(frozen=True)
class Evaluation:
    """Metrics per signal, and the daily rank ICs (date × signal) behind them."""

    horizon: int
    n_quantiles: int
    signals: dict[str, SignalEvaluation]
    daily_rank_ic: pd.DataFrame

    def quantile_table(self) -> pd.DataFrame:
        """signal × quantile (1..n) mean forward returns."""
        return pd.DataFrame(
            {name: s.quantile_returns for name, s in self.signals.items()},
            index=pd.RangeIndex(1, self.n_quantiles + 1, name="quantile"),
        ).T

    def metadata(self) -> dict[str, float | int]:
        """Flat ``"<signal>/<metric>"`` numbers for Dagster metadata."""
        out: dict[str, float | int] = {"horizon_days": self.horizon}
        for name, signal in self.signals.items():
            for key, value in asdict(signal).items():
                if key == "quantile_returns":
                    out.update({f"{name}/q{k}_return": v for k, v in enumerate(value, 1)})
                elif key != "name":
                    out[f"{name}/{key}"] = value
        return out


@dataclass(frozen=True)
class OutOfSampleIC:
    """The composite's IC over the dates scored with weights fitted strictly before them."""

    first_date: pd.Timestamp
    last_date: pd.Timestamp
    n_dates: int
    rank_ic_mean: float
    rank_ic_tstat: float
    rank_ic_pvalue: float  # two-sided, Student t(df) (see research.stats.horizon_ttest)
    df: int
    ic_mean: float
    ic_tstat: float
    ic_pvalue: float

    def metadata(self) -> dict[str, float | int | str]:
        return {
            "oos/first_date": f"{self.first_date:%Y-%m-%d}",
            "oos/last_date": f"{self.last_date:%Y-%m-%d}",
            "oos/n_dates": self.n_dates,
            "oos/rank_ic_mean": self.rank_ic_mean,
            "oos/rank_ic_tstat": self.rank_ic_tstat,
            "oos/rank_ic_pvalue": self.rank_ic_pvalue,
            "oos/df": self.df,
            "oos/ic_mean": self.ic_mean,
            "oos/ic_tstat": self.ic_tstat,
            "oos/ic_pvalue": self.ic_pvalue,
        }


def _mean_ir(daily: np.ndarray) -> tuple[float, float]:
    x = daily[np.isfinite(daily)]
    if len(x) < 2:
        return (float(x.mean()) if len(x) else float("nan")), float("nan")
    std = float(x.std(ddof=1))
    return float(x.mean()), (float(x.mean()) / std if std > 0 else float("nan"))


def _buckets(signal: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Quantile bucket 1..n of each finite cell (0 elsewhere, and on dates with < n names).

    Equal sizes under ties: a date's names are put in order of signal, ties broken by
    ticker (the grid's columns are sorted tickers, and the sort is stable), and the k-th
    of m names (k = 0..m-1) goes to bucket ``floor(k * n / m) + 1``; bucket sizes differ
    by at most one. With ties averaged instead, a factor that is 0 for most names (insider
    buying) would put every zero in one bucket and leave others empty.
    """
    finite = np.isfinite(signal)
    count = finite.sum(axis=1, keepdims=True)
    order = np.argsort(np.where(finite, signal, np.inf), axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(signal.shape[1])[None, :], axis=1)
    bucket = position * n_quantiles // np.maximum(count, 1) + 1
    return np.where(finite & (count >= n_quantiles), bucket, 0).astype(int)


def _quantile_returns(bucket: np.ndarray, forward: np.ndarray, n_quantiles: int) -> np.ndarray:
    means = []
    labelled = np.isfinite(forward)
    fwd = np.where(labelled, forward, 0.0)
    for q in range(1, n_quantiles + 1):
        cells = (bucket == q) & labelled
        n = cells.sum(axis=1)
        total = np.where(cells, fwd, 0.0).sum(axis=1)
        daily = total[n > 0] / n[n > 0]
        means.append(float(daily.mean()) if len(daily) else float("nan"))
    return np.array(means)


def _turnover(top: np.ndarray) -> float:
    size = top.sum(axis=1)
    pairs = (size[1:] > 0) & (size[:-1] > 0)
    if not pairs.any():
        return float("nan")
    kept = (top[1:] & top[:-1]).sum(axis=1)
    return float((1.0 - kept[pairs] / size[1:][pairs]).mean())


def _evaluate_signal(
    name: str,
    signal: np.ndarray,
    forward: np.ndarray,
    universe: np.ndarray,
    horizon: int,
    n_quantiles: int,
) -> tuple[SignalEvaluation, np.ndarray]:
    signal = np.where(universe, signal, np.nan)
    ic = daily_ic(signal, forward, "pearson")
    rank_ic = daily_ic(signal, forward, "spearman")
    ic_mean, ic_ir = _mean_ir(ic)
    rank_mean, rank_ir = _mean_ir(rank_ic)
    ic_test, rank_test = horizon_ttest(ic, horizon), horizon_ttest(rank_ic, horizon)
    bucket = _buckets(signal, n_quantiles)
    quantiles = _quantile_returns(bucket, forward, n_quantiles)
    has = np.isfinite(signal).sum(axis=1)
    size = universe.sum(axis=1)
    active = has > 0
    result = SignalEvaluation(
        name=name,
        n_dates=int(np.isfinite(rank_ic).sum()),
        ic_mean=ic_mean,
        ic_ir=ic_ir,
        ic_tstat=ic_test.tstat,
        ic_pvalue=ic_test.pvalue,
        rank_ic_mean=rank_mean,
        rank_ic_ir=rank_ir,
        rank_ic_tstat=rank_test.tstat,
        rank_ic_pvalue=rank_test.pvalue,
        rank_ic_df=rank_test.df,
        quantile_returns=tuple(float(q) for q in quantiles),
        spread=float(quantiles[-1] - quantiles[0]),
        turnover=_turnover(bucket == n_quantiles),
        coverage=float((has[active] / size[active]).mean()) if active.any() else 0.0,
    )
    return result, rank_ic


def _check_composite(composite: pd.DataFrame, what: str) -> None:
    require_columns(composite, ("date", "ticker", "score"), what)
    require_unique_keys(composite, what)


def evaluate(
    panel: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    horizon: int,
    composite: pd.DataFrame | None = None,
    n_quantiles: int = 5,
) -> Evaluation:
    """Metrics of every factor of ``panel`` and, when given, of ``composite``'s score.

    ``targets`` must be the forward returns of the same ``horizon`` (it sets the t-test).
    """
    if horizon < 1:
        raise ValueError(f"evaluate: horizon must be >= 1, got {horizon}")
    if n_quantiles < 2:
        raise ValueError(f"evaluate: n_quantiles must be >= 2, got {n_quantiles}")
    check_panel(panel, "evaluate panel")
    check_targets(targets, "evaluate targets")
    grid = Grid.of(panel)
    forward = grid.matrix(targets, "fwd_return")
    universe = grid.present(panel)
    signals = {f: grid.matrix(panel, f) for f in FACTORS}
    if composite is not None:
        _check_composite(composite, "evaluate composite")
        signals[COMPOSITE] = grid.matrix(composite, "score")

    results: dict[str, SignalEvaluation] = {}
    daily: dict[str, np.ndarray] = {}
    for name, values in signals.items():
        results[name], daily[name] = _evaluate_signal(
            name, values, forward, universe, horizon, n_quantiles
        )
    return Evaluation(
        horizon=horizon,
        n_quantiles=n_quantiles,
        signals=results,
        daily_rank_ic=pd.DataFrame(daily, index=grid.dates.rename("date")),
    )


def oos_ic(
    composite: pd.DataFrame, targets: pd.DataFrame, weights: pd.DataFrame, *, horizon: int
) -> OutOfSampleIC:
    """IC of the composite over its dates on or after the first ``refit_date`` of ``weights``."""
    if horizon < 1:
        raise ValueError(f"oos_ic: horizon must be >= 1, got {horizon}")
    _check_composite(composite, "oos_ic composite")
    check_targets(targets, "oos_ic targets")
    require_columns(weights, ("refit_date",), "oos_ic weights")
    if weights.empty:
        raise ValueError("oos_ic: no weights, so no out-of-sample dates")
    first_refit = pd.Timestamp(weights["refit_date"].min())
    scored = composite[pd.to_datetime(composite["date"]) >= first_refit]
    if scored.empty:
        raise ValueError(f"oos_ic: composite has no date on or after {first_refit:%Y-%m-%d}")
    grid = Grid.of(scored)
    score = grid.matrix(scored, "score")
    forward = grid.matrix(targets, "fwd_return")
    rank_ic = daily_ic(score, forward, "spearman")
    ic = daily_ic(score, forward, "pearson")
    rank_test, ic_test = horizon_ttest(rank_ic, horizon), horizon_ttest(ic, horizon)
    return OutOfSampleIC(
        first_date=grid.dates[0],
        last_date=grid.dates[-1],
        n_dates=int(np.isfinite(rank_ic).sum()),
        rank_ic_mean=_mean_ir(rank_ic)[0],
        rank_ic_tstat=rank_test.tstat,
        rank_ic_pvalue=rank_test.pvalue,
        df=rank_test.df,
        ic_mean=_mean_ir(ic)[0],
        ic_tstat=ic_test.tstat,
        ic_pvalue=ic_test.pvalue,
    )
