"""Warehouse reads for research: the point-in-time-bounded inputs of the factor panel.

Why bounded queries here: the factor functions enforce "nothing after D" row by row,
and these reads add a second fence (nothing after the run's last day is even loaded),
while fetching only the look-back each input needs. Which inputs, from which tables,
bounded by which column and look-back: :data:`investor_mimic.factors.inputs.INPUTS`;
only the inputs the registered factors read are loaded.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.factors.inputs import INPUTS, FactorInputs, empty
from investor_mimic.factors.registry import REGISTRY, FactorRegistry


def read_prices(
    warehouse: Warehouse, start: date, end: date, columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Bars of [start, end] in ``frames.PRICES`` form: every column, or ``columns`` only."""
    spec = frames.PRICES if columns is None else frames.PRICES.select_columns(list(columns))
    frame = warehouse.read(
        f"SELECT {', '.join(spec.columns)} FROM raw_prices WHERE date >= :start AND date <= :end",  # nosec B608 # contract column names; values bound
        {"start": start, "end": end},
    )
    return frames.coerce(frame, spec)


def read_input(warehouse: Warehouse, field: str, start: date, end: date) -> pd.DataFrame:
    """Input ``field`` as known by ``end``, from its look-back before ``start`` on.

    Typed at the boundary by :class:`FactorInputs` (SQLite returns dates as text, bools
    as 0/1).
    """
    inp = INPUTS[field]
    if field == "prices":  # typed here: targets read prices the same way
        first = start - timedelta(days=inp.lookback_days or 0)
        return read_prices(warehouse, first, end, inp.columns)
    where: list[str] = []
    bounds: dict[str, Any] = {}
    if inp.known_column:
        if inp.lookback_days is not None:
            where.append(f"{inp.known_column} >= :start")
            bounds["start"] = start - timedelta(days=inp.lookback_days)
        where.append(f"{inp.known_column} <= :end")
        bounds["end"] = end
    sql = f"SELECT * FROM {inp.table}" + (f" WHERE {' AND '.join(where)}" if where else "")  # nosec B608 # registry identifiers; values bound
    return warehouse.read(sql, bounds)


def factor_inputs(
    warehouse: Warehouse,
    start: date,
    end: date,
    benchmark: str,
    registry: FactorRegistry = REGISTRY,
) -> FactorInputs:
    """Everything the registered factors' panel for trading days [start, end] may use."""
    needed = set(registry.inputs)
    return FactorInputs(
        benchmark=benchmark,
        **{
            field: read_input(warehouse, field, start, end) if field in needed else empty(field)
            for field in INPUTS
        },
    )
