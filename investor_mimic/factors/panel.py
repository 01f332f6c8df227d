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

import ctypes
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa

from investor_mimic.core import security_master
from investor_mimic.core.calendar import trading_days
from investor_mimic.core.progress import Advance
from investor_mimic.factors.inputs import FactorInputs
from investor_mimic.factors.normalise import normalise, normalise_cells
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


#: Dates per chunk when the key columns skip unlisted cells (a 6 MB temporary at most).
_KEY_ROWS = 256


@dataclass(frozen=True)
class _Cells:
    """The panel's (date x ticker) cells: which are listed, with which sector.

    Universes change rarely, so the grid is read from the security master once per run of
    dates with the same rows in force and repeated down each run: repeating rows of an
    object array is a copy, while a per-cell look-up costs a reference count each (the
    sector grid of the large world: 0.44 s per cell, 0.03 s by runs).
    """

    dates: pd.DatetimeIndex
    tickers: pd.Index
    states: np.ndarray  # (run x ticker) sector, None when unlisted
    runs: np.ndarray  # dates per run
    listed: np.ndarray  # (date x ticker) bool
    everywhere: bool  # every ticker listed on every date

    @classmethod
    def of(cls, universe: pd.DataFrame, dates: pd.DatetimeIndex, tickers: pd.Index) -> _Cells:
        """Two dates share a run when as many master rows have begun (``valid_from <= d``)
        and as many have ended (``valid_to < d``) by each: the same rows are in force."""
        lo = pd.to_datetime(universe["valid_from"]).to_numpy(dtype="datetime64[ns]")
        hi = pd.to_datetime(universe["valid_to"]).to_numpy(dtype="datetime64[ns]")
        lo_ns = np.sort(np.where(np.isnat(lo), np.iinfo(np.int64).min, lo.view(np.int64)))
        hi_ns = np.sort(np.where(np.isnat(hi), np.iinfo(np.int64).max, hi.view(np.int64)))
        days = dates.to_numpy(dtype="datetime64[ns]").view(np.int64)
        begun = lo_ns.searchsorted(days, side="right")
        ended = hi_ns.searchsorted(days, side="left")
        first = np.flatnonzero(
            np.concatenate([[True], (begun[1:] != begun[:-1]) | (ended[1:] != ended[:-1])])
        )
        runs = np.diff(np.append(first, len(dates)))
        states = security_master.sectors_as_of(universe, dates[first], tickers)
        listed = np.repeat(states != None, runs, axis=0)  # noqa: E711 (elementwise)
        return cls(dates, tickers, states, runs, listed, bool(listed.all()))

    def rows(self) -> dict[str, pd.Series]:
        """The panel's key columns: date, ticker and sector of each listed cell.

        With unlisted cells, the ticker and sector columns are filled a chunk of dates at a
        time from broadcast rows (no full-size grid to compact, no per-date loop).
        """
        n_dates, n_tickers = self.listed.shape
        tickers = self.tickers.to_numpy(dtype=object)
        if self.everywhere:
            per_date = np.full(n_dates, n_tickers)
            ticker = np.repeat(tickers[None, :], n_dates, axis=0).reshape(-1)
            sector = np.repeat(self.states, self.runs, axis=0).reshape(-1)
        else:
            per_date = np.count_nonzero(self.listed, axis=1)
            offsets = np.concatenate([[0], np.cumsum(per_date)])
            ticker = np.empty(int(offsets[-1]), dtype=object)
            sector = np.empty(len(ticker), dtype=object)
            run_starts = np.concatenate([[0], np.cumsum(self.runs)])
            for run, state in enumerate(self.states):
                for first in range(run_starts[run], run_starts[run + 1], _KEY_ROWS):
                    last = min(first + _KEY_ROWS, run_starts[run + 1])
                    cells = self.listed[first:last]
                    shape = (last - first, n_tickers)
                    into = slice(offsets[first], offsets[last])
                    ticker[into] = np.broadcast_to(tickers, shape)[cells]
                    sector[into] = np.broadcast_to(state, shape)[cells]
        return {
            "date": pd.Series(
                np.repeat(self.dates.to_numpy(dtype="datetime64[ns]"), per_date), copy=False
            ),
            "ticker": pd.Series(ticker, dtype=object, copy=False),
            "sector": pd.Series(sector, dtype=object, copy=False),
        }

    def column(self, wide: np.ndarray) -> np.ndarray:
        """The listed cells of a (date x ticker) array, row-major: a view when all are."""
        return wide.reshape(-1) if self.everywhere else wide[self.listed]


