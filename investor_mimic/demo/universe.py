"""The security master of a demo world: tickers, issuer CIKs, valid CUSIPs, names, sectors.

Why hidden columns: the market and the filers need each issuer's size (shares
outstanding, starting price, market beta, typical volume); they live next to the public
columns here; ``universe.csv`` holds the public columns as spans
(:mod:`investor_mimic.demo.listings`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from investor_mimic.sources.universe import cusip_check_digit

SECTORS = (
    "Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Consumer Staples",
    "Industrials",
    "Energy",
    "Materials",
    "Utilities",
    "Communication Services",
)
_FIRST = [
    "Apex",
    "Blue",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orion",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidal",
    "Union",
    "Vertex",
    "Willow",
    "Xenon",
    "Yardley",
    "Zenith",
]
_SECOND = [
    "Analytics",
    "Brands",
    "Capital",
    "Dynamics",
    "Energy",
    "Foods",
    "Genomics",
    "Holdings",
    "Industries",
    "Labs",
    "Logistics",
    "Materials",
    "Networks",
    "Pharma",
    "Power",
    "Resources",
    "Systems",
    "Technologies",
    "Therapeutics",
    "Works",
]
_SUFFIX = ("Inc", "Corp", "Co", "Group Inc", "Holdings Corp", "Ltd")
_CUSIP_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q, as CUSIP issuers avoid them


def _tickers(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    seen: set[str] = {"MKT"}
    out: list[str] = []
    while len(out) < n:
        length = int(rng.choice([2, 3, 3, 4, 4]))
        t = "".join(rng.choice(letters, size=length))
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def _issuer_codes(rng: np.random.Generator, n: int) -> list[str]:
    chars = np.array(list(_CUSIP_CHARS))
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        code = "".join(rng.choice(chars, size=6))
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def make_universe(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` issuers with the public universe columns plus sizing columns for the market."""
    tickers = _tickers(rng, n)
    codes = _issuer_codes(rng, n)
    ciks = 1_000_000 + rng.choice(900_000, size=n, replace=False)
    names: list[str] = []
    used: set[str] = set()
    for _ in range(n):
        while True:
            name = (
                f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}"
                if len(used) < 0.8 * len(_FIRST) * len(_SECOND)
                else f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {len(used)} Inc"
            )
            if name not in used:
                used.add(name)
                names.append(name)
                break
    frame = pd.DataFrame(
        {
            "ticker": tickers,
            "cik": [f"{int(c):010d}" for c in ciks],
            "cusip": [c + "10" + cusip_check_digit(c + "10") for c in codes],
            "name": names,
            "sector": [SECTORS[i % len(SECTORS)] for i in rng.permutation(n)],
        }
    )
    extra = pd.DataFrame(
        {
            "shares_outstanding": np.round(np.exp(rng.normal(np.log(2e8), 1.0, n)), -3),
            "start_price": np.round(np.exp(rng.normal(np.log(50.0), 0.7, n)), 2).clip(5.0, None),
            "beta": rng.normal(1.0, 0.25, n).clip(0.3, 1.8),
            "idio_vol": rng.uniform(0.012, 0.022, n),
        }
    )
    return pd.concat([frame, extra], axis=1).sort_values("ticker", ignore_index=True)
