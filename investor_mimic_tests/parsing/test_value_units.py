"""13F value units per filing: real-world shapes built from the real fixtures.

Why these shapes: the unit of ``<value>`` is a property of the software a filer used,
not of the report period. Each test edits a real filing into a shape real filers
produce (measured on held-back EDGAR submissions: a 2022-12-31 filing still in
thousands, a late 2021 amendment in dollars, a lone table at Apple ~$141) and asserts
the dollars that come out, plus the evidence kept beside the rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.parsing.extract import holdings_frame
from investor_mimic.parsing.submission import XmlDocument, split_submission
from investor_mimic.parsing.thirteenf import (
    MAX_SHARE_PRICE,
    CoverPage,
    Holding,
    ThirteenF,
    decide_value_units,
    read_thirteenf,
)
from investor_mimic_tests.helpers.filings import (
    LTS_FULL_13F,
    LTS_TOTAL_USD,
    edit_13f,
    in_thousands,
)

SAMPLE_TABLE = "SEC-sample_information_table_synthetic-values.xml"
ABACUS = "13F-HR_abacus_primary_doc.xml"
APPLE_SHARES = 35_606  # the SEC sample table's APPLE INC row


def lts(edgar_fixtures: Path) -> str:
    return (edgar_fixtures / LTS_FULL_13F).read_text()


def frame(text: str) -> pd.DataFrame:
    return holdings_frame(text.encode())


def parsed(text: str) -> ThirteenF:
    return read_thirteenf(split_submission(text.encode()).documents)


def evidence(df: pd.DataFrame) -> tuple[int, str, float]:
    """The one (multiplier, basis, median price) every row of a filing carries."""
    cols = ["value_multiplier", "value_unit_basis", "value_unit_median_price_usd"]
    assert len(df.drop_duplicates(cols)) == 1
    m, b, p = df[cols].iloc[0]
    return int(m), str(b), float(p)


# --- the measured defects ---------------------------------------------------------------


def test_a_2022_12_31_filing_still_in_thousands_is_read_in_thousands(edgar_fixtures: Path) -> None:
    """Filed on X0202 for period 2022-12-31 by a filer still typing thousands: the period
    said dollars (1,000x too small, $0.13 a share for Amazon); the prices say thousands."""
    text = edit_13f(lts(edgar_fixtures), period=date(2022, 12, 31), rows=in_thousands)
    assert "<ns1:value>17479</ns1:value>" in text and "<tableValueTotal>454926<" in text
    df = frame(text)
    assert df["value_usd"].sum() == LTS_TOTAL_USD
    assert set(df["cover_value_total_usd"]) == {LTS_TOTAL_USD}  # the cover follows
    multiplier, basis, median = evidence(df)
    assert (multiplier, basis) == (1000, "implied_prices")
    assert median == pytest.approx(174.50, abs=0.01)  # the filing's real median share price
    amazon = df[df["cusip"] == "023135106"].iloc[0]
    assert amazon["value_usd"] / amazon["shares"] == pytest.approx(127.12, abs=0.01)


def test_a_late_amendment_for_a_2021_period_in_dollars_is_read_in_dollars(
    edgar_fixtures: Path,
) -> None:
    """A 13F-HR/A for 2021-12-31 filed with the new software (X0202) in dollars: the
    period said thousands (1,000x too large, refused by the checks)."""
    text = edit_13f(
        lts(edgar_fixtures),
        period=date(2021, 12, 31),
        form="13F-HR/A",
        amendment_type="RESTATEMENT",
    )
    df = frame(text)
    assert set(df["form"]) == {"13F-HR/A"} and set(df["amendment_type"]) == {"RESTATEMENT"}
    assert set(df["period_of_report"]) == {pd.Timestamp("2021-12-31")}
    assert df["value_usd"].sum() == LTS_TOTAL_USD
    assert set(df["cover_value_total_usd"]) == {LTS_TOTAL_USD}
    multiplier, basis, median = evidence(df)
    assert (multiplier, basis) == (1, "schema_version")
    assert median == pytest.approx(174.50, abs=0.01)


def _sample_table_in_dollars(edgar_fixtures: Path, apple_price: float) -> str:
    """The SEC sample table (synthetic values, thousands-sized) restated in dollars with
    Apple at ``apple_price`` a share and without the post-2022 ``<figi>`` element."""
    xml = (edgar_fixtures / SAMPLE_TABLE).read_text()
    xml = re.sub(r"\s*<ns1:figi>[^<]*</ns1:figi>", "", xml)
    xml = re.sub(
        r"<ns1:value>(\d+)</ns1:value>", lambda m: f"<ns1:value>{int(m[1]) * 1000}</ns1:value>", xml
    )
    apple = "<ns1:value>10456000</ns1:value>"
    assert xml.count(apple) == 1
    return xml.replace(apple, f"<ns1:value>{round(APPLE_SHARES * apple_price)}</ns1:value>")


def test_a_lone_information_table_decides_from_its_prices(edgar_fixtures: Path) -> None:
    """No cover, no period, no <figi>: it was "assumed" thousands (Apple at $141,000 a
    share); its own prices say dollars."""
    xml = _sample_table_in_dollars(edgar_fixtures, 141.0)
    assert "figi" not in xml
    filing = read_thirteenf([XmlDocument(xml.encode())])
    assert (filing.units.multiplier, filing.units.basis) == (1, "implied_prices")
    apple = next(h for h in filing.holdings if h.issuer == "APPLE INC")
    assert filing.value_usd(apple) == round(APPLE_SHARES * 141.0)
    assert filing.value_usd(apple) / apple.shares == pytest.approx(141.0, abs=0.01)
    assert "lone information table" in filing.units.rule


def test_the_sample_table_as_published_prices_as_thousands(edgar_fixtures: Path) -> None:
    """The SEC's own sample table has <figi> (post-2022 schema) but values sized in
    thousands (Apple 10,456 for 35,606 shares): prices outrank the element."""
    filing = read_thirteenf([XmlDocument((edgar_fixtures / SAMPLE_TABLE).read_bytes())])
    assert filing.units.figi_present
    assert (filing.units.multiplier, filing.units.basis) == (1000, "implied_prices")
    assert filing.units.sub_dollar_share is not None and filing.units.sub_dollar_share > 0.9
    apple = next(h for h in filing.holdings if h.issuer == "APPLE INC")
    assert filing.value_usd(apple) == 10_456_000


def test_a_lone_cover_page_total_is_in_whole_dollars(edgar_fixtures: Path) -> None:
    """Abacus: period 2020-12-31 signed 2023 on X0202; no table to price, so the schema
    decides: $114,663,960 (the README's corrected fact), not $114.7 billion."""
    filing = parsed((edgar_fixtures / ABACUS).read_text())
    assert filing.cover is not None and filing.cover.period_of_report == date(2020, 12, 31)
    assert filing.cover_value_total_usd == 114_663_960
    assert (filing.units.multiplier, filing.units.basis) == (1, "schema_version")
    assert filing.units.priced_rows == 0 and filing.units.median_price_per_share is None


# --- expensive shares must not flip a thousands filing ----------------------------------


def test_a_brk_a_like_thousands_filing_stays_in_thousands(edgar_fixtures: Path) -> None:
    """Every holding priced like BRK.A (~$450,000 a share), stated in thousands on the
    old schema: as dollars the rows read ~$450 a share — plausible, so the prices do not
    decide, and nothing may read them as dollars because they look expensive."""

    def brk_like(line: int, value: int, shares: int) -> tuple[int, int]:
        return value // 1000, max(1, round(value / 450_000))

    text = edit_13f(lts(edgar_fixtures), period=date(2021, 12, 31), schema="X0201", rows=brk_like)
    df = frame(text)
    multiplier, basis, median = evidence(df)
    assert (multiplier, basis) == (1000, "schema_version")
    assert df["value_usd"].sum() == LTS_TOTAL_USD
    assert 300_000 < median < 600_000
    # and with no schema version the period (2021) keeps it in thousands as well
    no_schema = frame(edit_13f(lts(edgar_fixtures), period=date(2021, 12, 31), schema=None,
                               rows=brk_like))  # fmt: skip
    assert evidence(no_schema)[:2] == (1000, "report_period")
    assert no_schema["value_usd"].sum() == LTS_TOTAL_USD


def test_pre_split_megacaps_in_a_thousands_filing_do_not_flip_it(edgar_fixtures: Path) -> None:
    """Six of fourteen holdings at pre-split megacap prices (~$3,000: $3 a share as
    dollars) in a post-switch filing still in thousands: the rest still price under $1,
    so the filing is in thousands."""

    def megacaps(line: int, value: int, shares: int) -> tuple[int, int]:
        if line <= 6:
            shares = max(1, round(value / 3_000))
        return value // 1000, shares

    df = frame(edit_13f(lts(edgar_fixtures), period=date(2022, 12, 31), rows=megacaps))
    assert evidence(df)[:2] == (1000, "implied_prices")
    assert df["value_usd"].sum() == LTS_TOTAL_USD


# --- the rule itself, on synthetic rows --------------------------------------------------


def _h(value: float, shares: float, share_type: str = "SH", put_call: str | None = None) -> Holding:
    return Holding(1, "X", None, "000000000", None, value, shares, share_type, put_call, "SOLE",
                   None, None, None, None)  # fmt: skip


def _cover(period: date, schema: str | None) -> CoverPage:
    return CoverPage(schema, "13F-HR", period, False, None, None, "13F HOLDINGS REPORT", 1, None,
                     (), None, None)  # fmt: skip


def test_most_means_more_than_half_of_the_share_rows() -> None:
    half = [_h(50, 100), _h(60, 100), _h(5_000, 100), _h(6_000, 100)]  # 2 of 4 under $1
    units = decide_value_units(half, _cover(date(2023, 3, 31), "X0202"))
    assert (units.multiplier, units.basis, units.sub_dollar_share) == (1, "schema_version", 0.5)
    most = [*half, _h(70, 100)]  # 3 of 5
    units = decide_value_units(most, _cover(date(2023, 3, 31), "X0202"))
    assert (units.multiplier, units.basis) == (1000, "implied_prices")
    assert units.median_price_per_share == pytest.approx(700.0)  # $0.70 as dollars, x1000


def test_options_principal_amounts_and_empty_rows_are_not_priced() -> None:
    rows = [_h(500, 1), _h(600, 1),  # $500, $600 a share: plausible as dollars
            _h(1, 1_000, put_call="Call"), _h(1, 1_000, put_call="Put"), _h(1, 1_000, "PRN"),
            _h(0, 1_000), _h(1, 1_000), _h(2, 1_000)]  # fmt: skip
    units = decide_value_units(rows, _cover(date(2021, 12, 31), "X0201"))
    assert units.priced_rows == 4  # two stock rows, two sub-dollar stock rows; not the rest
    assert units.sub_dollar_share == 0.5
    assert (units.multiplier, units.basis) == (1000, "schema_version")


def test_shares_over_a_million_dollars_in_thousands_are_dollars() -> None:
    """As thousands every row would cost > $1M a share, more than any share ever traded
    for: the filing is in dollars whatever its old schema says."""
    per_share = MAX_SHARE_PRICE / 1000 * 2  # $2,000 as dollars, $2M as thousands
    rows = [_h(per_share * 10, 10), _h(per_share * 20, 20), _h(50, 1)]
    units = decide_value_units(rows, _cover(date(2021, 12, 31), "X0201"))
    assert (units.multiplier, units.basis) == (1, "implied_prices")


@pytest.mark.parametrize(
    ("schema", "period", "multiplier", "basis"),
    [("X0202", date(2020, 12, 31), 1, "schema_version"),
     ("X0201", date(2023, 3, 31), 1000, "schema_version"),
     ("X0203", date(2021, 3, 31), 1, "schema_version"),
     (None, date(2022, 12, 30), 1000, "report_period"),
     (None, date(2022, 12, 31), 1, "report_period"),
     ("garbled", date(2024, 3, 31), 1, "report_period")],
)  # fmt: skip
def test_schema_version_then_period_break_ties(
    schema: str | None, period: date, multiplier: int, basis: str
) -> None:
    units = decide_value_units([_h(100_000, 1_000)], _cover(period, schema))  # $100 a share
    assert (units.multiplier, units.basis) == (multiplier, basis)
    assert units.schema_version == schema and units.period_of_report == period


def test_the_evidence_is_kept_in_the_frame(edgar_fixtures: Path) -> None:
    df = holdings_frame(
        (edgar_fixtures / "SEC-sample_13F-HRA_restatement_synthetic-values.xml").read_bytes(),
        accession="0123456789-22-000001",
        filed_at=datetime(2022, 2, 14, 12),
    )
    multiplier, basis, median = evidence(df)
    assert (multiplier, basis) == (1000, "implied_prices")
    assert median == pytest.approx(92.90, abs=0.01)
