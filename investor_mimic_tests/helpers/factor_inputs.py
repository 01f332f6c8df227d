"""Test helpers moved out of test_pointintime.py: shared by several test modules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import trading_days
from investor_mimic.factors import FactorInputs

DAYS = trading_days(pd.Timestamp("2022-01-03").date(), pd.Timestamp("2023-08-31").date())


BENCH = "SPY"


def _prices(rng: np.random.Generator, tickers: list[str], days: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(days)
    rows = []
    for ticker in [*tickers, BENCH]:
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        volume = rng.integers(1_000, 100_000, n).astype(float)
        rows.append(
            pd.DataFrame(
                {
                    "date": days,
                    "ticker": ticker,
                    "open": close,
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "volume": volume,
                }
            )
        )
    prices = pd.concat(rows, ignore_index=True)
    missing = (rng.random(len(prices)) < 0.01) & (prices["ticker"] != BENCH)
    return prices[~missing].reset_index(drop=True)


def _thirteenf(
    rng: np.random.Generator, tickers: list[str], n_filers: int = 6
) -> tuple[pd.DataFrame, pd.DataFrame]:
    periods = pd.date_range("2021-09-30", "2023-06-30", freq="QE")
    weights, changes = [], []
    for f in range(n_filers):
        cik = f"{f + 1:010d}"
        for period in periods:
            lag = pd.Timedelta(days=int(rng.integers(20, 46)))
            filed = DAYS[int(DAYS.searchsorted(period + lag))]
            versions = [filed]
            restated = filed + pd.Timedelta(days=30)
            if rng.random() < 0.3 and restated <= DAYS[-1]:  # a restatement weeks later
                versions.append(DAYS[int(DAYS.searchsorted(restated))])
            for version in versions:
                held = [*rng.choice(tickers, size=8, replace=False), "NOTUNIV"]  # one outside
                value = rng.uniform(1e5, 1e7, len(held))
                weights.append(
                    pd.DataFrame(
                        {
                            "filer_cik": cik,
                            "period_of_report": period,
                            "version_date": version,
                            "ticker": held,
                            "value_usd": value,
                            "weight": value / value.sum(),
                        }
                    )
                )
                kinds = rng.choice(["new", "added", "trimmed", "exited", "unchanged"], len(held))
                prev = rng.uniform(1, 1000, len(held))
                changes.append(
                    pd.DataFrame(
                        {
                            "filer_cik": cik,
                            "period_of_report": period,
                            "version_date": version,
                            "ticker": held,
                            "shares": np.where(kinds == "exited", 0, prev * rng.uniform(0.2, 3)),
                            "prev_shares": np.where(kinds == "new", 0, prev),
                            "change_type": kinds,
                            "share_change_pct": np.nan,
                        }
                    )
                )
    return pd.concat(weights, ignore_index=True), pd.concat(changes, ignore_index=True)


def _trades(rng: np.random.Generator, tickers: list[str], n: int = 300) -> pd.DataFrame:
    code = rng.choice(["P", "S"], n)
    shares = rng.integers(100, 50_000, n).astype(float)
    price = rng.uniform(10, 100, n)
    known = DAYS[rng.integers(0, len(DAYS), n)]
    return pd.DataFrame(
        {
            "accession": [f"0000000000-23-{i:06d}" for i in range(n)],
            "line": 1,
            "ticker": rng.choice([*tickers, "NOTUNIV"], n),
            "owner_cik": "0000000099",
            "known_date": known,
            "transaction_date": known - pd.Timedelta(days=2),
            "code": code,
            "shares": shares,
            "price": price,
            "value_usd": np.where(code == "P", 1, -1) * shares * price,
            "is_10b5_1": rng.random(n) < 0.2,
            "is_routine": rng.random(n) < 0.2,
        }
    )


def _news(rng: np.random.Generator, tickers: list[str], n: int = 1500) -> pd.DataFrame:
    published = pd.Timestamp("2022-01-01") + pd.to_timedelta(
        rng.integers(0, 600 * 24 * 60, n), unit="min"
    )
    return pd.DataFrame(
        {
            "id": [f"https://news.example/{i}" for i in range(n)],
            "published_at": published,
            "trading_date": DAYS[DAYS.searchsorted(published.normalize())],  # simplified shift
            "ticker": rng.choice(tickers, n),
            "relevance": rng.uniform(0, 1, n),
            "sentiment": rng.uniform(-1, 1, n),
        }
    )


def listed_throughout(universe: pd.DataFrame) -> pd.DataFrame:
    """A (ticker, sector) frame as security-master rows listed over the whole history."""
    return universe.assign(valid_from=pd.NaT, valid_to=pd.NaT)


def random_inputs(seed: int, n_tickers: int = 30) -> FactorInputs:
    rng = np.random.default_rng(seed)
    tickers = [f"T{i:03d}" for i in range(n_tickers)]
    weights, changes = _thirteenf(rng, tickers)
    return FactorInputs(
        prices=_prices(rng, tickers, DAYS),
        benchmark=BENCH,
        universe=listed_throughout(
            pd.DataFrame({"ticker": tickers, "sector": [f"S{i % 4}" for i in range(n_tickers)]})
        ),
        portfolio_weights=weights,
        position_changes=changes,
        insider_trades=_trades(rng, tickers),
        news=_news(rng, tickers),
    )


def perturb_after(inputs: FactorInputs, cut: pd.Timestamp, seed: int) -> FactorInputs:
    """Every row dated after ``cut`` gets new values; new rows after ``cut`` are added."""
    rng = np.random.default_rng(seed)

    def after(frame: pd.DataFrame, col: str) -> np.ndarray:
        return (frame[col] > cut).to_numpy()

    prices = inputs.prices.copy()
    late = after(prices, "date")
    for col in ("open", "close"):
        prices.loc[late, col] = rng.uniform(1, 500, late.sum())
    # new bars keep the contract's low <= open, close <= high
    prices.loc[late, "high"] = prices.loc[late, ["open", "close"]].max(axis=1) * 1.01
    prices.loc[late, "low"] = prices.loc[late, ["open", "close"]].min(axis=1) * 0.99
    prices.loc[late, "volume"] = rng.uniform(0, 1e6, late.sum())
    prices = prices[~late | (rng.random(len(prices)) > 0.05)]  # and some late bars vanish

    weights = inputs.portfolio_weights.copy()
    late = after(weights, "version_date")
    weights.loc[late, "weight"] = rng.uniform(0, 1, late.sum())
    later = DAYS[int(DAYS.searchsorted(cut, side="right")) + 3]
    restated = (
        weights[weights["version_date"] <= cut].tail(9).assign(version_date=later, weight=0.5)
    )  # a late restatement of a period already known at the cut
    weights = pd.concat([weights, restated], ignore_index=True)

    changes = inputs.position_changes.copy()
    late = after(changes, "version_date")
    changes.loc[late, "change_type"] = "exited"
    changes.loc[late, "shares"] = 0.0
    changes = pd.concat(
        [
            changes,
            restated[["filer_cik", "period_of_report", "version_date", "ticker"]].assign(
                shares=5.0, prev_shares=0.0, change_type="new", share_change_pct=np.nan
            ),
        ],
        ignore_index=True,
    )

    trades = inputs.insider_trades.copy()
    late = after(trades, "known_date")
    trades.loc[late, "value_usd"] = trades.loc[late, "value_usd"] * 7
    extra = trades.head(5).assign(
        accession=[f"9999999999-23-{i:06d}" for i in range(5)],
        known_date=later,
        is_10b5_1=False,
        is_routine=False,
    )
    trades = pd.concat([trades, extra], ignore_index=True)

    news = inputs.news.copy()
    late = after(news, "trading_date")
    news.loc[late, "sentiment"] = rng.uniform(-1, 1, late.sum())
    extra_news = news.head(5).assign(  # published that morning: the contract's rule
        id=lambda f: f["id"] + "/late",
        trading_date=later,
        published_at=later + pd.Timedelta(hours=9),
    )
    news = pd.concat([news, extra_news], ignore_index=True)

    return dataclasses.replace(
        inputs,
        prices=prices,
        portfolio_weights=weights,
        position_changes=changes,
        insider_trades=trades,
        news=news,
    )
