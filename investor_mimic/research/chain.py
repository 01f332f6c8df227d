"""The research chain as plain functions: factor panel → targets → weights → evaluation.

Why here and not in the Dagster assets: the assets (``defs/factors.py``,
``defs/scoring.py``), the recovery/null/perturbation tests and the benchmarks must run
*the same code*, so each step is one function over a warehouse and DataFrames, and the
assets only wire them and record metadata.

Timing (see :mod:`investor_mimic.research.targets`): the panel and the composite at D use
data known by D's close; labels are open(D+1) → open(D+1+h) excess returns over the
benchmark; weights with ``refit_date`` R learn only from labels closed before R.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from investor_mimic.core.calendar import trading_days
from investor_mimic.core.progress import Advance
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.factors.panel import compute_factor_panel
from investor_mimic.research.composite import composite_scores
from investor_mimic.research.data import factor_inputs, read_prices
from investor_mimic.research.evaluation import Evaluation, OutOfSampleIC, evaluate, oos_ic
from investor_mimic.research.fitting import fit_weights, refit_dates
from investor_mimic.research.targets import forward_returns
from investor_mimic.settings import FitMethod


def factor_panel_for(
    warehouse: Warehouse,
    start: date,
    end: date,
    benchmark: str,
    *,
    sector_neutral: bool = False,
    advance: Advance | None = None,
) -> pd.DataFrame:
    """``frames.FACTOR_PANEL`` for the NYSE trading days in [start, end].

    Reads nothing known after ``end`` (:func:`investor_mimic.research.data.factor_inputs`).
    ``advance`` hears of each factor computed (:func:`compute_factor_panel`).
    """
    if start > end:
        raise ValueError(f"factor_panel_for: start {start} is after end {end}")
    inputs = factor_inputs(warehouse, start, end, benchmark)
    return compute_factor_panel(
        inputs, trading_days(start, end), sector_neutral=sector_neutral, advance=advance
    )


def label_read_end(last: date, horizon: int) -> date:
    """The last calendar day of prices a label of ``last`` may need: h + 1 trading days on.

    Two calendar days per trading day plus ten covers weekends and any run of holidays.
    Labels whose window runs past the prices are NaN and purged by the fitter, so a
    generous bound changes nothing but the rows read.
    """
    return last + timedelta(days=2 * (horizon + 1) + 10)


def targets_for(
    warehouse: Warehouse, panel: pd.DataFrame, horizon: int, benchmark: str
) -> pd.DataFrame:
    """Forward excess returns over ``benchmark`` for the panel's dates (``TARGET_COLUMNS``).

    The windows run past the panel's last day; the fitter purges labels not yet closed
    at a refit date, so reading those prices never leaks into past weights.
    """
    if panel.empty:
        raise ValueError("targets_for: the factor panel is empty")
    first, last = panel["date"].min().date(), panel["date"].max().date()
    # forward returns run open to open: the other bars are not read
    columns = ("date", "ticker", "open")
    prices = read_prices(warehouse, first, label_read_end(last, horizon), columns=columns)
    return forward_returns(prices, horizon, benchmark=benchmark)


def weight_schedule(
    panel: pd.DataFrame, targets: pd.DataFrame, method: FitMethod, horizon: int
) -> pd.DataFrame:
    """Walk-forward weights (``frames.FACTOR_WEIGHTS``), refit on the first trading day
    of each month of the panel."""
    days = pd.DatetimeIndex(panel["date"].unique()).sort_values()
    return fit_weights(
        panel, targets, method=method, horizon=horizon, refit_dates=refit_dates(days)
    )


def evaluate_out_of_sample(
    panel: pd.DataFrame,
    composite: pd.DataFrame,
    weights: pd.DataFrame,
    targets: pd.DataFrame,
    horizon: int,
) -> tuple[Evaluation, OutOfSampleIC]:
    """Every factor and the composite on the dates on or after the first refit.

    Before the first refit no weights exist, so only those later dates are comparable
    between the factors and the composite (and the composite is out of sample there).
    """
    if weights.empty:
        raise ValueError(
            "evaluate_out_of_sample: no weights were fitted (too few training dates "
            "in the panel for even one refit)"
        )
    first_refit = pd.Timestamp(weights["refit_date"].min())
    oos_panel = panel[panel["date"] >= first_refit]
    evaluation = evaluate(oos_panel, targets, horizon=horizon, composite=composite)
    return evaluation, oos_ic(composite, targets, weights, horizon=horizon)


@dataclass(frozen=True)
class ResearchRun:
    """Every frame of one pass of the chain, and its out-of-sample verdict."""

    panel: pd.DataFrame
    targets: pd.DataFrame
    weights: pd.DataFrame
    composite: pd.DataFrame
    evaluation: Evaluation
    oos: OutOfSampleIC


def run_research(
    warehouse: Warehouse,
    start: date,
    end: date,
    benchmark: str,
    *,
    method: FitMethod,
    horizon: int,
    sector_neutral: bool = False,
) -> ResearchRun:
    """The whole chain over [start, end]: what the Dagster assets compute, in one call."""
    panel = factor_panel_for(warehouse, start, end, benchmark, sector_neutral=sector_neutral)
    targets = targets_for(warehouse, panel, horizon, benchmark)
    weights = weight_schedule(panel, targets, method, horizon)
    composite = composite_scores(panel, weights)
    evaluation, oos = evaluate_out_of_sample(panel, composite, weights, targets, horizon)
    return ResearchRun(panel, targets, weights, composite, evaluation, oos)
