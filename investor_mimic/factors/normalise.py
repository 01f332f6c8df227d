"""Cross-sectional normalisation of a (date x ticker) factor panel, one date at a time.

Why these choices:

* **Winsorise at the 1st/99th percentile of the date's cross-section** (linear
  interpolation between order statistics, like ``numpy.quantile``). Percentile clipping
  rather than ±k·MAD because several factors are sparse (insider buying and 13F flow are
  exactly 0 for most tickers on most dates): their MAD is 0 and a MAD rule would clip
  every informative value to the median.
* **z-score with the population standard deviation** (``ddof=0``), so a normalised
  cross-section has mean 0 and standard deviation exactly 1.
* **Optional sector neutrality**: after winsorising, subtract each sector's mean, then
  divide by the cross-sectional standard deviation; each sector then has mean 0.
* **NaN stays NaN** and is ignored by every statistic. A date whose cross-section has
  fewer than two values, or no dispersion after winsorising, carries no cross-sectional
  information: the whole date is NaN rather than a made-up 0.

Every statistic is computed within one row (date), so a date's output never depends on
another date's values (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _rows(panel: pd.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(panel.to_numpy(dtype=np.float64))


def _row_sum(values: np.ndarray) -> np.ndarray:
    """Sum of each row's non-NaN values, the same bits whether a row comes alone or in a batch.

    numpy sums a contiguous row pairwise but a strided one sequentially, and slices and
    ``DataFrame.to_numpy`` are often strided: sum C-contiguous rows only.
    """
    return np.nansum(np.ascontiguousarray(values), axis=1)


def _row_mean(values: np.ndarray) -> np.ndarray:
    count = np.sum(~np.isnan(values), axis=1)
    return np.where(count > 0, _row_sum(values) / np.maximum(count, 1), np.nan)


def row_quantiles(values: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``q`` and ``1 - q`` quantiles over the non-NaN values (NaN for empty rows)."""
    count = np.sum(~np.isnan(values), axis=1)
    return _quantiles_of_sorted(np.sort(values, axis=1), count, q)  # NaN sorts last


