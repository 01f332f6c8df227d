"""Performance metrics of a daily return series against its benchmark (pure, no Dagster).

Input: a frame with one row per trading day, ``date, strategy, benchmark`` — the simple
(not log) daily returns of the strategy's equity after costs and of the benchmark, the
layout of the backtest's ``returns.csv``. Conventions, the same in every function:

* **252 trading days a year.** ``n`` is the number of daily returns, ``years = n / 252``.
* **Compounded daily returns.** Equity ``V_t = Π_{s≤t} (1 + r_s)`` starting from
  ``V_0 = 1`` (the day before the first return), never a sum of returns.
* **Risk-free rate 0.** Sharpe, Sortino and alpha are over cash at 0 %: the demo world
  has no interest rate, and with real data the excess over T-bills would shift every
  strategy alike. Subtract a daily rate from both columns first if you want one.
* **Sample moments** (``ddof=1``) for volatility and Sharpe; population moments for beta,
  as an OLS slope.

Formulas (``r`` strategy, ``b`` benchmark, daily):

====================  ====================================================================
total_return          ``V_n − 1``
cagr                  ``V_n ** (252 / n) − 1``
volatility            ``std(r, ddof=1) · √252``
sharpe                ``mean(r) / std(r, ddof=1) · √252``
sortino               ``252 · mean(r) / (√252 · sqrt(mean(min(r, 0)²)))`` — the downside
                      deviation counts every day (0 on up days), not only the down days
max_drawdown          ``min_t (V_t / max_{s≤t} V_s − 1)`` with ``V_0 = 1`` included; ≤ 0
calmar                ``cagr / |max_drawdown|`` (NaN without a drawdown)
beta                  ``cov(r, b) / var(b)`` (population moments: the OLS slope of r on b)
alpha                 ``(1 + mean(r − beta · b)) ** 252 − 1``: the daily return not explained
                      by the benchmark, compounded over a year
hit_rate              ``#(r > 0) / #(r ≠ 0)``: the share of winning days among days with a
                      profit or loss (flat days — nothing held — do not count either way)
exposure              mean daily gross exposure (Σ|position value| / equity at the close)
turnover              ``252 · mean(daily one-way turnover)``; a day's one-way turnover is
                      ``Σ|traded notional| / 2 / equity`` (:func:`daily_turnover`), so 1.0
                      is the whole book replaced once a year
====================  ====================================================================

These are the definitions of empyrical (``annual_return``, ``annual_volatility``,
``sharpe_ratio``, ``sortino_ratio``, ``max_drawdown``, ``calmar_ratio``, ``alpha_beta``);
the tests compute both on the same series and require agreement to rounding. Why our own
code and not the library at run time: the formulas are a dozen lines, documented here,
and the backtest asset should not depend on a library's edge-case choices (empty series,
all-zero returns) that it cannot see.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

TRADING_DAYS = 252
RETURN_COLUMNS = ("date", "strategy", "benchmark")


def check_returns(returns: pd.DataFrame, what: str = "returns") -> pd.DataFrame:
    """``returns`` sorted by date, or a one-line error: missing columns, duplicate or
    unsorted dates, non-finite values or a return of −100 % or worse."""
    missing = [c for c in RETURN_COLUMNS if c not in returns.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (has {list(returns.columns)})")
    if returns.empty:
        raise ValueError(f"{what}: no rows")
    frame = returns.loc[:, list(RETURN_COLUMNS)].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    if frame["date"].duplicated().any():
        day = frame.loc[frame["date"].duplicated(), "date"].iloc[0]
        raise ValueError(f"{what}: duplicate date {day:%Y-%m-%d}")
    if not frame["date"].is_monotonic_increasing:
        raise ValueError(f"{what}: dates are not in increasing order")
    for column in ("strategy", "benchmark"):
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        bad = ~np.isfinite(values.to_numpy()) | (values.to_numpy() <= -1.0)
        if bad.any():
            row = frame.loc[bad].iloc[0]
            raise ValueError(
                f"{what}: {column} return {row[column]!r} on {row['date']:%Y-%m-%d} is not a "
                "finite simple return above -100%"
            )
        frame[column] = values
    return frame.reset_index(drop=True)


def equity_curve(r: pd.Series | np.ndarray) -> np.ndarray:
    """``V_t = Π_{s≤t} (1 + r_s)``: the value of 1 invested the day before the first return."""
    return np.cumprod(1.0 + np.asarray(r, dtype="float64"))


def drawdown(r: pd.Series | np.ndarray) -> np.ndarray:
    """``V_t / max_{s≤t} V_s − 1`` for each day, with ``V_0 = 1`` in the running maximum."""
    equity = equity_curve(r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return equity / peak - 1.0


def total_return(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    return float(np.prod(1.0 + x) - 1.0) if len(x) else float("nan")


def cagr(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    if len(x) == 0:
        return float("nan")
    return float((1.0 + total_return(x)) ** (TRADING_DAYS / len(x)) - 1.0)


def volatility(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    return float(x.std(ddof=1) * math.sqrt(TRADING_DAYS)) if len(x) > 1 else float("nan")


def sharpe(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    if len(x) < 2:
        return float("nan")
    std = float(x.std(ddof=1))
    if std == 0.0 or np.ptp(x) == 0.0:
        return float("nan")
    return float(x.mean() / std * math.sqrt(TRADING_DAYS))


def sortino(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    if len(x) < 2:
        return float("nan")
    downside = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    if downside == 0.0:
        return float("nan")
    return float(TRADING_DAYS * x.mean() / (downside * math.sqrt(TRADING_DAYS)))


def max_drawdown(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    return float(drawdown(x).min()) if len(x) else float("nan")


def calmar(r: pd.Series | np.ndarray) -> float:
    mdd = max_drawdown(r)
    if not mdd < 0:
        return float("nan")
    return cagr(r) / abs(mdd)


def alpha_beta(r: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> tuple[float, float]:
    """Annualised alpha and beta of ``r`` on ``b`` (module docstring)."""
    x = np.asarray(r, dtype="float64")
    y = np.asarray(b, dtype="float64")
    if len(x) != len(y):
        raise ValueError(f"alpha_beta: {len(x)} strategy and {len(y)} benchmark returns")
    if len(x) < 2:
        return float("nan"), float("nan")
    dy = y - y.mean()
    var = float(np.mean(dy * dy))
    if var < 1e-30:
        return float("nan"), float("nan")
    beta = float(np.mean(dy * x)) / var
    alpha = float((1.0 + np.mean(x - beta * y)) ** TRADING_DAYS - 1.0)
    return alpha, beta


def hit_rate(r: pd.Series | np.ndarray) -> float:
    x = np.asarray(r, dtype="float64")
    active = x != 0.0
    return float((x[active] > 0).mean()) if active.any() else float("nan")


def daily_turnover(traded_notional: pd.Series, equity: pd.Series) -> pd.Series:
    """One-way turnover per day: ``Σ|traded notional| / 2 / equity``.

    ``traded_notional`` is the day's absolute traded value (buys plus sells, ≥ 0) and
    ``equity`` the portfolio value it is measured against (the previous close, so a day
    that rebuilds the book from cash counts 0.5: buying it all is half a round trip).
    Both are indexed by date; days missing from ``traded_notional`` traded nothing.
    """
    if (traded_notional < 0).any():
        raise ValueError("daily_turnover: traded notional must be >= 0 (absolute values)")
    if (equity <= 0).any():
        raise ValueError("daily_turnover: equity must be > 0")
    traded = traded_notional.reindex(equity.index, fill_value=0.0)
    return traded / 2.0 / equity


@dataclass(frozen=True)
class Metrics:
    """The headline numbers of one backtest (definitions in the module docstring)."""

    start: str
    end: str
    n_days: int
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    hit_rate: float
    exposure: float
    turnover: float
    alpha: float
    beta: float
    benchmark_total_return: float
    benchmark_cagr: float
    benchmark_volatility: float
    benchmark_sharpe: float
    benchmark_max_drawdown: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Plain values for ``metrics.json`` and Dagster metadata; an undefined metric (NaN)
        becomes None, so the JSON is strict (``null``, not the non-standard ``NaN``)."""
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in asdict(self).items()
        }


