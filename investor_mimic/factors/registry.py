"""The factor registry: one declaration per factor, and everything that follows from it.

A :class:`Factor` says what a factor is called, which family of data it comes from,
which inputs it reads (:data:`investor_mimic.factors.inputs.INPUTS`), how it is computed
and with which parameters, the minimum share of the universe it must cover on every
day, and its formula for the docs. The panel computes the registered factors in order
(:mod:`investor_mimic.factors.panel`), research reads only the inputs they need
(:mod:`investor_mimic.research.data`), the Dagster asset depends on those inputs' assets
and checks each factor's coverage (:mod:`investor_mimic.defs.factors.assets`), and the
README's factor table is :meth:`FactorRegistry.readme_table` (a test compares).

Adding a factor: write its function in the family's module, append one ``Factor(...)``
to :data:`REGISTRY` below, and test it. ``min_coverage`` has no default, so a factor
cannot be registered without a coverage floor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.frames import FrameSchema
from investor_mimic.core.quality import Report
from investor_mimic.factors import insider, news, price, thirteenf
from investor_mimic.factors.inputs import INPUTS, FactorInputs

#: Parameters of the panel itself (not of one factor), with their defaults.
PANEL_PARAMS: Mapping[str, Any] = MappingProxyType(
    {
        "price_fill_limit": 5,  # missing bars carried forward at most this many days
        "winsor_quantile": 0.01,  # cross-sectional clip before the z-score
    }
)


class FactorData:
    """What a factor function reads: the checked inputs laid on the panel's calendar.

    Price panels are built once, on first use, and shared by every factor that reads them.
    """

    def __init__(
        self,
        inputs: FactorInputs,
        calendar: pd.DatetimeIndex,
        tickers: pd.Index,
        price_fill_limit: int,
    ) -> None:
        self.inputs = inputs
        self.calendar = calendar
        self.tickers = tickers  # the universe, sorted
        self.price_fill_limit = price_fill_limit

    @cached_property
    def bars(self) -> price.PricePanels:
        """The universe's columns first and the benchmark (if outside it) last, so the
        universe's panels are column slices (views) rather than 60 MB copies."""
        priced = self.tickers
        if self.inputs.benchmark not in priced:
            priced = priced.append(pd.Index([self.inputs.benchmark]))
        return price.price_panels(self.inputs.prices, self.calendar, priced, self.price_fill_limit)

    @property
    def close(self) -> pd.DataFrame:
        return self.bars.close.iloc[:, : len(self.tickers)]

    @property
    def volume(self) -> pd.DataFrame:
        return self.bars.volume.iloc[:, : len(self.tickers)]

    @property
    def benchmark_close(self) -> pd.Series:
        return self.bars.close[self.inputs.benchmark]

    def forget_prices(self) -> None:
        """Drop the price panels (built again if read again)."""
        self.__dict__.pop("bars", None)

    def adv(self, days: int) -> pd.DataFrame:
        """Trailing average daily dollar volume of the universe over ``days``."""
        return price.average_dollar_volume(self.close, self.volume, days)


@dataclass(frozen=True)
class Factor:
    """One factor. ``compute(data, **params)`` returns a calendar x tickers frame.

    ``formula`` is Markdown for the docs; ``{param}`` placeholders show the parameters'
    values. ``family`` names the kind of data ("13F", "Form 4", "news", "prices").
    """

    name: str
    family: str
    inputs: tuple[str, ...]
    compute: Callable[..., pd.DataFrame]
    min_coverage: float
    formula: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"factor {self.name!r}"
        if not self.name.isidentifier():
            raise ValueError(f"{where}: the name must be an identifier (it is a column)")
        unknown = [i for i in self.inputs if i not in INPUTS]
        if unknown or not self.inputs:
            raise ValueError(f"{where}: inputs {unknown or '()'} not in {list(INPUTS)}")
        if not (isinstance(self.min_coverage, int | float) and 0 <= self.min_coverage <= 1):
            raise ValueError(f"{where}: min_coverage {self.min_coverage!r} is not in [0, 1]")
        accepted = list(inspect.signature(self.compute).parameters)[1:]
        if sorted(accepted) != sorted(self.params):
            raise ValueError(
                f"{where}: compute takes parameters {accepted}, declared {list(self.params)}"
            )
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        self.describe(self.params)  # a placeholder without a parameter fails here

    def describe(self, params: Mapping[str, Any]) -> str:
        """The formula with these parameter values."""
        try:
            return self.formula.format(**params)
        except (KeyError, IndexError) as exc:
            raise ValueError(f"factor {self.name!r}: formula placeholder {exc} unknown") from None

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(INPUTS[i].asset for i in self.inputs)


