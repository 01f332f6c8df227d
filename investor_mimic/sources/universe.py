"""The security master: a CSV of ticker, CIK, CUSIP, name, sector → UNIVERSE frame.

Why strict: 13F holdings join on CUSIP and Form 4 trades on issuer CIK. A mistyped
CUSIP or a duplicated ticker silently mis-attributes positions, so every row is checked
(CUSIP check digit, CIK digits, uniqueness) and a bad row is named in the error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from investor_mimic.core import frames

_CUSIP_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*@#"


class UniverseError(ValueError):
    """The universe file is unusable; the message names the file and row."""


def cusip_check_digit(base8: str) -> str:
    """The ninth CUSIP character for the first eight (modulus 10, double-add-double)."""
    if len(base8) != 8 or any(c not in _CUSIP_CHARS for c in base8.upper()):
        raise ValueError(f"not a CUSIP base: {base8!r}")
    total = 0
    for i, char in enumerate(base8.upper()):
        value = _CUSIP_CHARS.index(char)
        if i % 2 == 1:
            value *= 2
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


def cusip_is_valid(cusip: str) -> bool:
    return (
        len(cusip) == 9
        and all(c in _CUSIP_CHARS for c in cusip[:8].upper())
        and cusip[8] == cusip_check_digit(cusip[:8])
    )


def load_universe(path: Path) -> pd.DataFrame:
    """Read and validate the universe CSV; CIKs come out 10-digit zero-padded."""
    path = Path(path)
    if not path.is_file():
        raise UniverseError(f"universe file not found: {path}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in frames.UNIVERSE.columns if c not in raw.columns]
    if missing:
        raise UniverseError(f"{path}: missing columns {missing}")
    frame = raw[list(frames.UNIVERSE.columns)].apply(lambda s: s.str.strip())
    first_row: dict[tuple[str, str], int] = {}
    for line, row in enumerate(frame.itertuples(index=False), start=2):  # header is line 1
        where = f"{path} line {line}"
        empty = [c for c in ("ticker", "cik", "cusip") if not getattr(row, c)]
        if empty:
            raise UniverseError(f"{where}: empty {empty}")
        if not row.cik.isdigit() or len(row.cik) > 10:
            raise UniverseError(f"{where}: CIK {row.cik!r} is not up to 10 digits")
        if not cusip_is_valid(row.cusip):
            raise UniverseError(f"{where}: CUSIP {row.cusip!r} fails its check digit")
        for col in ("ticker", "cusip"):
            value = str(getattr(row, col)).upper()
            seen = first_row.setdefault((col, value), line)
            if seen != line:
                raise UniverseError(f"{where}: duplicate {col} {value!r} (first on line {seen})")
    frame["cik"] = frame["cik"].str.zfill(10)
    frame["cusip"] = frame["cusip"].str.upper()
    return frames.coerce(frame, frames.UNIVERSE)