def compute_metrics(
    returns: pd.DataFrame,
    *,
    exposure: pd.Series | None = None,
    turnover: pd.Series | None = None,
) -> Metrics:
    """Every headline metric of ``returns`` (``date, strategy, benchmark``).

    ``exposure`` (daily gross exposure) and ``turnover`` (daily one-way turnover, see
    :func:`daily_turnover`) are optional series by date; without them those metrics
    are NaN — a return series alone cannot tell how much was held or traded.
    """
    frame = check_returns(returns)
    r, b = frame["strategy"].to_numpy(), frame["benchmark"].to_numpy()
    alpha, beta = alpha_beta(r, b)
    return Metrics(
        start=f"{frame['date'].iloc[0]:%Y-%m-%d}",
        end=f"{frame['date'].iloc[-1]:%Y-%m-%d}",
        n_days=len(frame),
        total_return=total_return(r),
        cagr=cagr(r),
        volatility=volatility(r),
        sharpe=sharpe(r),
        sortino=sortino(r),
        max_drawdown=max_drawdown(r),
        calmar=calmar(r),
        hit_rate=hit_rate(r),
        exposure=_mean_over(exposure, frame["date"], "exposure"),
        turnover=TRADING_DAYS * _mean_over(turnover, frame["date"], "turnover"),
        alpha=alpha,
        beta=beta,
        benchmark_total_return=total_return(b),
        benchmark_cagr=cagr(b),
        benchmark_volatility=volatility(b),
        benchmark_sharpe=sharpe(b),
        benchmark_max_drawdown=max_drawdown(b),
    )