class FactorParams:
    """Overrides of declared parameter defaults, by name: ``FactorParams(momentum_lookback=4)``.

    Names are checked against the registry the panel is computed with.
    """

    def __init__(self, **values: Any) -> None:
        self.values: Mapping[str, Any] = MappingProxyType(values)

    def __repr__(self) -> str:
        return f"FactorParams({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FactorParams) and dict(self.values) == dict(other.values)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))


class FactorRegistry:
    """The registered factors, in panel column order, and what is derived from them."""

    def __init__(self, factors: Iterable[Factor]) -> None:
        self.factors: tuple[Factor, ...] = tuple(factors)
        if not self.factors:
            raise ValueError("a factor registry needs at least one factor")
        names = [f.name for f in self.factors]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"factors registered twice: {repeated}")
        clash = {"date", "ticker", "sector"} & set(names)
        if clash:
            raise ValueError(f"factor names {sorted(clash)} are panel key columns")
        owners: dict[str, str] = {p: "the panel" for p in PANEL_PARAMS}
        for f in self.factors:
            for p in f.params:
                if p in owners:
                    raise ValueError(f"parameter {p!r} of {f.name} is also one of {owners[p]}")
                owners[p] = f.name
        self.defaults: Mapping[str, Any] = MappingProxyType(
            dict(PANEL_PARAMS) | {p: v for f in self.factors for p, v in f.params.items()}
        )

    def __iter__(self) -> Iterator[Factor]:
        return iter(self.factors)

    def __len__(self) -> int:
        return len(self.factors)

    def __getitem__(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(f"no factor {name!r} (registered: {list(self.names)})")

    def with_factor(self, factor: Factor) -> FactorRegistry:
        """This registry plus ``factor`` (appended as the last panel column)."""
        return FactorRegistry([*self.factors, factor])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    @property
    def min_coverage(self) -> dict[str, float]:
        return {f.name: float(f.min_coverage) for f in self.factors}

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs read: prices and universe always (calendar and tickers), plus the factors'."""
        needed = {"prices", "universe"} | {i for f in self.factors for i in f.inputs}
        return tuple(i for i in INPUTS if i in needed)

    @property
    def upstream_assets(self) -> tuple[str, ...]:
        """The assets the factor panel depends on."""
        return tuple(INPUTS[i].asset for i in self.inputs)

    def params(self, overrides: FactorParams | None = None) -> dict[str, Any]:
        """Every parameter's value: the declared defaults with ``overrides`` applied."""
        given = dict(overrides.values) if overrides else {}
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"unknown factor parameters {unknown} (known: {sorted(self.defaults)})"
            )
        return dict(self.defaults) | given

    def panel_schema(self) -> FrameSchema:
        """The factor panel's contract for these factors (built, not declared)."""
        return frames.factor_panel_schema(self.names)

    def coverage(self, panel: pd.DataFrame) -> Report:
        """Each factor's worst daily coverage against its floor; no day at all fails."""
        by_day = panel[list(self.names)].notna().groupby(panel["date"]).mean()
        worst = by_day.min() if len(by_day) else pd.Series(0.0, index=list(self.names))
        failing = {
            f.name: float(worst[f.name]) for f in self.factors if worst[f.name] < f.min_coverage
        }
        report = Report(metadata={f"min_coverage_{n}": float(worst[n]) for n in self.names})
        if failing:
            report.problems.append(f"below minimum coverage: {failing}")
        if not len(by_day):
            report.problems.append("no dates in the panel")
        return report

    def readme_table(self) -> str:
        """The README's factor table (formulas with the default parameters)."""
        rows = [
            "| factor | formula (at day D) | source | min. coverage |",
            "|---|---|---|---|",
        ]
        for f in self.factors:
            assets = [a for a in f.assets if a != f.family]
            source = f"{f.family} via {', '.join(f'`{a}`' for a in assets)}" if assets else f.family
            floor = f"{f.min_coverage:.0%}"
            rows.append(f"| `{f.name}` | {f.describe(self.defaults)} | {source} | {floor} |")
        return "\n".join(rows)


