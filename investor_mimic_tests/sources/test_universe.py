"""The universe CSV: CUSIP check digits, uniqueness, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from investor_mimic.core import frames
from investor_mimic.sources.universe import (
    UniverseError,
    cusip_check_digit,
    cusip_is_valid,
    load_universe,
)

HEADER = "ticker,cik,cusip,name,sector\n"
GOOD = (
    "AAPL,320193,037833100,Apple Inc.,Technology\n"
    "MSFT,0000789019,594918104,Microsoft Corp,Technology\n"
    "GOOG,1652044,38259P508,Alphabet Inc.,Communication\n"
)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER + body)
    return path


def test_real_cusips_carry_valid_check_digits() -> None:
    assert cusip_check_digit("03783310") == "0"  # Apple
    assert cusip_check_digit("59491810") == "4"  # Microsoft
    assert cusip_check_digit("38259P50") == "8"  # Google (letters in the base)
    assert not cusip_is_valid("037833101")
    with pytest.raises(ValueError, match="not a CUSIP base"):
        cusip_check_digit("0378!310")


def test_universe_loads_with_padded_ciks(tmp_path: Path) -> None:
    universe = load_universe(write(tmp_path, GOOD))
    assert frames.schema_problems(universe, frames.UNIVERSE) == []
    assert list(universe["cik"]) == ["0000320193", "0000789019", "0001652044"]
    assert list(universe["ticker"]) == ["AAPL", "MSFT", "GOOG"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("AMZN,1018724,023135107,Amazon,Retail\n", r"line 5: CUSIP '023135107' fails"),
        ("AAPL,1018724,023135106,Amazon,Retail\n", r"line 5: duplicate ticker 'AAPL' .*line 2"),
        ("AMZN,1018724,594918104,Amazon,Retail\n", r"line 5: duplicate cusip '594918104'"),
        ("AMZN,CIK1,023135106,Amazon,Retail\n", r"line 5: CIK 'CIK1'"),
        ("AMZN,1018724,,Amazon,Retail\n", r"line 5: empty \['cusip'\]"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(UniverseError, match=message):
        load_universe(write(tmp_path, GOOD + extra))


def test_missing_file_and_columns_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UniverseError, match="not found"):
        load_universe(tmp_path / "nope.csv")
    path = tmp_path / "u.csv"
    path.write_text("ticker,cusip\nAAPL,037833100\n")
    with pytest.raises(UniverseError, match=r"missing columns \['cik', 'name', 'sector'\]"):
        load_universe(path)
