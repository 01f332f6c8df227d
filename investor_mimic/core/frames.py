"""Frame contracts: one pandera schema per frame that crosses a module boundary.

Why one object per frame: parsers, sources, the warehouse, factors, the Dagster asset
checks and the UI's column schemas all read the same :class:`FrameSchema` (a pandera
``DataFrameSchema``), so a column, a key or a range rule is written once. The source
assets refuse a partition, the blocking checks fail it and the research side rejects
its inputs through the same three functions here: :func:`schema_problems` (columns,
dtypes, nulls), :func:`duplicate_keys` (the key) and :func:`rule_violations` (the row
rules). Pandera's own ``schema.validate`` enforces exactly the same contract.

Declaring a contract (other modules append theirs the same way)::

    TRADE_PROPOSALS = contract(
        "trade_proposals",
        {"date": "date", "ticker": "string", "shares": "float"},
        key=("date", "ticker"),
        nullable=(),                       # columns that may hold missing values
        rules=(Rule("shares > 0", "non-positive shares", ("shares",),
                    lambda f: f["shares"] > 0),),
        description="What the UI shows above the column schema.",
    )

``contract`` registers the schema in :data:`CONTRACTS`; a second, different contract
for the same frame name fails at import (and the architecture test fails on two schema
objects with the same name or the same columns and key). SQL models' contracts come
from ``dbt_like_sql/schema.yml`` (:mod:`investor_mimic.sql.contracts`).

Conventions:

* ``date`` columns are midnight ``datetime64[ns]`` (naive), ``datetime`` columns are
  naive US/Eastern wall-clock ``datetime64[ns]`` (see :mod:`investor_mimic.core.calendar`).
* ``string`` columns may hold missing values (``None``/NA) only where ``nullable``.
* CIKs are 10-digit zero-padded strings (:func:`cik10`); CUSIPs are 9 characters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import dtypes
from pandera.engines import pandas_engine

Kind = str  # "string" | "float" | "int" | "bool" | "date" | "datetime"
KINDS: tuple[Kind, ...] = ("string", "float", "int", "bool", "date", "datetime")

_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "float": pd.api.types.is_float_dtype,
    "int": pd.api.types.is_integer_dtype,
    "bool": pd.api.types.is_bool_dtype,
    "date": pd.api.types.is_datetime64_any_dtype,
    "datetime": pd.api.types.is_datetime64_any_dtype,
    "string": lambda t: pd.api.types.is_object_dtype(t) or pd.api.types.is_string_dtype(t),
}
_NATIVE = {
    "float": "float64",
    "int": "int64",
    "bool": "bool",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
    "string": "object",
}


def _cast(s: pd.Series, kind: Kind) -> pd.Series:
    """``s`` as the project's dtype of ``kind`` (raises ValueError/TypeError when it cannot)."""
    if kind in ("date", "datetime"):
        s = pd.to_datetime(s).astype("datetime64[ns]")
        return s.dt.normalize() if kind == "date" else s
    if kind == "float":
        return pd.to_numeric(s).astype("float64")
    if kind == "int":
        return pd.to_numeric(s).astype("int64")
    if kind == "bool":
        if s.isna().any():  # astype(bool) would turn NaN into True
            raise ValueError("has missing values")
        return s.astype("bool")
    return s.astype("object").where(s.notna(), None)


@pandas_engine.Engine.register_dtype
@dtypes.immutable(init=True)
class ColumnKind(pandas_engine.DataType):
    """A pandera dtype for one of the project's column kinds.

    Why not pandera's ``str``/``int64``: on pandas 3 its ``str`` checks every value in
    Python (seconds on a 7.5M-row panel), and the project accepts any text dtype
    (object or ``str``), any integer or float width and any datetime unit, as it always
    has. Shown as the kind's name in the Dagster column schema.
    """

    type: Any = dataclasses.field(default=None, init=False)
    kind: str = "string"

    def __post_init__(self) -> None:
        if self.kind not in _ACCEPTS:
            raise ValueError(f"unknown column kind {self.kind!r} (kinds: {list(KINDS)})")
        object.__setattr__(self, "type", np.dtype(_NATIVE[self.kind]))

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        return bool(_ACCEPTS[self.kind](getattr(pandera_dtype, "type", pandera_dtype)))

    def coerce(self, data_container: Any) -> Any:
        return _cast(data_container, self.kind)

    def __str__(self) -> str:
        return self.kind


