"""Column contracts of the frames that cross module boundaries.

Why: parsers, sources, the warehouse, factors and asset checks all agree on these
names and dtypes, and the schema asset checks validate against them. Conventions:

* ``date`` columns are midnight ``datetime64[ns]`` (naive), ``datetime`` columns are
  naive US/Eastern wall-clock ``datetime64[ns]`` (see :mod:`investor_mimic.core.calendar`).
* ``string`` columns may hold missing values (``None``/NA) only where ``nullable``.
* CIKs are 10-digit zero-padded strings; CUSIPs are 9 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

Kind = str  # "string" | "float" | "int" | "bool" | "date" | "datetime"


@dataclass(frozen=True)
class FrameSpec:
    """Name, column kinds, the unique key and the columns allowed to be missing."""

    name: str
    columns: dict[str, Kind]
    key: tuple[str, ...]
    nullable: frozenset[str] = field(default_factory=frozenset)

    def empty(self) -> pd.DataFrame:
        return coerce(pd.DataFrame({c: [] for c in self.columns}), self)


def coerce(frame: pd.DataFrame, spec: FrameSpec) -> pd.DataFrame:
    """Select the spec's columns in order and cast them to the spec's dtypes."""
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    columns: dict[str, pd.Series] = {}
    for col, kind in spec.columns.items():
        s = frame[col]
        if kind in ("date", "datetime"):
            s = pd.to_datetime(s).astype("datetime64[ns]")
            columns[col] = s.dt.normalize() if kind == "date" else s
        elif kind == "float":
            columns[col] = pd.to_numeric(s).astype("float64")
        elif kind == "int":
            columns[col] = pd.to_numeric(s).astype("int64")
        elif kind == "bool":
            if s.isna().any():  # astype(bool) would turn NaN into True
                raise ValueError(f"{spec.name}: {col} has missing values")
            columns[col] = s.astype("bool")
        else:
            columns[col] = s.astype("object").where(s.notna(), None)
    out = pd.DataFrame(columns, index=frame.index)
    return out.reset_index(drop=True)


def schema_problems(frame: pd.DataFrame, spec: FrameSpec) -> list[str]:
    """What is wrong with ``frame`` against ``spec``: missing/extra columns, dtypes, nulls."""
    problems: list[str] = []
    missing = [c for c in spec.columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.columns]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    checks = {
        "float": pd.api.types.is_float_dtype,
        "int": pd.api.types.is_integer_dtype,
        "bool": pd.api.types.is_bool_dtype,
        "date": pd.api.types.is_datetime64_any_dtype,
        "datetime": pd.api.types.is_datetime64_any_dtype,
        "string": lambda s: pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s),
    }
    for col, kind in spec.columns.items():
        if col not in frame.columns:
            continue
        if not checks[kind](frame[col]):
            problems.append(f"{col}: dtype {frame[col].dtype} is not {kind}")
        if col not in spec.nullable and frame[col].isna().any():
            problems.append(f"{col}: {int(frame[col].isna().sum())} missing values")
    return problems


UNIVERSE = FrameSpec(
    "universe",
    {"ticker": "string", "cik": "string", "cusip": "string", "name": "string", "sector": "string"},
    key=("ticker",),
)

THIRTEENF_HOLDINGS = FrameSpec(
    "thirteenf_holdings",
    {
        "filer_cik": "string",
        "filer_name": "string",
        "accession": "string",
        "form": "string",  # 13F-HR or 13F-HR/A
        "amendment_type": "string",  # None, "RESTATEMENT" or "NEW HOLDINGS"
        "period_of_report": "date",
        "filed_at": "datetime",  # EDGAR acceptance time
        "known_date": "date",  # effective_trading_day(filed_at): first day this may be used
        "line": "int",  # 1-based row number in the information table
        "cusip": "string",
        "issuer": "string",
        "title_of_class": "string",
        "ticker": "string",  # from the universe's CUSIP map; None when not in the universe
        "value_usd": "float",
        "value_multiplier": "int",  # 1000 when <value> was stated in thousands, else 1
        # what decided the multiplier for the filing: implied_prices | schema_version |
        # report_period | default (parsing.thirteenf.decide_value_units)
        "value_unit_basis": "string",
        # the filing's median price per share (SH rows) in dollars under that decision
        "value_unit_median_price_usd": "float",
        "shares": "float",
        "share_type": "string",  # SH or PRN
        "put_call": "string",  # None, "Put" or "Call"
        "investment_discretion": "string",
        "other_managers": "string",
        "schema_version": "string",  # e.g. X0202, from the information table / cover
        "cover_entry_total": "int",  # tableEntryTotal stated on the cover page
        "cover_value_total_usd": "float",  # tableValueTotal, normalised to dollars
    },
    key=("accession", "line"),
    nullable=frozenset(
        {
            "amendment_type",
            "ticker",
            "put_call",
            "other_managers",
            "title_of_class",
            "schema_version",
            "cover_value_total_usd",
            "value_unit_median_price_usd",
        }
    ),
)

INSIDER_TRADES = FrameSpec(
    "insider_trades",
    {
        "accession": "string",
        "filed_at": "datetime",
        "filing_date": "date",
        "known_date": "date",  # effective_trading_day(filed_at)
        "issuer_cik": "string",
        "ticker": "string",
        "owner_cik": "string",  # first reporting owner
        "owner_name": "string",
        "is_director": "bool",
        "is_officer": "bool",
        "is_ten_percent_owner": "bool",
        "officer_title": "string",
        "line": "int",
        "security_title": "string",
        "transaction_date": "date",
        "code": "string",  # P, S, A, M, F, G, ...
        "shares": "float",
        "price": "float",
        "acquired_disposed": "string",  # A or D
        "direct_indirect": "string",  # D or I
        "is_derivative": "bool",
        "is_10b5_1": "bool",
    },
    key=("accession", "line"),
    nullable=frozenset({"officer_title", "price", "security_title", "shares"}),
)

PRICES = FrameSpec(
    "prices",
    {
        "date": "date",
        "ticker": "string",
        "open": "float",
        "high": "float",
        "low": "float",
        "close": "float",
        "volume": "float",
    },
    key=("date", "ticker"),
)

NEWS_SENTIMENT = FrameSpec(
    "news_sentiment",
    {
        "id": "string",  # the article URL
        "published_at": "datetime",
        "trading_date": "date",  # effective_trading_day(published_at)
        "ticker": "string",
        "relevance": "float",  # [0, 1]
        "sentiment": "float",  # [-1, 1]
        "title": "string",
        "source": "string",
    },
    key=("id", "ticker"),
)

FACTOR_NAMES: tuple[str, ...] = (
    "conviction_13f",
    "flow_13f",
    "insider_net_buying",
    "news_sentiment",
    "momentum_12_1",
    "trend",
    "relative_strength",
    "volume_accumulation",
)

FACTOR_PANEL = FrameSpec(
    "factor_panel",
    {"date": "date", "ticker": "string", "sector": "string"} | {f: "float" for f in FACTOR_NAMES},
    key=("date", "ticker"),
    nullable=frozenset(FACTOR_NAMES),
)

FACTOR_WEIGHTS = FrameSpec(
    "factor_weights",
    {
        "refit_date": "date",  # first trading day these weights may be used
        "factor": "string",
        "weight": "float",
        "method": "string",
        "horizon_days": "int",
        "train_end": "date",  # last feature date whose forward window closed before refit_date
        "n_train": "int",
    },
    key=("refit_date", "factor"),
)

COMPOSITE_SCORE = FrameSpec(
    "composite_score",
    {"date": "date", "ticker": "string", "score": "float", "rank": "int", "refit_date": "date"},
    key=("date", "ticker"),
)
