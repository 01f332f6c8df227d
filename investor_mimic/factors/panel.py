"""The factor panel: the eight factors for every (date, ticker), raw or normalised.

Conventions:

* **Point in time.** The row for trading day D uses prices up to D's close and rows whose
  ``version_date`` / ``known_date`` / ``trading_date`` is on or before D; it is known at
  D's close, so trades built from it go to D+1's open. Tested by perturbing every input
  after D.
* **Calendar.** Factor windows count NYSE trading days (:mod:`investor_mimic.core.calendar`),
  from the first price bar (or news item, or requested date) to the last requested date.
  The row for D does not depend on which other dates were requested.
* **Coverage.** Every universe ticker gets a row for every requested date. A factor is
  NaN where it is not computable — too little price history for its window, no 13F
  portfolio known yet, no recent news, no dollar volume to scale insider trades by —
  never filled with 0. A 0 is a measured value: a 13F filer that does not hold the stock,
  no opportunistic insider trade in the window. After normalisation a date whose
  cross-section has fewer than two values or no dispersion is NaN for that factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.calendar import trading_days
from investor_mimic.factors import insider, news, price, thirteenf
from investor_mimic.factors.inputs import FactorInputs
from investor_mimic.factors.normalise import normalise


@dataclass(frozen=True)
class FactorParams:
    """Windows of the factors (trading days unless stated) and the winsorising quantile."""

    momentum_lookback: int = 252
    momentum_skip: int = 21
    trend_windows: tuple[int, ...] = (50, 200)
    relative_strength_days: int = 63
    volume_days: int = 50
    insider_window_days: int = 90  # calendar days of known_date
    adv_days: int = 63
    news_half_life: float = 5.0
    news_window: int = 20
    price_fill_limit: int = 5  # missing bars carried forward at most this many days
    winsor_quantile: float = 0.01


def requested_dates(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``dates`` sorted; raises unless they are unique midnight NYSE trading days."""
    dates = pd.DatetimeIndex(dates)
    if dates.empty:
        raise ValueError("factor dates: no dates requested")
    if dates.has_duplicates:
        raise ValueError(f"factor dates: duplicates, e.g. {dates[dates.duplicated()][0].date()}")
    if (dates != dates.normalize()).any():
        raise ValueError("factor dates: must be midnight dates, got times of day")
    dates = dates.sort_values()
    not_trading = dates.difference(trading_days(dates[0].date(), dates[-1].date()))
    if len(not_trading):
        raise ValueError(
            f"factor dates: {len(not_trading)} are not NYSE trading days, "
            f"e.g. {not_trading[0].date()}"
        )
    return dates


def _calendar(inputs: FactorInputs, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    firsts = [dates[0], inputs.prices["date"].min()]
    if len(inputs.news):
        firsts.append(inputs.news["trading_date"].min())
    return trading_days(min(firsts).date(), dates[-1].date())


def raw_factor_panels(
    inputs: FactorInputs, dates: pd.DatetimeIndex, params: FactorParams = FactorParams()
) -> dict[str, pd.DataFrame]:
    """Each factor, un-normalised, as a wide frame (index ``dates``, columns universe tickers)."""
    dates = requested_dates(dates)
    calendar = _calendar(inputs, dates)
    tickers = pd.Index(sorted(inputs.universe["ticker"]), name="ticker")
    priced = tickers.union(pd.Index([inputs.benchmark]))
    bars = price.price_panels(inputs.prices, calendar, priced, params.price_fill_limit)
    close, volume = bars.close[tickers], bars.volume[tickers]
    adv = price.average_dollar_volume(close, volume, params.adv_days)
    panels = {
        "conviction_13f": thirteenf.conviction_13f(inputs.portfolio_weights, calendar, tickers),
        "flow_13f": thirteenf.flow_13f(inputs.position_changes, calendar, tickers),
        "insider_net_buying": insider.insider_net_buying(
            inputs.insider_trades, adv, window_days=params.insider_window_days
        ),
        "news_sentiment": news.news_sentiment(
            inputs.news,
            calendar,
            tickers,
            half_life=params.news_half_life,
            window=params.news_window,
        ),
        "momentum_12_1": price.momentum_12_1(close, params.momentum_lookback, params.momentum_skip),
        "trend": price.trend(close, params.trend_windows),
        "relative_strength": price.relative_strength(
            close, bars.close[inputs.benchmark], params.relative_strength_days
        ),
        "volume_accumulation": price.volume_accumulation(close, volume, params.volume_days),
    }
    return {name: panels[name].reindex(dates) for name in frames.FACTOR_NAMES}


def _long(panels: dict[str, pd.DataFrame], universe: pd.DataFrame) -> pd.DataFrame:
    """Stack wide panels into ``frames.FACTOR_PANEL`` rows, sorted by date then ticker.

    Built directly in the coerced form (``frames.coerce`` would re-cast 7.5M strings).
    """
    first = panels[frames.FACTOR_NAMES[0]]
    dates, tickers = first.index, first.columns
    sector = universe.set_index("ticker")["sector"].reindex(tickers).to_numpy(dtype=object)
    n = len(dates)
    columns: dict[str, pd.Series] = {
        "date": pd.Series(np.repeat(dates.to_numpy(dtype="datetime64[ns]"), len(tickers))),
        "ticker": pd.Series(np.tile(tickers.to_numpy(dtype=object), n), dtype=object, copy=False),
        "sector": pd.Series(np.tile(sector, n), dtype=object, copy=False),
    }
    for name in frames.FACTOR_NAMES:
        flat = panels[name].to_numpy(dtype=np.float64).reshape(-1)
        columns[name] = pd.Series(flat, copy=False)
    return pd.DataFrame(columns, copy=False)


def raw_factors(
    inputs: FactorInputs, dates: pd.DatetimeIndex, *, params: FactorParams = FactorParams()
) -> pd.DataFrame:
    """The factors before normalisation, in the ``frames.FACTOR_PANEL`` layout."""
    return _long(raw_factor_panels(inputs, dates, params), inputs.universe)


def compute_factor_panel(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    *,
    sector_neutral: bool = False,
    params: FactorParams = FactorParams(),
) -> pd.DataFrame:
    """``frames.FACTOR_PANEL`` for every date in ``dates`` x universe ticker, sorted by both.

    Each factor is winsorised and z-scored per date (:mod:`investor_mimic.factors.normalise`),
    demeaned within sector first when ``sector_neutral``.
    """
    sectors = inputs.universe.set_index("ticker")["sector"] if sector_neutral else None
    panels = {
        name: normalise(panel, q=params.winsor_quantile, sectors=sectors)
        for name, panel in raw_factor_panels(inputs, dates, params).items()
    }
    return _long(panels, inputs.universe)