@dataclasses.dataclass(frozen=True)
class Rule:
    """A row rule of a frame: ``holds(frame)`` is True on every row that keeps it.

    ``statement`` says what holds ("close > 0": research-side errors name it);
    ``violation`` names a breaking row ("non-positive prices": check reports count rows
    per violation, so several statements may share one). Missing values pass: nulls
    are the contract's ``nullable``, not a rule's, business.
    """

    statement: str
    violation: str
    columns: tuple[str, ...]
    holds: Callable[[pd.DataFrame], Any]

    def check(self) -> pa.Check:
        def holds(frame: pd.DataFrame) -> pd.Series:
            return pd.Series(np.asarray(self.holds(frame), dtype=bool), index=frame.index)

        return pa.Check(
            holds,
            name=self.statement,
            error=self.violation,
            ignore_na=False,
            statistics={"columns": list(self.columns)},
        )


def _at_midnight(s: pd.Series) -> pd.Series:
    return s.isna() | (s == s.dt.normalize())


_MIDNIGHT = "holds times of day, expected dates"


class FrameSchema(pa.DataFrameSchema):
    """A pandera ``DataFrameSchema`` with the project's views of it: kinds, key, nullable."""

    @classmethod
    def get_backend(cls, check_obj: Any = None, check_type: type | None = None) -> Any:
        """Pandera's pandas backend, registered for ``DataFrameSchema`` (not subclasses)."""
        return pa.DataFrameSchema.get_backend(check_obj, check_type)

    @property
    def kinds(self) -> dict[str, Kind]:
        return {name: str(col.dtype) for name, col in self.columns.items()}

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(self.unique or ())

    @property
    def nullable(self) -> frozenset[str]:
        return frozenset(name for name, col in self.columns.items() if col.nullable)

    @property
    def rules(self) -> tuple[pa.Check, ...]:
        """Row rules over several columns (frame-wide pandera checks)."""
        return tuple(self.checks)

    def empty(self) -> pd.DataFrame:
        """A new empty frame of this schema (a copy of one built once per schema: casting
        each column costs ~10 ms, and a source returns one per quiet EDGAR day)."""
        cached = _EMPTY.get(id(self))
        if cached is None or cached[0] is not self:
            cached = (self, coerce(pd.DataFrame({c: [] for c in self.columns}), self))
            _EMPTY[id(self)] = cached
        return cached[1].copy()


#: id(schema) → (schema, its empty frame); the schema is kept so its id is never reused.
_EMPTY: dict[int, tuple[FrameSchema, pd.DataFrame]] = {}


#: Compatibility name: call sites and helpers typed with the old dataclass keep working.
FrameSpec = FrameSchema


def frame_schema(
    name: str,
    columns: Mapping[str, Kind],
    *,
    key: Iterable[str] = (),
    nullable: Iterable[str] = (),
    rules: Iterable[Rule] = (),
    description: str = "",
    column_descriptions: Mapping[str, str] | None = None,
) -> FrameSchema:
    """Build (without declaring) the schema of frame ``name``; every name is checked."""
    key, nullable, rules = tuple(key), frozenset(nullable), tuple(rules)
    descriptions = dict(column_descriptions or {})
    unknown = {
        "key": [c for c in key if c not in columns],
        "nullable": sorted(nullable - set(columns)),
        "rules": [c for r in rules for c in r.columns if c not in columns],
        "descriptions": [c for c in descriptions if c not in columns],
    }
    bad = {where: cols for where, cols in unknown.items() if cols}
    if bad:
        raise ValueError(f"frame {name}: names outside its columns {bad}")
    pa_columns = {
        col: pa.Column(
            ColumnKind(kind),
            nullable=col in nullable,
            checks=[pa.Check(_at_midnight, name="midnight", error=_MIDNIGHT, ignore_na=False)]
            if kind == "date"
            else None,
            description=descriptions.get(col) or None,
            name=col,
        )
        for col, kind in columns.items()
    }
    return FrameSchema(
        pa_columns,
        checks=[r.check() for r in rules],
        unique=list(key) or None,
        strict=True,
        name=name,
        description=description or None,
    )


