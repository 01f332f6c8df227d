"""Data-quality rules catch each kind of bad input and pass clean data."""

import numpy as np
import pandas as pd

from investor_mimic.core import frames, quality


def _prices() -> pd.DataFrame:
    return frames.coerce(
        pd.DataFrame(
            {
                "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"]),
                "ticker": ["AAA", "BBB", "AAA", "BBB"],
                "open": [10.0, 20.0, 10.5, 19.0],
                "high": [11.0, 21.0, 11.0, 20.0],
                "low": [9.5, 19.5, 10.0, 18.5],
                "close": [10.5, 20.5, 10.8, 19.5],
                "volume": [1e5, 2e5, 1.1e5, 0.0],
            }
        ),
        frames.PRICES,
    )


def test_clean_prices_pass_every_rule() -> None:
    p = _prices()
    assert quality.schema(p, frames.PRICES).passed
    assert quality.duplicate_keys(p, frames.PRICES.key).passed
    assert quality.price_ranges(p).passed
    assert quality.stale_entities(p, "date", "ticker", 0).passed


def test_price_rules_name_each_violation() -> None:
    p = _prices()
    p.loc[0, "low"] = 10.2  # above open 10.0
    p.loc[1, "close"] = -1.0
    p.loc[2, "volume"] = -5.0
    p.loc[3, "high"] = np.inf
    report = quality.price_ranges(p)
    assert not report.passed
    text = " | ".join(report.problems)
    for phrase in ["low above open/close", "non-positive prices", "negative volume", "non-finite"]:
        assert phrase in text
    assert report.metadata["negative volume"] == 1


def test_duplicate_keys_and_schema_problems_are_reported() -> None:
    p = pd.concat([_prices(), _prices().head(1)], ignore_index=True)
    dup = quality.duplicate_keys(p, frames.PRICES.key)
    assert not dup.passed and dup.metadata["duplicate_rows"] == 2
    bad = _prices().drop(columns=["volume"]).assign(close=lambda f: f["close"].astype(str))
    problems = quality.schema(bad, frames.PRICES).problems
    assert any("missing columns ['volume']" in p for p in problems)
    assert any(p.startswith("close: dtype") for p in problems)


def test_stale_entities_flags_a_ticker_that_stopped_updating() -> None:
    p = _prices()
    p = p[~((p["ticker"] == "BBB") & (p["date"] == "2024-01-03"))]
    late = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-10"]),
            "ticker": ["AAA"],
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [1.0],
        }
    )
    p = pd.concat([p, late], ignore_index=True)
    report = quality.stale_entities(p, "date", "ticker", 3)
    assert not report.passed
    assert "BBB" in report.problems[0] and report.metadata["stale"] == 1
    assert quality.stale_entities(p, "date", "ticker", 10).passed
    # BBB delisted with its last bar: no bar is due after that; AAA still listed is
    master = pd.DataFrame(
        {
            "ticker": ["AAA", "BBB"],
            "sector": "X",
            "valid_from": pd.NaT,
            "valid_to": [pd.NaT, p.loc[p["ticker"] == "BBB", "date"].max()],
        }
    )
    assert quality.stale_entities(p, "date", "ticker", 3, master=master).passed
    listed = master.assign(valid_to=pd.NaT)
    assert not quality.stale_entities(p, "date", "ticker", 3, master=listed).passed


def _holdings(
    values: list[float], entry_total: int, value_total: float, multiplier: int = 1
) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "accession": ["0000000001-24-000001"] * n,
            "line": range(1, n + 1),
            "value_usd": values,
            "shares": [100.0] * n,
            "share_type": ["SH"] * n,
            "put_call": [None] * n,
            "value_multiplier": [multiplier] * n,
            "cover_entry_total": [entry_total] * n,
            "cover_value_total_usd": [value_total] * n,
            "filed_at": pd.to_datetime(["2024-02-14 10:00:00"] * n),
            "known_date": pd.to_datetime(["2024-02-14"] * n),
        }
    )


def test_cover_totals_reconcile_or_fail_with_both_numbers() -> None:
    assert quality.cover_totals(_holdings([5000.0, 7000.0], 2, 12000.0)).passed
    rows = quality.cover_totals(_holdings([5000.0, 7000.0], 3, 12000.0))
    assert not rows.passed and "2 rows parsed, cover says 3" in rows.problems[0]
    value = quality.cover_totals(_holdings([5000.0, 7000.0], 2, 50_000.0))
    assert not value.passed and "$12,000" in value.problems[0] and "$50,000" in value.problems[0]


def test_value_units_flag_implausible_price_per_share() -> None:
    ok = quality.value_units(_holdings([5000.0, 7000.0], 2, 12000.0))  # $50, $70 a share
    assert ok.passed and ok.metadata["in_dollars"] == 1
    # dollars misread as thousands: $50,000,000 for 100 shares
    wrong = quality.value_units(_holdings([5e7, 7e7], 2, 1.2e8, multiplier=1000))
    assert not wrong.passed and "x1000" in wrong.problems[0]


def test_holdings_ranges_reject_negative_values_and_options_typos() -> None:
    h = _holdings([5000.0, -1.0], 2, 4999.0)
    h.loc[0, "put_call"] = "Straddle"
    report = quality.holdings_ranges(h)
    assert report.metadata["negative value"] == 1
    assert report.metadata["put_call not Put/Call"] == 1
