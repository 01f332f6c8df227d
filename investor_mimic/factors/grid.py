"""Laying long rows onto the factors' (trading day x ticker) grid: row and column numbers.

Inputs arrive as long frames of millions of rows (7.5M bars on the large world); these
look-ups turn their dates and tickers into grid positions without hashing each value
as a Python object.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_DAY_NS = 86_400_000_000_000


def day_rows(dates: pd.Series, calendar: pd.DatetimeIndex) -> np.ndarray:
    """The calendar row of each (midnight) date, -1 when not in the calendar.

    Through a table by day number: a subtraction and a gather per bar instead of hashing
    7.5M timestamps.
    """
    days = dates.to_numpy(dtype="datetime64[ns]").view(np.int64) // _DAY_NS
    if not len(days):
        return days
    first, last = int(days.min()), int(days.max())
    table = np.full(last - first + 1, -1, dtype=np.int64)
    wanted = calendar.to_numpy(dtype="datetime64[ns]").view(np.int64) // _DAY_NS - first
    inside = (wanted >= 0) & (wanted < len(table))
    table[wanted[inside]] = np.flatnonzero(inside)
    days -= first
    return table[days]


def label_positions(column: pd.Series, labels: pd.Index) -> np.ndarray:
    """The position of each value in ``labels``, -1 when absent (an integer array).

    Arrow-backed strings are looked up by Arrow's hash table without becoming Python
    objects (7.5M tickers: 0.11 s against 0.44 s for ``pd.factorize``).
    """
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        found = pc.index_in(pa.array(column), value_set=pa.array(labels.to_numpy(dtype=object)))
        return pc.fill_null(found, -1).to_numpy()
    # factorize first: looking up 3,000 distinct labels beats hashing 7.5M strings
    code, label = pd.factorize(column)
    return labels.get_indexer(label)[code]
