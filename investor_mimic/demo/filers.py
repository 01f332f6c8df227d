"""13F filers and what they report each quarter (shares only; values come after prices).

Why shares first: the planted drift follows what skilled filers *add*, and prices
depend on the drift, so the plan of every 13F filing (rows, acceptance time, known
date, which tickers it newly discloses as added) is fixed before the market is
simulated; dollar values are filled in when the documents are rendered.

Styles: ``skilled`` and ``noise`` filers turn over a concentrated book at random (only
the skilled ones' additions are followed by drift); ``index`` filers hold the largest
names in proportion to size. Every filer files one RESTATEMENT and one NEW HOLDINGS
amendment; the NEW HOLDINGS one discloses rows that the original left out.

Value units follow the filer's software, not the period (as on real EDGAR): filings made
before EDGAR's switch to schema X0202 (2023-01-03) state ``<value>`` in thousands, later
ones in dollars — so an amendment of an old period filed after the switch is in dollars.
Two awkward kinds are planted on purpose: one filer keeps typing thousands into the new
schema for its first half-year after the switch (:data:`LEGACY_UNITS_UNTIL`), and one
filer re-files an old report after the switch (a RESTATEMENT with the same rows, in
dollars). The parser must read both from the filings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import effective_trading_day, quarter_ends
from investor_mimic.demo.accessions import AccessionBook
from investor_mimic.demo.clock import (
    acceptance_time,
    edgar_day_on_or_after,
    thirteenf_filing_date,
)
from investor_mimic.demo.spec import SizeSpec
from investor_mimic.sources.universe import cusip_check_digit

X0202_FROM_FILING = date(2023, 1, 3)  # EDGAR switched the 13F schema (and unit) on this day
LEGACY_UNITS_UNTIL = date(2023, 7, 1)  # the lagging filer types thousands until then

_NAME_A = [
    "Granite",
    "Harbor",
    "Summit",
    "Cedar",
    "Beacon",
    "Northgate",
    "Ironwood",
    "Bluewater",
    "Larkspur",
    "Meridian",
]
_NAME_B = [
    "Capital Partners",
    "Asset Management",
    "Investment Advisors",
    "Capital Management",
    "Wealth Partners",
]
_STREETS = ("PARK", "MADISON", "MAIN", "STATE")
_SUFFIX = ("LLC", "LP", "Inc", "L.P.", "LLC")
_CITIES = (
    ("NEW YORK", "NY"),
    ("BOSTON", "MA"),
    ("GREENWICH", "CT"),
    ("CHICAGO", "IL"),
    ("SAN FRANCISCO", "CA"),
)


@dataclass(frozen=True)
class Filer:
    cik: str
    name: str
    style: str  # skilled | index | noise
    file_number: str  # 028-xxxxx
    street: str
    city: str
    state: str


@dataclass(frozen=True)
class HoldingRow:
    """One information-table row before valuation."""

    cusip: str
    issuer: str
    title_of_class: str
    ticker: str | None  # universe ticker of the CUSIP (None for notes)
    value_ticker: str  # whose close values the row
    shares: float
    share_type: str  # SH | PRN
    put_call: str | None
    discretion: str
    unit_price: float | None  # price per unit of principal for PRN rows, else None


@dataclass(frozen=True)
class ThirteenFFiling:
    filer: Filer
    accession: str
    form: str  # 13F-HR | 13F-HR/A
    amendment_type: str | None
    amendment_no: int | None
    period: date
    accepted: datetime
    filing_date: date
    known_date: date
    rows: tuple[HoldingRow, ...]
    adds: tuple[str, ...]  # tickers first disclosed here as new or increased positions
    legacy_units: bool = False  # thousands although filed on the X0202 schema

    @property
    def value_multiplier(self) -> int:
        """1000 when ``<value>`` is in thousands: before the switch, or a lagging filer."""
        return 1000 if self.schema_version == "X0201" or self.legacy_units else 1

    @property
    def schema_version(self) -> str:
        return "X0202" if self.filing_date >= X0202_FROM_FILING else "X0201"


def make_filers(rng: np.random.Generator, spec: SizeSpec) -> list[Filer]:
    styles = ["skilled"] * spec.n_skilled + ["index"] * spec.n_index + ["noise"] * spec.n_noise
    ciks = 1_900_000 + rng.choice(99_999, size=len(styles), replace=False)
    names: set[str] = set()
    filers = []
    for i, style in enumerate(styles):
        while True:
            name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(_SUFFIX)}"
            if name not in names:
                names.add(name)
                break
        city, state = _CITIES[int(rng.integers(len(_CITIES)))]
        filers.append(
            Filer(
                cik=f"{int(ciks[i]):010d}",
                name=name,
                style=style,
                file_number=f"028-{int(rng.integers(10_000, 99_999))}",
                street=f"{int(rng.integers(1, 999))} {rng.choice(_STREETS)} STREET",
                city=city,
                state=state,
            )
        )
    return filers


def _book_path(
    rng: np.random.Generator, filer: Filer, universe: pd.DataFrame, spec: SizeSpec, n_q: int
) -> list[dict[str, float]]:
    """Shares held per ticker at each quarter end."""
    cap = universe["shares_outstanding"] * universe["start_price"]
    tickers = universe["ticker"].to_numpy()
    price = dict(zip(universe["ticker"], universe["start_price"], strict=True))
    if filer.style == "index":
        top = universe.loc[cap.sort_values(ascending=False).index[: spec.index_holdings]]
        weight = rng.uniform(0.002, 0.006)
        growth = np.cumprod(1 + rng.normal(0.02, 0.03, n_q))
        return [
            {
                t: float(round(s * weight * g, -1))
                for t, s in zip(top["ticker"], top["shares_outstanding"], strict=True)
            }
            for g in growth
        ]
    pick = np.sqrt(cap.to_numpy())
    pick = pick / pick.sum()

    def position(t: str) -> float:
        return float(max(10.0, round(np.exp(rng.normal(np.log(8e6), 0.8)) / price[t], -1)))

    n0 = min(len(tickers), spec.noise_holdings)
    book = {t: position(t) for t in rng.choice(tickers, size=n0, replace=False, p=pick)}
    path = [dict(book)]
    for _ in range(1, n_q):
        nxt: dict[str, float] = {}
        for t, s in book.items():
            u = rng.random()
            if u < 0.2:
                continue  # exit
            if u < 0.45:
                nxt[t] = float(round(s * rng.uniform(1.1, 1.6), -1))
            elif u < 0.7:
                nxt[t] = float(max(10.0, round(s * rng.uniform(0.5, 0.9), -1)))
            else:
                nxt[t] = s
        n_new = int(rng.poisson(0.2 * spec.noise_holdings))
        candidates = [
            t
            for t in rng.choice(
                tickers, size=min(len(tickers), 3 * n_new + 1), replace=False, p=pick
            )
            if t not in nxt
        ]
        for t in candidates[:n_new]:
            nxt[t] = position(t)
        book = nxt
        path.append(dict(book))
    return path


def _stock_rows(
    book: dict[str, float], issuers: pd.DataFrame, rng: np.random.Generator
) -> list[HoldingRow]:
    rows = []
    for t, shares in book.items():
        info = issuers.loc[t]
        rows.append(
            HoldingRow(
                cusip=str(info["cusip"]),
                issuer=str(info["name"]).upper(),
                title_of_class="COM",
                ticker=t,
                value_ticker=t,
                shares=shares,
                share_type="SH",
                put_call=None,
                discretion="SOLE" if rng.random() < 0.9 else "DFND",
                unit_price=None,
            )
        )
    return rows


def _option_row(rng: np.random.Generator, stock: HoldingRow) -> HoldingRow:
    return replace(
        stock,
        shares=float(100 * int(rng.integers(10, 300))),
        put_call="Put" if rng.random() < 0.5 else "Call",
        discretion="SOLE",
    )


def _note_row(rng: np.random.Generator, stock: HoldingRow) -> HoldingRow:
    base = stock.cusip[:6] + "AB"
    month, day = int(rng.integers(1, 13)), int(rng.choice([1, 15]))
    return replace(
        stock,
        cusip=base + cusip_check_digit(base),
        title_of_class=f"NOTE {rng.choice([0.25, 0.75, 1.125, 1.5, 2.25, 3.0]):.3f}% {month}/{day}",
        ticker=None,
        shares=float(1000 * int(rng.integers(500, 20_000))),
        share_type="PRN",
        put_call=None,
        discretion="SOLE",
        unit_price=round(float(rng.uniform(0.85, 1.25)), 4),
    )


def _accept(rng: np.random.Generator, earliest: date) -> tuple[datetime, date, date]:
    accepted = acceptance_time(rng, edgar_day_on_or_after(earliest), late_share=0.3)
    return accepted, thirteenf_filing_date(accepted), effective_trading_day(accepted)


def plan_thirteenf(
    rng: np.random.Generator,
    filers: list[Filer],
    universe: pd.DataFrame,
    spec: SizeSpec,
    book: AccessionBook,
    units_rng: np.random.Generator,
) -> list[ThirteenFFiling]:
    """Every 13F-HR and 13F-HR/A of the world, sorted by acceptance time.

    ``units_rng`` (its own stream, so the books and amendments above do not move) times
    the planted late re-filing; see the module docstring for the unit rules.
    """
    issuers = universe.set_index("ticker")
    periods = quarter_ends(spec.start, spec.end)
    filings: list[ThirteenFFiling] = []
    for filer in filers:
        path = _book_path(rng, filer, universe, spec, len(periods))
        originals: list[tuple[ThirteenFFiling, list[HoldingRow], tuple[str, ...]]] = []
        for k, period in enumerate(periods):
            accepted, filed, known = _accept(
                rng, period + timedelta(days=int(rng.integers(30, 46)))
            )
            if accepted.date() > spec.end:
                break
            rows = sorted(_stock_rows(path[k], issuers, rng), key=lambda r: r.issuer)
            if filer.style != "index":
                if k == 1 or rng.random() < 0.2:
                    rows.append(_option_row(rng, rows[int(rng.integers(len(rows)))]))
                if k == 2 or rng.random() < 0.15:
                    rows.append(_note_row(rng, rows[int(rng.integers(len(rows)))]))
            prev = path[k - 1] if k else None
            adds = (
                ()
                if prev is None
                else tuple(sorted(t for t, s in path[k].items() if s > prev.get(t, 0.0)))
            )
            filing = ThirteenFFiling(
                filer, "", "13F-HR", None, None, period, accepted, filed, known, tuple(rows), adds
            )
            originals.append((filing, rows, adds))
        filings.extend(_with_amendments(rng, originals, spec))
    filings = _with_awkward_units(units_rng, filings, filers, spec)
    ordered = sorted(filings, key=lambda f: (f.accepted, f.filer.cik))
    return [replace(f, accession=book.issue(f.filer.cik, f.accepted.year)) for f in ordered]


def _with_amendments(
    rng: np.random.Generator,
    originals: list[tuple[ThirteenFFiling, list[HoldingRow], tuple[str, ...]]],
    spec: SizeSpec,
) -> list[ThirteenFFiling]:
    """The originals plus one NEW HOLDINGS and one RESTATEMENT amendment of a filer."""
    eligible = [
        i
        for i, (f, _, _) in enumerate(originals)
        if f.accepted.date() + timedelta(days=130) <= spec.end
    ]
    if len(eligible) < 2:
        raise ValueError(f"demo world {spec.start}..{spec.end} is too short for 13F amendments")
    new_holdings_q, restated_q = (int(i) for i in rng.choice(eligible, size=2, replace=False))
    out: list[ThirteenFFiling] = []
    for i, (filing, rows, adds) in enumerate(originals):
        if i == new_holdings_q:
            stock = [j for j, r in enumerate(rows) if r.share_type == "SH" and r.put_call is None]
            late = {int(j) for j in rng.choice(stock, size=min(2, len(stock) - 1), replace=False)}
            kept = [r for j, r in enumerate(rows) if j not in late]
            added = [r for j, r in enumerate(rows) if j in late]
            late_tickers = {r.ticker for r in added}
            first = replace(
                filing, rows=tuple(kept), adds=tuple(t for t in adds if t not in late_tickers)
            )
            accepted, filed, known = _accept(
                rng, filing.accepted.date() + timedelta(days=int(rng.integers(7, 60)))
            )
            amendment = ThirteenFFiling(
                filing.filer,
                "",
                "13F-HR/A",
                "NEW HOLDINGS",
                1,
                filing.period,
                accepted,
                filed,
                known,
                tuple(added),
                tuple(t for t in adds if t in late_tickers),
            )
            out += [first, amendment]
        elif i == restated_q:
            first = filing
            fixed = list(rows)
            for j in rng.choice(len(fixed), size=min(3, len(fixed)), replace=False):
                r = fixed[int(j)]
                fixed[int(j)] = replace(
                    r, shares=float(max(10.0, round(r.shares * rng.uniform(0.9, 1.1), -1)))
                )
            accepted, filed, known = _accept(
                rng, filing.accepted.date() + timedelta(days=int(rng.integers(20, 120)))
            )
            amendment = ThirteenFFiling(
                filing.filer,
                "",
                "13F-HR/A",
                "RESTATEMENT",
                1,
                filing.period,
                accepted,
                filed,
                known,
                tuple(fixed),
                (),
            )
            out += [first, amendment]
        else:
            out.append(filing)
    return out


def _with_awkward_units(
    rng: np.random.Generator,
    filings: list[ThirteenFFiling],
    filers: list[Filer],
    spec: SizeSpec,
) -> list[ThirteenFFiling]:
    """Plant the two unit shapes that a period-based rule gets wrong.

    * The last filer's software lags: what it files from the switch until
      :data:`LEGACY_UNITS_UNTIL` is in thousands on schema X0202 (periods 2022-12-31 on).
    * The first filer re-files its earliest unamended report after the switch: a
      RESTATEMENT with the same rows (a cover fix), in dollars, for a pre-2023 period.
    """
    if len(filers) < 2:
        raise ValueError("the demo world needs two 13F filers for its unit cases")
    lagging, refiler = filers[-1].cik, filers[0].cik
    out = [
        replace(f, legacy_units=True)
        if f.filer.cik == lagging and X0202_FROM_FILING <= f.filing_date < LEGACY_UNITS_UNTIL
        else f
        for f in filings
    ]
    amended = {(f.filer.cik, f.period) for f in out if f.amendment_type is not None}
    candidates = sorted(
        (
            f
            for f in out
            if f.filer.cik == refiler
            and f.amendment_type is None
            and (f.filer.cik, f.period) not in amended
            and f.filing_date < X0202_FROM_FILING
        ),
        key=lambda f: f.period,
    )
    if not candidates:
        raise ValueError(f"demo world {spec.start}..{spec.end} has no pre-2023 13F to re-file")
    old = candidates[0]
    day = X0202_FROM_FILING + timedelta(days=int(rng.integers(40, 120)))
    accepted = acceptance_time(rng, edgar_day_on_or_after(day), late_share=0.3)
    if accepted.date() > spec.end:
        raise ValueError(f"demo world ends {spec.end}, before the planted late re-filing")
    late = replace(
        old,
        form="13F-HR/A",
        amendment_type="RESTATEMENT",
        amendment_no=1,
        accepted=accepted,
        filing_date=thirteenf_filing_date(accepted),
        known_date=effective_trading_day(accepted),
        adds=(),
    )
    return [*out, late]