def _quantiles_of_sorted(
    ordered: np.ndarray, count: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`row_quantiles` from rows already sorted (NaN last) and their value counts."""
    out = []
    for level in (q, 1.0 - q):
        position = level * np.maximum(count - 1, 0)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, np.maximum(count - 1, 0))
        below = np.take_along_axis(ordered, low[:, None], axis=1)[:, 0]
        above = np.take_along_axis(ordered, high[:, None], axis=1)[:, 0]
        quantile = below + (position - low) * (above - below)
        out.append(np.where(count > 0, quantile, np.nan))
    return out[0], out[1]


def winsorise(panel: pd.DataFrame, q: float = 0.01) -> pd.DataFrame:
    """Clip each date's values to that date's [q, 1-q] quantiles."""
    if not 0.0 <= q < 0.5:
        raise ValueError(f"winsorise: quantile {q} is not in [0, 0.5)")
    values = _rows(panel)
    low, high = row_quantiles(values, q)
    with np.errstate(invalid="ignore"):
        clipped = np.clip(values, low[:, None], high[:, None])
    return pd.DataFrame(clipped, index=panel.index, columns=panel.columns, copy=False)


def sector_demean(panel: pd.DataFrame, sectors: pd.Series | np.ndarray) -> pd.DataFrame:
    """Subtract, per date, the mean of the ticker's sector: ``sectors`` indexed by ticker,
    or a (date x ticker) array of the sector each ticker had on each date (a sector
    change moves a ticker to its new sector's mean from that date on)."""
    if isinstance(sectors, pd.Series):
        missing = panel.columns.difference(sectors.index)
        if len(missing):
            raise ValueError(f"sector_demean: no sector for tickers {list(missing[:5])}")
        labels = np.broadcast_to(sectors.reindex(panel.columns).to_numpy(), panel.shape)
    else:
        labels = np.asarray(sectors, dtype=object)
        if labels.shape != panel.shape:
            raise ValueError(f"sector_demean: sectors {labels.shape} != panel {panel.shape}")
    values = _rows(panel)
    out = np.full_like(values, np.nan)
    for sector in pd.unique(labels.reshape(-1)):
        if sector is None:
            continue
        cells = labels == sector
        block = np.where(cells, values, np.nan)
        out[cells] = (block - _row_mean(block)[:, None])[cells]
    return pd.DataFrame(out, index=panel.index, columns=panel.columns, copy=False)


def zscore(panel: pd.DataFrame, *, demean: bool = True) -> pd.DataFrame:
    """Per date ``(x - mean) / std`` (ddof=0); dates with < 2 values or no dispersion are NaN.

    ``demean=False`` only scales (used after sector demeaning, which already centres).
    """
    values = _rows(panel)
    count = np.sum(~np.isnan(values), axis=1)
    deviation = values - _row_mean(values)[:, None]
    largest = np.max(np.abs(np.nan_to_num(values)), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(_row_sum(deviation**2) / count)
        # a spread at rounding-noise level is no dispersion (e.g. a sector-demeaned constant)
        informative = (count >= 2) & (spread > 1e-12 * largest)
        scaled = (deviation if demean else values) / np.where(informative, spread, np.nan)[:, None]
    return pd.DataFrame(scaled, index=panel.index, columns=panel.columns, copy=False)


#: Rows (dates) normalised at a time: a block of 3,000 tickers stays in cache (~3 MB),
#: so the dozen passes of winsorising and z-scoring run at cache speed instead of
#: streaming 60 MB temporaries through memory. Row statistics are per row, and
#: :func:`_row_sum` gives a row the same bits in any block, so the block size cannot
#: change a value.
BLOCK_ROWS = 128


def _normalise_block(block: np.ndarray, q: float) -> None:
    """Winsorise and z-score a C-ordered block of rows in place, as ``zscore(winsorise(.))``.

    Three passes fewer than the general path, with the same bits: clipping is monotone,
    so a row's largest clipped ``|x|`` is that of its clipped smallest or largest value
    (read off the sorted row), and with finite bounds clipping makes no new NaN, so the
    cells missing before are the cells missing after. A block whose bounds or means are
    not finite (infinite inputs) takes the general path.
    """
    missing = np.isnan(block)
    count = block.shape[1] - np.sum(missing, axis=1)
    ordered = np.sort(block, axis=1)  # NaN sorts last
    low, high = _quantiles_of_sorted(ordered, count, q)
    last = np.maximum(count - 1, 0)[:, None]
    with np.errstate(invalid="ignore"):
        extremes = np.clip(
            np.concatenate([ordered[:, :1], np.take_along_axis(ordered, last, axis=1)], axis=1),
            low[:, None],
            high[:, None],
        )
        np.clip(block, low[:, None], high[:, None], out=block)
    del ordered
    rows = count > 0
    zeroed = block.copy()  # nansum's own steps: NaN -> 0, a pairwise row sum
    np.copyto(zeroed, 0.0, where=missing)
    total = np.sum(zeroed, axis=1)
    mean = np.where(rows, total / np.maximum(count, 1), np.nan)
    if not (
        np.isfinite(low[rows]).all()
        and np.isfinite(high[rows]).all()
        and np.isfinite(mean[rows]).all()
    ):
        _normalise_block_general(block)
        return
    largest = np.max(np.abs(extremes), axis=1)
    block -= mean[:, None]  # the deviation; NaN where missing
    np.square(block, out=zeroed)
    np.fmax(zeroed, 0.0, out=zeroed)  # NaN -> 0; a square (never -0.0) is left as it is
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(np.sum(zeroed, axis=1) / count)
        informative = (count >= 2) & (spread > 1e-12 * largest)
        block /= np.where(informative, spread, np.nan)[:, None]


def _normalise_block_general(block: np.ndarray) -> None:
    """:func:`_normalise_block` after clipping, for blocks holding infinities."""
    missing = np.isnan(block)
    count = block.shape[1] - np.count_nonzero(missing, axis=1)
    # max |nan_to_num(x)|: NaN counts 0 (fmax skips it), ±inf the largest float
    largest = np.minimum(
        np.fmax.reduce(np.abs(block), axis=1, initial=0.0), np.finfo(np.float64).max
    )
    zeroed = np.where(missing, 0.0, block)
    total = np.sum(zeroed, axis=1)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    block -= mean[:, None]  # the deviation
    np.square(block, out=zeroed)
    zeroed[np.isnan(zeroed)] = 0.0  # (inf - inf is NaN too)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(np.sum(zeroed, axis=1) / count)
        informative = (count >= 2) & (spread > 1e-12 * largest)
        block /= np.where(informative, spread, np.nan)[:, None]


def normalise_cells(
    values: np.ndarray, *, q: float = 0.01, listed: np.ndarray | None = None
) -> np.ndarray:
    """:func:`normalise` without sectors on a (date x ticker) array, block by block.

    With a boolean ``listed`` of the same shape, the other cells are left out of every
    statistic (as if NaN) and of the result: it holds the listed cells in row-major
    order, the order of the factor panel's rows, so no full-size output is built and
    compacted afterwards. Without it, every cell (``values.size``).
    """
    if not 0.0 <= q < 0.5:
        raise ValueError(f"winsorise: quantile {q} is not in [0, 0.5)")
    n_rows, width = values.shape
    if listed is None:
        offsets = np.arange(n_rows + 1) * width
        unlisted = np.empty(0, dtype=np.int64)
    else:
        offsets = np.concatenate([[0], np.cumsum(np.count_nonzero(listed, axis=1))])
        unlisted = np.flatnonzero(~listed)  # few: set one by one, not by a full mask
    out = np.empty(int(offsets[-1]), dtype=np.float64)
    for start in range(0, n_rows, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n_rows)
        block = np.array(values[start:stop], dtype=np.float64, order="C")
        if listed is None:
            _normalise_block(block, q)
            out[offsets[start] : offsets[stop]] = block.reshape(-1)
        else:
            lo, hi = unlisted.searchsorted([start * width, stop * width])
            block.reshape(-1)[unlisted[lo:hi] - start * width] = np.nan
            _normalise_block(block, q)
            out[offsets[start] : offsets[stop]] = block[listed[start:stop]]
    return out


def normalise(
    panel: pd.DataFrame, *, q: float = 0.01, sectors: pd.Series | np.ndarray | None = None
) -> pd.DataFrame:
    """Winsorise, then z-score per date; with ``sectors`` (see :func:`sector_demean`),
    demean within sector first."""
    if sectors is None:
        values = normalise_cells(panel.to_numpy(dtype=np.float64), q=q).reshape(panel.shape)
        return pd.DataFrame(values, index=panel.index, columns=panel.columns, copy=False)
    clipped = winsorise(panel, q)
    return zscore(sector_demean(clipped, sectors), demean=False)