def _raw_values(
    inputs: FactorInputs,
    cells: _Cells,
    params: FactorParams | None,
    registry: FactorRegistry,
) -> Iterator[tuple[str, np.ndarray]]:
    """Each registered factor, un-normalised, one at a time (so a caller can drop each), as
    a (date x ticker) array, unlisted cells not masked yet (it may be a view).

    Factors that read prices come first (else in registry order), so the two price
    panels (120 MB on the large world) are dropped before most other results exist;
    callers put the columns back in registry order.
    """
    dates = cells.dates
    values = registry.params(params)
    calendar = _calendar(inputs, dates)
    data = FactorData(inputs, calendar, cells.tickers, values["price_fill_limit"])
    rows = calendar.get_indexer(dates)  # requested dates are trading days in the calendar
    contiguous = bool((np.diff(rows) == 1).all())
    factors = sorted(registry, key=lambda f: "prices" not in f.inputs)  # stable
    last_reader = max((i for i, f in enumerate(factors) if "prices" in f.inputs), default=-1)
    for i, f in enumerate(factors):
        wide = f.compute(data, **{p: values[p] for p in f.params}).to_numpy(dtype=np.float64)
        if i == last_reader:
            data.forget_prices()  # no later factor reads them
        yield f.name, wide[rows[0] : rows[-1] + 1] if contiguous else wide[rows]


def raw_factor_panels(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    params: FactorParams | None = None,
    registry: FactorRegistry = REGISTRY,
) -> dict[str, pd.DataFrame]:
    """Each registered factor, un-normalised, as a wide frame (index ``dates``, columns
    universe tickers), in registry order; NaN wherever the ticker is not listed."""
    dates = requested_dates(dates)
    cells = _Cells.of(inputs.universe, dates, security_master.tickers(inputs.universe))
    panels = {
        name: pd.DataFrame(
            wide if cells.everywhere else np.where(cells.listed, wide, np.nan),
            index=dates,
            columns=cells.tickers,
            copy=False,
        )
        for name, wide in _raw_values(inputs, cells, params, registry)
    }
    return {name: panels[name] for name in registry.names}


def _return_free_memory() -> None:
    """Give the pages the allocators keep after the factors back to the OS, before the
    panel's key columns are allocated (the panel's peak memory).

    Arrow's pool keeps what it frees (the prices' ticker look-up), and glibc keeps up to
    twice its adaptive mmap threshold free at the top of its heap (the factors' 4-30 MB
    temporaries raise it): on the large world ~80 MB that the panel's 60 MB columns, each
    its own mapping, cannot reuse. ``malloc_trim`` is glibc's; elsewhere only Arrow's.
    """
    pa.default_memory_pool().release_unused()
    trim = getattr(_process_symbols(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@cache
def _process_symbols() -> ctypes.CDLL | None:
    """The C functions linked into this process (libc's among them), or None."""
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):
        return None


def _long_frame(cells: _Cells, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Factor panel rows (columns in ``values`` order, each holding the listed cells),
    sorted by date then ticker; the arrays become columns uncopied.

    Built directly in the coerced form (``frames.coerce`` would re-cast 7.5M strings).
    """
    columns = cells.rows()
    for name, column in values.items():
        columns[name] = pd.Series(column, copy=False)
    return pd.DataFrame(columns, copy=False)


def raw_factors(
    inputs: FactorInputs,
    dates: pd.DatetimeIndex,
    *,
    params: FactorParams | None = None,
    registry: FactorRegistry = REGISTRY,
) -> pd.DataFrame:
    """The factors before normalisation, in the layout of ``registry.panel_schema()``."""
    dates = requested_dates(dates)
    cells = _Cells.of(inputs.universe, dates, security_master.tickers(inputs.universe))
    values = {
        name: np.ascontiguousarray(cells.column(wide))
        for name, wide in _raw_values(inputs, cells, params, registry)
    }
    return _long_frame(cells, {name: values[name] for name in registry.names})


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
    dates = requested_dates(dates)
    cells = _Cells.of(inputs.universe, dates, security_master.tickers(inputs.universe))
    listed = None if cells.everywhere else cells.listed

    def normalised(raw: np.ndarray) -> np.ndarray:
        if not sector_neutral:
            return normalise_cells(raw, q=q, listed=listed)
        masked = pd.DataFrame(np.where(cells.listed, raw, np.nan))
        sectors = np.repeat(cells.states, cells.runs, axis=0)
        return cells.column(normalise(masked, q=q, sectors=sectors).to_numpy())

    # Each raw panel is normalised on a second thread while the next factors are computed
    # (numpy lets go of the GIL in its kernels: on two cores the large world's 0.8 s of
    # normalisation runs beside the factors). Some factors take less time than their
    # normalisation, so up to _BEHIND wait their turn: at most _BEHIND + 1 raw panels are
    # alive next to the normalised columns, below the panel's own peak (its key columns).
    # A column's bits do not depend on the thread that computes it.
    columns: dict[str, Future[np.ndarray]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="normalise") as pool:
        pending: deque[tuple[Future[np.ndarray], int]] = deque()
        for name, raw in _raw_values(inputs, cells, params, registry):
            while len(pending) >= _BEHIND:
                _finished(*pending.popleft(), advance)
            columns[name] = pool.submit(normalised, raw)
            pending.append((columns[name], raw.size))
            del raw
        while pending:
            _finished(*pending.popleft(), advance)
    _return_free_memory()
    return _long_frame(cells, {name: columns[name].result() for name in registry.names})


#: Raw panels waiting for (or in) normalisation while the next factor is computed.
_BEHIND = 2


def _finished(column: Future[np.ndarray], cells: int, advance: Advance | None) -> None:
    """Wait for a factor's normalisation (raising its error, if any), then report it."""
    column.result()
    if advance is not None:
        advance(1, cells)