def _mean_over(series: pd.Series | None, dates: pd.Series, what: str) -> float:
    """Mean of ``series`` over the return dates; every return date must have a value."""
    if series is None:
        return float("nan")
    index = pd.DatetimeIndex(pd.to_datetime(series.index))
    values = pd.Series(series.to_numpy(dtype="float64"), index=index)
    aligned = values.reindex(pd.DatetimeIndex(dates))
    if aligned.isna().any():
        day = aligned.index[aligned.isna().to_numpy()][0]
        raise ValueError(f"compute_metrics: {what} has no value for {day:%Y-%m-%d}")
    return float(aligned.mean())


def yearly_table(returns: pd.DataFrame) -> pd.DataFrame:
    """One row per calendar year: compounded strategy and benchmark returns within the
    year, their difference, and the strategy's volatility, Sharpe and max drawdown
    measured on that year's days alone (annualised with 252; a partial year's return is
    not annualised)."""
    frame = check_returns(returns)
    rows = []
    for year, days in frame.groupby(frame["date"].dt.year):
        r, b = days["strategy"].to_numpy(), days["benchmark"].to_numpy()
        rows.append(
            {
                "year": int(year),
                "n_days": len(days),
                "strategy_return": total_return(r),
                "benchmark_return": total_return(b),
                "excess_return": total_return(r) - total_return(b),
                "volatility": volatility(r),
                "sharpe": sharpe(r),
                "max_drawdown": max_drawdown(r),
            }
        )
    return pd.DataFrame(rows).set_index("year")


def monthly_returns(returns: pd.DataFrame, column: str = "strategy") -> pd.DataFrame:
    """Year × month (1..12) table of ``column``'s returns compounded within each month;
    NaN for months without a day."""
    frame = check_returns(returns)
    if column not in ("strategy", "benchmark"):
        raise ValueError(f"monthly_returns: column must be strategy or benchmark, got {column!r}")
    dates = frame["date"].dt
    grouped = (1.0 + frame[column]).groupby([dates.year, dates.month]).prod() - 1.0
    table = grouped.unstack()
    table.index.name, table.columns.name = "year", "month"
    return table.reindex(columns=range(1, 13))
