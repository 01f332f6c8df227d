"""The factor panel: the registered factors for every (date, ticker), raw or normalised.

Which factors, with which parameters: :mod:`investor_mimic.factors.registry`.

Conventions:

* **Point in time.** The row for trading day D uses prices up to D's close and rows whose
  ``version_date`` / ``known_date`` / ``trading_date`` is on or before D; it is known at
  D's close, so trades built from it go to D+1's open. Tested by perturbing every input
  after D.
* **Calendar.** Factor windows count NYSE trading days (:mod:`investor_mimic.core.calendar`),
  from the first price bar (or news item, or requested date) to the last requested date.
  The row for D does not depend on which other dates were requested.
* **Universe.** A (date, ticker) row exists only while the ticker is listed at that date,
  with the sector it had then (:mod:`investor_mimic.core.security_master`); an unlisted
  ticker's values are masked before normalisation, so it never moves a z-score at a
  date it was not listed (tested by adding a ticker listed after D).
* **Coverage.** Every listed ticker gets a row for every requested date. A factor is
  NaN where it is not computable — too little price history for its window, no 13F
  portfolio known yet, no recent news, no dollar volume to scale insider trades by —
  never filled with 0. A 0 is a measured value: a 13F filer that does not hold the stock,
  no opportunistic insider trade in the window. After normalisation a date whose
  cross-section has fewer than two values or no dispersion is NaN for that factor.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from investor_mimic.core import security_master
from investor_mimic.core.calendar import trading_days
from investor_mimic.core.progress import Advance
from investor_mimic.factors.inputs import FactorInputs
from investor_mimic.factors.normalise import normalise, normalise_values
from investor_mimic.factors.registry import REGISTRY, FactorData, FactorParams, FactorRegistry

__all__ = ["FactorParams", "compute_factor_panel", "raw_factor_panels", "raw_factors"]


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


def _raw_panels(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    params: FactorParams | None,
    registry: FactorRegistry,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each registered factor, un-normalised, one at a time (so a caller can drop each);
    NaN wherever the ticker is not listed (the one place the universe mask is applied)."""
    dates = requested_dates(dates)
    values = registry.params(params)
    tickers = security_master.tickers(inputs.universe)
    listed = security_master.listed_mask(inputs.universe, dates, tickers)
    data = FactorData(inputs, _calendar(inputs, dates), tickers, values["price_fill_limit"])
    for f in registry:
        panel = f.compute(data, **{p: values[p] for p in f.params}).reindex(dates)
        yield f.name, panel if listed.all() else panel.where(listed)


def raw_factor_panels(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    params: FactorParams | None = None,
    registry: FactorRegistry = REGISTRY,
) -> dict[str, pd.DataFrame]:
    """Each registered factor, un-normalised, as a wide frame (index ``dates``, columns
    universe tickers), in registry order."""
    return dict(_raw_panels(inputs, dates, params, registry))


def _long(panels: dict[str, pd.DataFrame], universe: pd.DataFrame) -> pd.DataFrame:
    """Stack wide panels into factor panel rows (columns in ``panels`` order), sorted by
    date then ticker, for the (date, ticker) cells listed then.

    Built directly in the coerced form (``frames.coerce`` would re-cast 7.5M strings).
    """
    first = next(iter(panels.values()))
    return _long_arrays(
        first.index,
        first.columns,
        {name: panel.to_numpy(dtype=np.float64) for name, panel in panels.items()},
        universe,
    )


def _long_arrays(
    dates: pd.Index, tickers: pd.Index, values: dict[str, np.ndarray], universe: pd.DataFrame
) -> pd.DataFrame:
    """:func:`_long` from (date x ticker) arrays; C-ordered ones become columns uncopied
    when every ticker is listed on every date (else only the listed cells are kept)."""
    sector = security_master.sectors_as_of(universe, dates, tickers)
    listed = sector != None  # noqa: E711 (elementwise over an object array)
    n = len(dates)
    columns: dict[str, pd.Series] = {
        "date": pd.Series(np.repeat(dates.to_numpy(dtype="datetime64[ns]"), len(tickers))),
        "ticker": pd.Series(np.tile(tickers.to_numpy(dtype=object), n), dtype=object, copy=False),
        "sector": pd.Series(sector.reshape(-1), dtype=object, copy=False),
    }
    for name, wide in values.items():
        columns[name] = pd.Series(wide.reshape(-1), copy=False)
    frame = pd.DataFrame(columns, copy=False)
    if listed.all():
        return frame
    return frame[listed.reshape(-1)].reset_index(drop=True)


def raw_factors(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    *,
    params: FactorParams | None = None,
    registry: FactorRegistry = REGISTRY,
) -> pd.DataFrame:
    """The factors before normalisation, in the layout of ``registry.panel_schema()``."""
    return _long(raw_factor_panels(inputs, dates, params, registry), inputs.universe)


def compute_factor_panel(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    *,
    sector_neutral: bool = False,
    params: FactorParams | None = None,
    registry: FactorRegistry = REGISTRY,
    advance: Advance | None = None,
) -> pd.DataFrame:
    """The factor panel (``registry.panel_schema()``; by default ``registry.FACTOR_PANEL``)
    for every date in ``dates`` x universe ticker, sorted by both.

    Each factor is winsorised and z-scored per date (:mod:`investor_mimic.factors.normalise`),
    demeaned within sector first when ``sector_neutral``. ``advance(1, cells)`` is called
    after each factor (:mod:`investor_mimic.core.progress`).
    """
    q = registry.params(params)["winsor_quantile"]
    # Each raw panel is normalised as soon as it is computed and then dropped, so at most
    # one raw panel is alive next to the normalised ones (the panel's own columns).
    normalised: dict[str, np.ndarray] = {}
    index: tuple[pd.Index, pd.Index] | None = None
    for name, raw in _raw_panels(inputs, dates, params, registry):
        index = (raw.index, raw.columns)
        if not sector_neutral:
            normalised[name] = normalise_values(raw.to_numpy(dtype=np.float64), q=q)
        else:
            sectors = security_master.sectors_as_of(inputs.universe, raw.index, raw.columns)
            normalised[name] = normalise(raw, q=q, sectors=sectors).to_numpy(dtype=np.float64)
        if advance is not None:
            advance(1, raw.size)
        del raw
    assert index is not None  # a registry has at least one factor
    return _long_arrays(index[0], index[1], normalised, inputs.universe)
