"""Issuers' insiders and the Form 4 filings they make (before prices are known).

Why behaviours: the literature's split of insider trades is what a pipeline should
learn to use. ``routine`` insiders trade in the same calendar month every year (mostly
10b5-1 plan sales) and carry no information; ``opportunistic`` insiders make open-market
purchases (code P) at irregular times, and those purchases are followed by the planted
drift from the filing's known date. Awards (A) and option exercises (M, with the
derivative row) fill the tape as they do on EDGAR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import (
    add_trading_days,
    effective_trading_day,
    trading_day_on_or_after,
)
from investor_mimic.demo.accessions import AccessionBook
from investor_mimic.demo.clock import acceptance_time, add_edgar_days
from investor_mimic.demo.spec import SizeSpec

COMMON = "Common Stock"
OPTION = "Stock Option (Right to Buy)"
_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Linda",
    "Michael",
    "Susan",
    "David",
    "Karen",
    "Daniel",
    "Nancy",
    "Mark",
    "Laura",
    "Paul",
    "Anne",
]
_LAST = [
    "Smith",
    "Chen",
    "Patel",
    "Garcia",
    "Miller",
    "Novak",
    "Okafor",
    "Larsen",
    "Rossi",
    "Kim",
    "Walsh",
    "Moreau",
    "Singh",
    "Haddad",
]
_OFFICER_TITLES = (
    "Chief Operating Officer",
    "General Counsel",
    "EVP, Sales",
    "Chief Technology Officer",
)
_FUNDS = ["Oakmont", "Tidewater", "Silverline", "Ridgeback", "Stonebridge", "Westlake"]


@dataclass(frozen=True)
class Insider:
    cik: str
    name: str
    ticker: str
    is_director: bool
    is_officer: bool
    is_ten_percent_owner: bool
    officer_title: str | None
    behavior: str  # routine | opportunistic | passive
    routine_month: int


@dataclass(frozen=True)
class PlannedTrade:
    """One transaction row; prices are set from the simulated closes later."""

    code: str  # P S A M
    transaction_date: date
    shares: float
    acquired_disposed: str
    direct_indirect: str
    is_derivative: bool
    security_title: str
    price_kind: str  # market | zero | strike
    jitter: float  # relative deviation of the trade price from the close
    strike_fraction: float  # strike as a fraction of the close (M rows)


@dataclass(frozen=True)
class Form4Filing:
    accession: str
    issuer_cik: str
    issuer_name: str
    ticker: str
    owner: Insider
    accepted: datetime
    filing_date: date
    known_date: date
    is_10b5_1: bool
    trades: tuple[PlannedTrade, ...]  # non-derivative rows first, as in the document
    true_word: str  # how booleans are written: "true" or "1"
    plan_adopted: date | None  # for the 10b5-1 footnote

    @property
    def period(self) -> date:
        return min(t.transaction_date for t in self.trades)

    @property
    def opportunistic_purchase(self) -> bool:
        return self.owner.behavior == "opportunistic" and any(t.code == "P" for t in self.trades)


def insiders_truth(insiders: list[Insider]) -> pd.DataFrame:
    """``truth/insiders.parquet``: every insider's behaviour, so tests can tell which
    trades the pipeline must classify as routine (``routine_month`` matters only for
    ``behavior == "routine"``)."""
    return pd.DataFrame(
        {
            "owner_cik": [i.cik for i in insiders],
            "ticker": [i.ticker for i in insiders],
            "name": [i.name for i in insiders],
            "behavior": [i.behavior for i in insiders],
            "routine_month": np.array([i.routine_month for i in insiders], dtype="int64"),
        }
    )


def trade_price(t: PlannedTrade, close: float) -> float:
    """Price per share as reported: near the close for market trades, 0 for awards and
    derivative exercises, the strike for the stock leg of an exercise."""
    if t.price_kind == "market":
        return round(close * (1 + t.jitter), 2)
    if t.price_kind == "strike":
        return round(close * t.strike_fraction, 2)
    return 0.0


def _person(rng: np.random.Generator) -> str:
    return f"{rng.choice(_LAST)} {rng.choice(_FIRST)} {chr(65 + int(rng.integers(26)))}."


def make_insiders(
    rng: np.random.Generator, universe: pd.DataFrame, first_cik: int = 2_000_000
) -> list[Insider]:
    insiders: list[Insider] = []
    cik = first_cik
    for ticker in universe["ticker"]:
        people: list[tuple[str, bool, bool, bool, str | None]] = [
            (_person(rng), True, True, False, "Chief Executive Officer"),
            (_person(rng), False, True, False, "Chief Financial Officer"),
        ]
        if rng.random() < 0.5:
            people.append((_person(rng), False, True, False, str(rng.choice(_OFFICER_TITLES))))
        for _ in range(int(rng.integers(2, 4))):
            people.append((_person(rng), True, False, False, None))
        if rng.random() < 0.25:
            people.append((f"{rng.choice(_FUNDS)} Capital Partners LP", False, False, True, None))
        for name, director, officer, owner10, title in people:
            cik += int(rng.integers(1, 50))
            u = rng.random()
            behavior = "routine" if u < 0.3 else "opportunistic" if u < 0.6 else "passive"
            insiders.append(
                Insider(
                    cik=f"{cik:010d}",
                    name=name,
                    ticker=str(ticker),
                    is_director=director,
                    is_officer=officer,
                    is_ten_percent_owner=owner10,
                    officer_title=title,
                    behavior=behavior,
                    routine_month=int(rng.integers(1, 13)),
                )
            )
    return insiders


def _trade(
    rng: np.random.Generator,
    code: str,
    day: date,
    shares: float,
    insider: Insider,
    *,
    disposed: bool | None = None,
    derivative: bool = False,
    price_kind: str = "market",
    strike_fraction: float = 0.0,
) -> PlannedTrade:
    indirect = insider.is_ten_percent_owner or rng.random() < 0.1
    if disposed is None:
        disposed = code == "S"
    return PlannedTrade(
        code=code,
        transaction_date=day,
        shares=float(shares),
        acquired_disposed="D" if disposed else "A",
        direct_indirect="I" if indirect else "D",
        is_derivative=derivative,
        security_title=OPTION if derivative else COMMON,
        price_kind=price_kind,
        jitter=float(rng.normal(0, 0.006)),
        strike_fraction=strike_fraction,
    )


def _market_shares(rng: np.random.Generator, price: float, dollars: float) -> float:
    return float(max(100.0, round(np.exp(rng.normal(np.log(dollars), 0.7)) / price, -2)))


def _day(rng: np.random.Generator, year: int, month: int) -> date:
    return trading_day_on_or_after(date(year, month, int(rng.integers(1, 24))))


def _events(
    rng: np.random.Generator, insider: Insider, price: float, year: int, d: float, grant_month: int
) -> list[tuple[list[PlannedTrade], bool]]:
    """(rows, under a 10b5-1 plan) of each filing an insider makes in a year."""
    out: list[tuple[list[PlannedTrade], bool]] = []
    if not insider.is_ten_percent_owner and rng.random() < min(1.0, 0.8 * d):
        shares = float(100 * int(rng.integers(20, 500)))
        out.append(
            (
                [
                    _trade(
                        rng, "A", _day(rng, year, grant_month), shares, insider, price_kind="zero"
                    )
                ],
                False,
            )
        )
    if insider.behavior == "routine" and rng.random() < min(1.0, d):
        code = "S" if rng.random() < 0.8 else "P"
        plan = code == "S" and rng.random() < 0.75
        shares = _market_shares(rng, price, 150_000)
        out.append(
            ([_trade(rng, code, _day(rng, year, insider.routine_month), shares, insider)], plan)
        )
    if insider.behavior == "opportunistic":
        for _ in range(int(rng.poisson(0.6 * np.sqrt(d)))):
            first = _day(rng, year, int(rng.integers(1, 13)))
            days = [first] + ([add_trading_days(first, 1)] if rng.random() < 0.4 else [])
            rows = [
                _trade(rng, "P", day, _market_shares(rng, price, 250_000), insider) for day in days
            ]
            out.append((rows, False))
    if insider.is_officer or insider.is_ten_percent_owner:
        for _ in range(int(rng.poisson(0.5 * d))):
            shares = _market_shares(rng, price, 300_000)
            out.append(
                (
                    [_trade(rng, "S", _day(rng, year, int(rng.integers(1, 13))), shares, insider)],
                    rng.random() < 0.4,
                )
            )
    if insider.is_officer:
        for _ in range(int(rng.poisson(0.25 * d))):
            day = _day(rng, year, int(rng.integers(1, 13)))
            n = float(100 * int(rng.integers(20, 400)))
            k = float(rng.uniform(0.3, 0.8))
            rows = [_trade(rng, "M", day, n, insider, price_kind="strike", strike_fraction=k)]
            if rng.random() < 0.5:
                rows.append(_trade(rng, "S", day, n, insider))
            rows.append(
                _trade(
                    rng,
                    "M",
                    day,
                    n,
                    insider,
                    disposed=True,
                    derivative=True,
                    price_kind="zero",
                    strike_fraction=k,
                )
            )
            out.append((rows, False))
    return out


def plan_form4(
    rng: np.random.Generator,
    insiders: list[Insider],
    universe: pd.DataFrame,
    spec: SizeSpec,
    book: AccessionBook,
) -> list[Form4Filing]:
    """Every Form 4 of the world, sorted by acceptance time."""
    issuers = universe.set_index("ticker")
    d = spec.form4_per_ticker_year / 5.0
    grant_month = {t: int(rng.choice([2, 3])) for t in universe["ticker"]}
    start_price = dict(zip(universe["ticker"], universe["start_price"].astype(float), strict=True))
    plans: list[tuple[Insider, list[PlannedTrade], bool, datetime]] = []
    for insider in insiders:
        price = start_price[insider.ticker]
        for year in range(spec.start.year, spec.end.year + 1):
            for rows, plan in _events(rng, insider, price, year, d, grant_month[insider.ticker]):
                last = max(t.transaction_date for t in rows)
                first = min(t.transaction_date for t in rows)
                accepted = acceptance_time(
                    rng, add_edgar_days(last, int(rng.integers(0, 3))), late_share=0.35
                )
                if first < spec.start or accepted.date() > spec.end:
                    continue
                plans.append((insider, rows, plan, accepted))
    plans.sort(key=lambda p: (p[3], p[0].cik))
    filings = []
    for insider, rows, plan, accepted in plans:
        ordered = sorted(rows, key=lambda t: t.is_derivative)
        filings.append(
            Form4Filing(
                accession=book.issue(insider.cik, accepted.year),
                issuer_cik=str(issuers.loc[insider.ticker, "cik"]),
                issuer_name=str(issuers.loc[insider.ticker, "name"]),
                ticker=insider.ticker,
                owner=insider,
                accepted=accepted,
                filing_date=accepted.date(),
                known_date=effective_trading_day(accepted),
                is_10b5_1=plan,
                trades=tuple(ordered),
                true_word="true" if rng.random() < 0.6 else "1",
                plan_adopted=date(
                    ordered[0].transaction_date.year - 1, int(rng.integers(1, 13)), 15
                )
                if plan
                else None,
            )
        )
    return filings