#: Every declared contract by frame name (filled by :func:`declare` / :func:`contract`).
CONTRACTS: dict[str, FrameSchema] = {}


def _signature(schema: FrameSchema) -> tuple[frozenset[str], tuple[str, ...]]:
    return frozenset(schema.columns), schema.key


def declare(schema: FrameSchema) -> FrameSchema:
    """Register ``schema`` as the contract of its frame; a different one for it fails.

    Re-declaring an identical schema (a module reload) is allowed; two objects that
    agree by accident are caught by the architecture test.
    """
    name = cast(str, schema.name)
    for other in CONTRACTS.values():
        same_name = other.name == name
        same_shape = _signature(other) == _signature(schema) and bool(schema.key)
        if (same_name or same_shape) and (
            other.name != name or other.kinds != schema.kinds or other.key != schema.key
        ):
            raise ValueError(
                f"frame {name}: contract {other.name} already describes "
                f"{'this frame' if same_name else 'the same columns and key'}"
            )
    CONTRACTS[name] = schema
    return schema


def contract(name: str, columns: Mapping[str, Kind], **kwargs: Any) -> FrameSchema:
    """Build and declare the contract of frame ``name`` (arguments of :func:`frame_schema`)."""
    return declare(frame_schema(name, columns, **kwargs))


# --- the rules, once --------------------------------------------------------------------


def coerce(frame: pd.DataFrame, spec: FrameSchema) -> pd.DataFrame:
    """Select the schema's columns in order and cast them to the schema's dtypes."""
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: missing columns {missing}")
    columns: dict[str, pd.Series] = {}
    for col, kind in spec.kinds.items():
        try:
            columns[col] = _cast(frame[col], kind)
        except ValueError as exc:
            if str(exc) != "has missing values":
                raise
            raise ValueError(f"{spec.name}: {col} has missing values") from None
    out = pd.DataFrame(columns, index=frame.index)
    return out.reset_index(drop=True)


def schema_problems(frame: pd.DataFrame, spec: FrameSchema) -> list[str]:
    """What is wrong with ``frame`` against ``spec``: missing/extra columns, dtypes, nulls."""
    problems: list[str] = []
    missing = [c for c in spec.columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in spec.columns]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    for col, column in spec.columns.items():
        if col not in frame.columns:
            continue
        if not column.dtype.check(pandas_engine.Engine.dtype(frame[col].dtype)):
            problems.append(f"{col}: dtype {frame[col].dtype} is not {column.dtype}")
        if not column.nullable and frame[col].isna().any():
            problems.append(f"{col}: {int(frame[col].isna().sum())} missing values")
    return problems


def duplicate_keys(
    frame: pd.DataFrame, key: Iterable[str], keep: Literal["first", False] = False
) -> pd.Series:
    """Rows whose ``key`` another row shares (``keep="first"``: all but the first of each)."""
    return frame.duplicated(list(key), keep=keep)


def rule_violations(
    frame: pd.DataFrame, spec: FrameSchema, columns: Collection[str] | None = None
) -> list[tuple[pa.Check, str | None, np.ndarray]]:
    """Each row rule of ``spec`` (column checks first, then frame rules) with the mask of
    rows breaking it, for the rules whose columns ``frame`` has (within ``columns``)."""
    have = set(frame.columns) if columns is None else set(columns) & set(frame.columns)
    out: list[tuple[pa.Check, str | None, np.ndarray]] = []
    for col, column in spec.columns.items():
        if col in have:
            for check in column.checks:
                out.append((check, col, _broken(check, frame[col])))
    for check in spec.rules:
        if set((check.statistics or {}).get("columns", ())) <= have:
            out.append((check, None, _broken(check, frame)))
    return out


