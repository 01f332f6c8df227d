"""The factor registry: a ninth factor declared in one place flows through everything.

The toy factor below is declared once, in :data:`TOY`, and the tests show it reaching
the panel (values, parameters, contract), the research reads, the asset's dependencies,
the blocking checks and the README table, without touching any other module.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.core.calendar import trading_days
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.factors.assets import (
    MIN_COVERAGE,
    coverage_result,
    factor_panel,
    finite_result,
)
from investor_mimic.factors import (
    REGISTRY,
    Factor,
    FactorInputs,
    FactorParams,
    FactorRegistry,
    compute_factor_panel,
    raw_factors,
)
from investor_mimic.factors.inputs import INPUTS
from investor_mimic.research.data import factor_inputs
from investor_mimic_tests.helpers.factor_inputs import DAYS, random_inputs

TOY_FACTOR = Factor(
    name="short_reversal",
    family="prices",
    inputs=("prices",),
    compute=lambda d, reversal_days: -(d.close / d.close.shift(reversal_days) - 1.0),
    params={"reversal_days": 5},
    min_coverage=0.9,
    formula="−(close[D] / close[D−{reversal_days}] − 1)",
)
#: The one place the ninth factor is declared.
TOY = REGISTRY.with_factor(TOY_FACTOR)

DATES = DAYS[260:300]


@pytest.fixture(scope="module")
def inputs() -> FactorInputs:
    return random_inputs(seed=7)


def test_the_ninth_factor_is_a_panel_column_with_its_formula(inputs: FactorInputs) -> None:
    raw = raw_factors(inputs, DATES, registry=TOY)
    assert list(raw.columns) == ["date", "ticker", "sector", *REGISTRY.names, "short_reversal"]
    close = inputs.prices.pivot(index="date", columns="ticker", values="close").reindex(DAYS)
    day = DATES[10]
    before = DAYS[int(DAYS.get_loc(day)) - 5]
    ticker = next(
        t for t in sorted(inputs.universe["ticker"]) if close[t][[day, before]].notna().all()
    )
    expected = -(close.at[day, ticker] / close.at[before, ticker] - 1.0)
    row = raw[(raw["date"] == day) & (raw["ticker"] == ticker)]
    assert row["short_reversal"].item() == pytest.approx(expected)

    panel = compute_factor_panel(inputs, DATES, registry=TOY)
    assert frames.schema_problems(panel, TOY.panel_schema()) == []
    # the eight factors are untouched, to the bit
    pd.testing.assert_frame_equal(
        panel.drop(columns="short_reversal"), compute_factor_panel(inputs, DATES), check_exact=True
    )
    by_day = panel.groupby("date")["short_reversal"]
    np.testing.assert_allclose(by_day.mean().to_numpy(), 0.0, atol=1e-12)  # z-scored per day


def test_its_parameters_are_declared_and_overridable_by_name(inputs: FactorInputs) -> None:
    three = raw_factors(inputs, DATES, registry=TOY, params=FactorParams(reversal_days=3))
    five = raw_factors(inputs, DATES, registry=TOY)
    assert not three["short_reversal"].equals(five["short_reversal"])
    assert three["momentum_12_1"].equals(five["momentum_12_1"])
    with pytest.raises(ValueError, match=r"unknown factor parameters \['reversal_day'\]"):
        raw_factors(inputs, DATES, registry=TOY, params=FactorParams(reversal_day=3))
    with pytest.raises(ValueError, match="unknown factor parameters"):  # not in the eight
        raw_factors(inputs, DATES, params=FactorParams(reversal_days=3))


def test_the_blocking_checks_cover_it(inputs: FactorInputs) -> None:
    panel = compute_factor_panel(inputs, DATES, registry=TOY)
    ok = coverage_result(panel, TOY)
    assert ok.passed, ok.description
    assert ok.metadata["min_coverage_short_reversal"] == dg.MetadataValue.float(1.0)
    assert finite_result(panel, TOY).passed

    gap = panel.copy()
    gap.loc[gap["date"] == DATES[3], "short_reversal"] = np.nan
    failed = coverage_result(gap, TOY)
    assert not failed.passed and "short_reversal" in str(failed.description)
    assert coverage_result(gap.drop(columns="short_reversal"), REGISTRY).passed  # not the eight's

    gap.loc[0, "short_reversal"] = np.inf
    assert not finite_result(gap, TOY).passed
    # the project's panel contract does not know the toy column: the schema part fails too
    assert not finite_result(panel, REGISTRY).passed


def test_it_reaches_the_docs_and_the_dependencies() -> None:
    table = TOY.readme_table()
    assert table.startswith(REGISTRY.readme_table())
    assert table.splitlines()[-1] == (
        "| `short_reversal` | −(close[D] / close[D−5] − 1) | prices | 90% |"
    )
    assert TOY.min_coverage["short_reversal"] == 0.9
    news_only = FactorRegistry(
        [
            Factor(
                name="news_count",
                family="news",
                inputs=("news",),
                compute=lambda d: d.inputs.news.pivot_table(
                    index="trading_date", columns="ticker", values="id", aggfunc="count"
                ).reindex(index=d.calendar, columns=d.tickers),
                min_coverage=0.0,
                formula="items per day",
            )
        ]
    )
    assert news_only.upstream_assets == ("prices", "universe", "news_sentiment")


def test_the_project_asset_and_checks_follow_the_registry() -> None:
    # the registry's inputs, plus the raw Form 4s the insider factor reads through the SQL
    # models: D's panel waits for D's filings (defs/factors/assets.UPSTREAM)
    expected = {dg.AssetKey(a) for a in (*REGISTRY.upstream_assets, "insider_trades")}
    assert set(factor_panel.dependency_keys) == expected
    assert set(REGISTRY.upstream_assets) == {i.asset for i in INPUTS.values()}
    assert REGISTRY.min_coverage == MIN_COVERAGE
    assert list(MIN_COVERAGE) == list(frames.FACTOR_NAMES) == list(REGISTRY.names)


def test_research_reads_only_the_inputs_the_registered_factors_need(
    inputs: FactorInputs, tmp_path: Path
) -> None:
    wh = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    bars = inputs.prices.assign(open=inputs.prices["close"])  # the warehouse's OHLCV bars
    wh.replace_rows("raw_prices", bars.assign(high=bars["close"], low=bars["close"]), {})
    wh.replace_rows("raw_universe", inputs.universe.assign(cik="1", cusip="x", name="n"), {})
    start, end = DATES[0].date(), DATES[-1].date()
    prices_only = FactorRegistry([TOY_FACTOR])
    read = factor_inputs(wh, start, end, "SPY", registry=prices_only)
    assert read.news.empty and read.portfolio_weights.empty
    assert list(read.prices.columns) == ["date", "ticker", "close", "volume"]
    panel = compute_factor_panel(read, trading_days(start, end), registry=prices_only)
    assert list(panel.columns) == ["date", "ticker", "sector", "short_reversal"]
    with pytest.raises(Exception, match="no such table"):  # the eight need the SQL models
        factor_inputs(wh, start, end, "SPY")


def test_a_declaration_without_its_facts_is_refused() -> None:
    with pytest.raises(TypeError, match="min_coverage"):
        Factor(  # type: ignore[call-arg]
            name="x", family="prices", inputs=("prices",), compute=lambda d: d.close, formula="x"
        )
    cases = [
        (dict(min_coverage=1.5), r"min_coverage 1\.5 is not in \[0, 1\]"),
        (dict(inputs=("bars",)), r"inputs \['bars'\] not in"),
        (dict(params={"days": 3}), r"compute takes parameters \[\], declared \['days'\]"),
        (dict(formula="close[D−{days}]"), "formula placeholder 'days' unknown"),
        (dict(name="two words"), "must be an identifier"),
    ]
    base = dict(
        name="x",
        family="prices",
        inputs=("prices",),
        compute=lambda d: d.close,
        min_coverage=0.5,
        formula="x",
    )
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            Factor(**(base | change))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"registered twice: \['trend'\]"):
        REGISTRY.with_factor(Factor(**(base | {"name": "trend"})))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'momentum_skip' of x is also one of momentum_12_1"):
        REGISTRY.with_factor(
            Factor(
                **(
                    base
                    | {"compute": lambda d, momentum_skip: d.close, "params": {"momentum_skip": 1}}
                )
            )  # type: ignore[arg-type]
        )
