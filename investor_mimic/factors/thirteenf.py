"""The two 13F factors: what tracked filers hold (conviction) and what they changed (flow).

Point-in-time rule (as-of selection of versions): a 13F (filer, period) may have several
versions — the original, restatements, new-holdings amendments — each a complete
portfolio known from its ``version_date`` (the first trading day after acceptance,
shifted upstream). On day D each filer contributes exactly one version: among its
versions with ``version_date <= D``, the one with the latest ``period_of_report`` and,
within that period, the latest ``version_date``. A late amendment of an old period
therefore never displaces a newer period, and nothing filed after D is ever seen.

Aggregation across filers: both factors average over **every filer with a known
portfolio on D**, counting 0 for a filer that does not hold (or did not trade) the
stock. This measures breadth times size — a stock that 10 of 20 filers hold at 5% scores
above one that a single filer holds at 10% — and the 0 is a measured "not held", not a
fill. A date on which no filer has a known portfolio is NaN for every ticker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

_VERSION = ["filer_cik", "period_of_report", "version_date"]


def filer_average(
    rows: pd.DataFrame, values: np.ndarray, calendar: pd.DatetimeIndex, tickers: pd.Index
) -> pd.DataFrame:
    """Per day and ticker, the mean of ``values`` over filers' as-of versions (0 if absent).

    ``rows`` has the 13F version columns and ``ticker``; ``values`` is aligned with it.
    Vectorised: each day's set of active versions (one per filer) is a "state"; states are
    deduplicated, and the per-state sums are one sparse product (states x versions) @
    (versions x tickers).
    """
    versions = rows[_VERSION].drop_duplicates().sort_values(_VERSION, ignore_index=True)
    if versions.empty:
        return pd.DataFrame(np.nan, index=calendar, columns=tickers)
    # Version ids follow (filer, period, version_date) order, so for one filer the as-of
    # rule picks the largest id among its versions known by D.
    version_id = pd.MultiIndex.from_frame(versions).get_indexer(
        pd.MultiIndex.from_frame(rows[_VERSION])
    )
    filer, _ = pd.factorize(versions["filer_cik"], sort=True)
    first_day = calendar.searchsorted(versions["version_date"].to_numpy(), side="left")
    active = np.full((len(calendar) + 1, filer.max() + 1), -1, dtype=np.int64)
    np.maximum.at(active, (first_day, filer), np.arange(len(versions)))
    active = np.maximum.accumulate(active[: len(calendar)], axis=0)

    states, day_state = np.unique(active, axis=0, return_inverse=True)
    state, slot = np.nonzero(states >= 0)
    select = sparse.csr_matrix(
        (np.ones(len(state)), (state, states[state, slot])), shape=(len(states), len(versions))
    )
    select.sort_indices()  # sums run in version-id order: same bits for the same state
    col = tickers.get_indexer(pd.Index(rows["ticker"]))
    held = col >= 0
    holdings = sparse.csr_matrix(
        (values[held], (version_id[held], col[held])), shape=(len(versions), len(tickers))
    )
    sums = (select @ holdings).toarray()
    n_filers = (states >= 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_state = sums / np.where(n_filers > 0, n_filers, np.nan)[:, None]
    return pd.DataFrame(
        per_state[day_state.reshape(-1)], index=calendar, columns=tickers, copy=False
    )


def conviction_13f(
    weights: pd.DataFrame, calendar: pd.DatetimeIndex, tickers: pd.Index
) -> pd.DataFrame:
    """Mean portfolio weight of the stock across tracked filers, as known on D.

    ``conviction[D, t] = (1 / F_D) * sum_f weight[f, v_f(D), t]`` where ``F_D`` is the number
    of filers with a version known on D and ``v_f(D)`` the as-of version (module docstring).
    Source: ``filer_portfolio_weights`` (13F-HR information tables, put/call and PRN rows
    excluded upstream; ``weight`` = position value / portfolio value).
    """
    return filer_average(weights, weights["weight"].to_numpy(np.float64), calendar, tickers)


def change_score(changes: pd.DataFrame) -> np.ndarray:
    """+1 new, -1 exited, 0 unchanged, else the share change clipped to [-1, 1].

    Computed from ``shares / prev_shares - 1`` rather than ``share_change_pct`` so the
    score does not depend on whether that column is stated in percent or as a fraction.
    """
    kind = changes["change_type"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        resized = np.clip(changes["shares"] / changes["prev_shares"] - 1.0, -1.0, 1.0)
    return np.select(
        [kind == "new", kind == "exited", np.isin(kind, ["added", "trimmed"])],
        [1.0, -1.0, resized],
        0.0,
    )


def flow_13f(changes: pd.DataFrame, calendar: pd.DatetimeIndex, tickers: pd.Index) -> pd.DataFrame:
    """Consensus quarter-over-quarter change of positions across tracked filers, as known on D.

    ``flow[D, t] = (1 / F_D) * sum_f score[f, v_f(D), t]`` with :func:`change_score` (new = +1,
    exited = -1, added/trimmed = relative share change clipped to [-1, 1]); a filer that did
    not hold the stock in either quarter counts 0. Source: ``thirteenf_position_changes``
    (each version compared with the filer's previous period).
    """
    return filer_average(changes, change_score(changes), calendar, tickers)