def _broken(check: pa.Check, obj: pd.DataFrame | pd.Series) -> np.ndarray:
    return ~np.asarray(check(obj).check_output, dtype=bool)


def checked(
    frame: pd.DataFrame,
    spec: FrameSchema,
    *,
    columns: Collection[str] | None = None,
    check_key: bool = True,
) -> pd.DataFrame:
    """``frame`` cast to ``spec`` (its ``columns`` only); raises a one-line ValueError naming
    the frame and the first problem: missing columns, nulls, uncastable values, times in
    dates, repeated keys, broken row rules.

    A frame that already has the contract's dtypes is used as is (no copy of millions of
    price rows). ``check_key=False`` leaves the key check to the caller, for frames whose
    pivot detects repeated keys for free.
    """
    name = spec.name
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame, got {type(frame).__name__}")
    wanted = [c for c in spec.columns if columns is None or c in columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    nulls = {c: n for c in wanted if c not in spec.nullable and (n := int(frame[c].isna().sum()))}
    if nulls:
        raise ValueError(f"{name}: missing values (column: count) {nulls}")
    out = frame[wanted].reset_index(drop=True)
    if len(wanted) < len(frame.columns):
        # a column selection is a view of the frame's blocks, which would keep the dropped
        # columns alive (the large world's open/high/low: 180 MB the factors never read)
        out = out.copy()
    sub = spec.select_columns(wanted) if columns is not None else spec
    if schema_problems(out, sub):
        try:
            out = coerce(out, sub)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name}: cannot cast to its contract: {exc}") from exc
    violations = rule_violations(out, spec, wanted)
    for check, col, broken in violations:
        if col is not None and broken.any():
            raise ValueError(f"{name}: column {col} {check.error}")
    key = spec.key
    if check_key and key and set(key) <= set(wanted):
        repeated = duplicate_keys(out, key, keep="first")
        if repeated.any():
            first = out[repeated].iloc[0][list(key)].to_dict()
            raise ValueError(
                f"{name}: {int(repeated.sum())} rows repeat the key {key}, e.g. {first}"
            )
    for check, col, broken in violations:
        if col is None and broken.any():
            example = out.loc[broken].iloc[0].to_dict()
            raise ValueError(
                f"{name}: {int(broken.sum())} rows break '{check.name}', e.g. {example}"
            )
    return out


def cik10(cik: str | int) -> str:
    """A CIK as the project's 10-digit zero-padded string; rejects non-numeric input."""
    text = str(cik).strip()
    if not text.isdigit() or len(text) > 10:
        raise ValueError(f"not a CIK: {cik!r}")
    return text.zfill(10)


# --- the contracts ----------------------------------------------------------------------


def _filed_no_later_than_known(f: pd.DataFrame) -> pd.Series:
    return ~(f["known_date"] < f["filed_at"].dt.normalize())


def _valid_from_not_after_valid_to(f: pd.DataFrame) -> pd.Series:
    return ~(f["valid_to"] < f["valid_from"])


UNIVERSE = contract(
    "universe",
    {
        "ticker": "string",
        "cik": "string",
        "cusip": "string",
        "name": "string",
        "sector": "string",
        "valid_from": "date",  # first trading day of this row (listing or sector change)
        "valid_to": "date",  # last trading day of this row (the final bar when delisted)
    },
    key=("ticker", "valid_from"),
    nullable=("valid_from", "valid_to"),
    rules=(
        Rule(
            "valid_from <= valid_to",
            "span ends before it starts",
            ("valid_from", "valid_to"),
            _valid_from_not_after_valid_to,
        ),
    ),
    description="The security master: one row per ticker and span of its listing with one "
    "sector. A ticker is listed at D while a row has valid_from <= D <= valid_to; a "
    "missing valid_from is 'listed before the data begins', a missing valid_to 'still "
    "listed'. A sector change ends one row and starts the next "
    "(investor_mimic.core.security_master).",
)