REGISTRY = FactorRegistry(
    [
        Factor(
            name="conviction_13f",
            family="13F",
            inputs=("portfolio_weights",),
            compute=lambda d: thirteenf.conviction_13f(
                d.inputs.portfolio_weights, d.calendar, d.tickers
            ),
            min_coverage=0.2,
            formula="mean over tracked filers of the stock's weight in the filer's latest "
            "known portfolio (0 if not held)",
        ),
        Factor(
            name="flow_13f",
            family="13F",
            inputs=("position_changes",),
            compute=lambda d: thirteenf.flow_13f(d.inputs.position_changes, d.calendar, d.tickers),
            min_coverage=0.2,
            formula="mean over filers of the quarter-over-quarter position change: new +1, "
            "exited −1, added/trimmed = share change clipped to ±1",
        ),
        Factor(
            name="insider_net_buying",
            family="Form 4",
            inputs=("insider_trades", "prices"),
            compute=lambda d, insider_window_days, adv_days: insider.insider_net_buying(
                d.inputs.insider_trades, d.adv(adv_days), window_days=insider_window_days
            ),
            params={"insider_window_days": 90, "adv_days": 63},
            min_coverage=0.0,  # sparse by nature: most tickers have no open-market trade
            formula="signed dollar value of opportunistic open-market purchases minus sales "
            "with known_date in the last {insider_window_days} calendar days, divided by the "
            "{adv_days}-day average dollar volume",
        ),
        Factor(
            name="news_sentiment",
            family="news",
            inputs=("news",),
            compute=lambda d, news_half_life, news_window: news.news_sentiment(
                d.inputs.news, d.calendar, d.tickers, half_life=news_half_life, window=news_window
            ),
            params={"news_half_life": 5.0, "news_window": 20},
            min_coverage=0.2,
            formula="Σ relevance × sentiment × 0.5^(age/{news_half_life:g}) over items of the "
            "last {news_window} trading days",
        ),
        Factor(
            name="momentum_12_1",
            family="prices",
            inputs=("prices",),
            compute=lambda d, momentum_lookback, momentum_skip: price.momentum_12_1(
                d.close, momentum_lookback, momentum_skip
            ),
            params={"momentum_lookback": 252, "momentum_skip": 21},
            min_coverage=0.8,
            formula="close[D−{momentum_skip}] / close[D−{momentum_lookback}] − 1",
        ),
        Factor(
            name="trend",
            family="prices",
            inputs=("prices",),
            compute=lambda d, trend_windows: price.trend(d.close, trend_windows),
            params={"trend_windows": (50, 200)},
            min_coverage=0.8,
            formula="mean of close/SMA_w − 1 over the windows w = {trend_windows}",
        ),
        Factor(
            name="relative_strength",
            family="prices",
            inputs=("prices",),
            compute=lambda d, relative_strength_days: price.relative_strength(
                d.close, d.benchmark_close, relative_strength_days
            ),
            params={"relative_strength_days": 63},
            min_coverage=0.8,
            formula="{relative_strength_days}-day return minus the benchmark's",
        ),
        Factor(
            name="volume_accumulation",
            family="prices",
            inputs=("prices",),
            compute=lambda d, volume_days: price.volume_accumulation(
                d.close, d.volume, volume_days
            ),
            params={"volume_days": 50},
            min_coverage=0.8,
            formula="Σ sign(Δclose) × volume / Σ volume over {volume_days} days",
        ),
    ]
)

#: The registered factors' names, in panel column order.
FACTOR_NAMES: tuple[str, ...] = REGISTRY.names

#: The factor panel's contract (declared: the project's one schema of this frame).
FACTOR_PANEL: FrameSchema = frames.declare(REGISTRY.panel_schema())
