"""World sizes, the generator version and the seeded random streams.

Why named streams: every component (universe, filers, insiders, news, market noise)
draws from its own ``PCG64`` stream derived from ``(seed, component name)``, so a null
world and a planted world with the same seed share every document and every noise draw
and differ only by the planted drift; adding draws in one component never shifts another.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

# 3: exchange sessions from exchange_calendars; 4: value units per filing;
# 5: truth/insiders.parquet and the "long" size; 6: listings, delistings, a sector change
GENERATOR_VERSION = "6"
BENCHMARK_TICKER = "MKT"

WorldSize = Literal["tiny", "long", "demo", "large"]


@dataclass(frozen=True)
class SizeSpec:
    """How big a world is: tickers, 13F filers by style, history and document density."""

    n_tickers: int
    n_skilled: int
    n_index: int
    n_noise: int
    start: date
    end: date
    form4_per_ticker_year: float  # mean non-routine Form 4 filings per issuer and year
    news_per_ticker_month: float  # mean news items whose primary ticker is the issuer
    index_holdings: int  # positions of an index-like filer (largest names)
    noise_holdings: int  # typical positions of a skilled / noise filer

    @property
    def n_filers(self) -> int:
        return self.n_skilled + self.n_index + self.n_noise


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(40, 2, 1, 1, date(2021, 1, 4), date(2023, 12, 29), 5.0, 4.0, 40, 16),
    # few names over six years: the routine-insider rule (the same calendar month in each
    # of the three prior years) can only fire from a world's fourth year, and with
    # form4_per_ticker_year = 5 every routine insider trades in its month every year
    "long": SizeSpec(24, 1, 1, 1, date(2018, 1, 2), date(2023, 12, 29), 5.0, 2.0, 24, 10),
    "demo": SizeSpec(200, 3, 1, 4, date(2020, 1, 2), date(2024, 12, 31), 4.0, 3.0, 200, 40),
    "large": SizeSpec(3000, 6, 2, 12, date(2015, 1, 2), date(2024, 12, 31), 1.5, 1.0, 500, 150),
}


def size_spec(size: str) -> SizeSpec:
    if size not in SIZES:
        raise ValueError(f"demo world size {size!r} is not one of {sorted(SIZES)}")
    return SIZES[size]


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one component of the world (stable across Python runs)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))
    )