THIRTEENF_HOLDINGS = contract(
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
    nullable=(
        "amendment_type",
        "ticker",
        "put_call",
        "other_managers",
        "title_of_class",
        "schema_version",
        "cover_value_total_usd",
        "value_unit_median_price_usd",
    ),
    rules=(
        Rule("value_usd >= 0", "negative value", ("value_usd",), lambda f: ~(f["value_usd"] < 0)),
        Rule("shares >= 0", "negative shares", ("shares",), lambda f: ~(f["shares"] < 0)),
        Rule(
            "share_type in ['SH', 'PRN']",
            "share_type not SH/PRN",
            ("share_type",),
            lambda f: f["share_type"].isin(["SH", "PRN"]),
        ),
        Rule(
            "put_call in [None, 'Put', 'Call']",
            "put_call not Put/Call",
            ("put_call",),
            lambda f: f["put_call"].isna() | f["put_call"].isin(["Put", "Call"]),
        ),
        Rule(
            "known_date >= date of filed_at",
            "known before filed",
            ("known_date", "filed_at"),
            _filed_no_later_than_known,
        ),
    ),
    description="13F-HR information-table rows, every version, values in dollars.",
)

INSIDER_TRADES = contract(
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
    nullable=("officer_title", "price", "security_title", "shares"),
    rules=(
        Rule("shares >= 0", "negative shares", ("shares",), lambda f: ~(f["shares"] < 0)),
        Rule("price >= 0", "negative price", ("price",), lambda f: ~(f["price"] < 0)),
        Rule(
            "code is one letter",
            "code not a letter",
            ("code",),
            lambda f: f["code"].astype(str).str.fullmatch(r"[A-Z]"),
        ),
        Rule(
            "acquired_disposed in ['A', 'D']",
            "acquired_disposed not A/D",
            ("acquired_disposed",),
            lambda f: f["acquired_disposed"].isin(["A", "D"]),
        ),
        Rule(
            "known_date >= date of filed_at",
            "known before filed",
            ("known_date", "filed_at"),
            _filed_no_later_than_known,
        ),
    ),
    description="Form 4 transactions of universe issuers, one row per table line.",
)

_OHLC = ("open", "high", "low", "close")


def _finite(column: str) -> Rule:
    """One rule per column, not one over all five: a reader of some columns (the factors
    read close and volume only) still has each of its columns checked."""
    return Rule(
        f"{column} finite", "non-finite values", (column,), lambda f: np.isfinite(f[column])
    )


def _positive_price(column: str) -> Rule:
    return Rule(f"{column} > 0", "non-positive prices", (column,), lambda f: ~(f[column] <= 0))


PRICES = contract(
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
    rules=(
        *(_finite(c) for c in (*_OHLC, "volume")),
        *(_positive_price(c) for c in _OHLC),
        Rule("volume >= 0", "negative volume", ("volume",), lambda f: ~(f["volume"] < 0)),
        Rule(
            "low <= open, close",
            "low above open/close",
            ("low", "open", "close"),
            lambda f: ~(f["low"] > np.minimum(f["open"], f["close"])),
        ),
        Rule(
            "high >= open, close",
            "high below open/close",
            ("high", "open", "close"),
            lambda f: ~(f["high"] < np.maximum(f["open"], f["close"])),
        ),
    ),
    description="Daily OHLCV bars per ticker (the benchmark included).",
)

NEWS_SENTIMENT = contract(
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
    rules=(
        Rule(
            "-1 <= sentiment <= 1",
            "sentiment outside [-1, 1]",
            ("sentiment",),
            lambda f: f["sentiment"].between(-1, 1),
        ),
        Rule(
            "0 <= relevance <= 1",
            "relevance outside [0, 1]",
            ("relevance",),
            lambda f: f["relevance"].between(0, 1),
        ),
        Rule(
            "published_at <= trading_date's close",
            "published after its trading date's close",
            ("published_at", "trading_date"),
            lambda f: ~(f["published_at"].dt.normalize() > f["trading_date"]),
        ),
    ),
    description="News items per ticker with relevance and sentiment.",
)


def factor_panel_schema(factor_names: Iterable[str]) -> FrameSchema:
    """The factor panel's schema for these factors (built, not declared: the factor
    registry declares the project's one, :data:`investor_mimic.factors.registry.FACTOR_PANEL`)."""
    names = tuple(factor_names)
    return frame_schema(
        "factor_panel",
        {"date": "date", "ticker": "string", "sector": "string"} | {f: "float" for f in names},
        key=("date", "ticker"),
        nullable=names,
        description="Normalised factors per trading day and ticker; NaN = not computable.",
    )


FACTOR_WEIGHTS = contract(
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
    rules=(
        Rule(
            "weight finite and >= 0",
            "negative or non-finite weight",
            ("weight",),
            lambda f: np.isfinite(f["weight"].to_numpy(dtype=float)) & (f["weight"] >= 0),
        ),
    ),
    description="The walk-forward weight schedule: one row per refit date and factor.",
)

COMPOSITE_SCORE = contract(
    "composite_score",
    {"date": "date", "ticker": "string", "score": "float", "rank": "int", "refit_date": "date"},
    key=("date", "ticker"),
    rules=(
        Rule(
            "score finite",
            "non-finite score",
            ("score",),
            lambda f: np.isfinite(f["score"].to_numpy(dtype=float)),
        ),
    ),
    description="Composite score per day and ticker; rank 1 is the most attractive.",
)


def __getattr__(name: str) -> Any:
    """``FACTOR_NAMES`` and ``FACTOR_PANEL`` come from the factor registry.

    Why lazily: the registry builds on this module (its panel schema is a contract), so
    importing it here at import time would be a cycle; ``frames.FACTOR_NAMES`` still works.
    """
    if name in ("FACTOR_NAMES", "FACTOR_PANEL"):
        from investor_mimic.factors import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TRADE_PROPOSALS = contract(
    "trade_proposals",
    {
        "date": "date",
        "ticker": "string",
        "side": "string",
        "shares": "float",
        "ref_price": "float",
        "notional": "float",
        "score": "float",
        "target_weight": "float",
        "sector": "string",
        "reason": "string",
    },
    key=("date", "ticker"),
    nullable=("score",),
    rules=(
        Rule(
            "side is buy or sell",
            "side other than buy/sell",
            ("side",),
            lambda f: f["side"].isin(["buy", "sell"]),
        ),
        Rule("shares > 0", "non-positive shares", ("shares",), lambda f: f["shares"] > 0),
        Rule("ref_price > 0", "non-positive prices", ("ref_price",), lambda f: f["ref_price"] > 0),
    ),
    description="Orders proposed for day `date`, for the next session's open: sells first, "
    "then buys, each sized at that day's close.",
    column_descriptions={
        "ref_price": "the close of `date` the order was sized at",
        "notional": "shares x ref_price",
        "score": "composite score; missing for a held name the composite no longer scores",
        "target_weight": "the name's weight in the target portfolio (0 for exits)",
        "reason": "entry, rebalance, exit, stop_loss or take_profit",
    },
)

PORTFOLIO = contract(
    "portfolio",
    {
        "date": "date",
        "asset_class": "string",
        "ticker": "string",
        "shares": "float",
        "avg_entry_price": "float",
        "price": "float",
        "market_value": "float",
        "weight": "float",
        "sector": "string",
    },
    key=("date", "asset_class", "ticker"),
    rules=(
        Rule(
            "asset_class is stock or cash",
            "asset class other than stock/cash",
            ("asset_class",),
            lambda f: f["asset_class"].isin(["stock", "cash"]),
        ),
    ),
    description="The broker's book at `date`'s close: one row per position (asset_class "
    "stock) plus one cash row (asset_class cash, ticker USD, market_value = cash).",
    column_descriptions={
        "price": "the last close on or before `date`",
        "weight": "market_value / equity",
    },
)
