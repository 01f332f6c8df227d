"""13F cover pages and information tables: the README facts, namespace variants, errors."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.core.frames import THIRTEENF_HOLDINGS, schema_problems
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.extract import holding_rows, holdings_frame, typed_frame
from investor_mimic.parsing.submission import XmlDocument, split_submission
from investor_mimic.parsing.thirteenf import (
    parse_cover,
    parse_information_table,
    read_thirteenf,
)
from investor_mimic.parsing.xmltools import Element, read_xml

FULL_13F = "13F-HR_0001894188-23-000007_full-submission.txt"
ABACUS = "13F-HR_abacus_primary_doc.xml"
RESTATEMENT = "SEC-sample_13F-HRA_restatement_synthetic-values.xml"
SAMPLE_TABLE = "SEC-sample_information_table_synthetic-values.xml"
COVER_NS = "http://www.sec.gov/edgar/thirteenffiler"
TABLE_NS = "http://www.sec.gov/edgar/document/thirteenf/informationtable"


# --- namespace variants generated from the real files -------------------------------


def unprefixed(xml: str, prefix: str) -> str:
    """``<ns1:a xmlns:ns1=NS>`` -> ``<a xmlns=NS>``."""
    return (
        xml.replace(f"xmlns:{prefix}=", "xmlns=")
        .replace(f"<{prefix}:", "<")
        .replace(f"</{prefix}:", "</")
    )


def with_prefix(xml: str, ns: str, prefix: str) -> str:
    """Default namespace ``ns`` -> the same elements under ``prefix:``."""
    xml = xml.replace(f'xmlns="{ns}"', f'xmlns:{prefix}="{ns}"')
    return re.sub(r"<(/?)([A-Za-z][\w.-]*)(?=[\s/>])", rf"<\1{prefix}:\2", xml)


def without_namespace(xml: str, ns: str) -> str:
    return xml.replace(f' xmlns="{ns}"', "")


def table_root(xml: str) -> Element:
    return read_xml(xml.encode(), "test table")


def sample_table_variants(edgar_fixtures: Path) -> dict[str, str]:
    real = (edgar_fixtures / SAMPLE_TABLE).read_text()
    default = unprefixed(real, "ns1")
    return {
        "ns1 prefix (real)": real,
        "default namespace": default,
        "other prefix": with_prefix(default, TABLE_NS, "it"),
        "no namespace": without_namespace(default, TABLE_NS),
    }


# --- README facts ----------------------------------------------------------------------


def test_full_submission_cover_and_rows_match_the_stated_totals(edgar_fixtures: Path) -> None:
    filing = read_thirteenf(split_submission((edgar_fixtures / FULL_13F).read_bytes()).documents)
    cover = filing.cover
    assert cover is not None
    assert cover.schema_version == "X0202"
    assert cover.submission_type == "13F-HR"
    assert cover.period_of_report == date(2023, 9, 30)
    assert cover.entry_total == 14
    assert cover.value_total == 454_926_000
    assert not cover.is_amendment and cover.amendment_type is None
    assert cover.filer_cik == "0001894188" and cover.filer_name == "LTS One Management LP"
    assert len(filing.holdings) == 14
    # dollars: its prices (median $174.50) are plausible either way, schema X0202 decides
    assert filing.units.multiplier == 1 and filing.units.basis == "schema_version"
    total = sum(filing.value_usd(h) for h in filing.holdings)
    assert total == 454_926_000 == filing.cover_value_total_usd
    amazon = filing.holdings[0]
    assert (amazon.cusip, amazon.issuer, amazon.title_of_class) == (
        "023135106",
        "AMAZON COM INC",
        "COM",
    )
    assert (amazon.value, amazon.shares, amazon.share_type) == (17_479_000, 137_500, "SH")
    assert (amazon.investment_discretion, amazon.voting_sole, amazon.put_call) == (
        "SOLE",
        137_500,
        None,
    )
    assert filing.holdings[4].title_of_class == "SPON ADR UNITS"
    assert filing.holdings[7].issuer == "INTERNATIONAL FLAVORS&FRAGRA"  # &amp; decoded
    # evidence: a plausible median share price in dollars (AMZN ~127, MSFT ~316 at 2023-09-30)
    assert filing.units.median_price_per_share is not None
    assert 50 < filing.units.median_price_per_share < 500


def test_lone_cover_of_an_old_period_states_whole_dollars(edgar_fixtures: Path) -> None:
    """Abacus: period 2020-12-31, signed 2023 on X0202; the README's corrected fact."""
    filing = read_thirteenf(split_submission((edgar_fixtures / ABACUS).read_bytes()).documents)
    assert filing.cover is not None
    assert filing.cover.period_of_report == date(2020, 12, 31)
    assert filing.cover.entry_total == 92
    assert filing.cover.value_total == 114_663_960
    assert filing.units.multiplier == 1
    assert filing.cover_value_total_usd == 114_663_960  # $114.7 M, not $114.7 B
    assert not filing.has_table and filing.holdings == ()


def test_restatement_sample_and_its_embedded_table(edgar_fixtures: Path) -> None:
    filing = read_thirteenf(split_submission((edgar_fixtures / RESTATEMENT).read_bytes()).documents)
    assert filing.cover is not None
    assert filing.cover.submission_type == "13F-HR/A"
    assert filing.cover.is_amendment is True
    assert filing.cover.amendment_type == "RESTATEMENT"
    assert filing.cover.period_of_report == date(2021, 12, 31)
    assert filing.units.multiplier == 1000  # 98% of its share rows price under $1 as dollars
    lone = parse_information_table(table_root((edgar_fixtures / SAMPLE_TABLE).read_text()))
    assert len(filing.holdings) == 169
    assert [(h.cusip, h.value, h.shares) for h in filing.holdings] == [
        (h.cusip, h.value, h.shares) for h in lone
    ]


def test_sample_information_table_has_169_rows_and_newer_elements(edgar_fixtures: Path) -> None:
    rows = parse_information_table(table_root((edgar_fixtures / SAMPLE_TABLE).read_text()))
    assert len(rows) == 169
    assert [r.line for r in rows] == list(range(1, 170))
    assert sum(1 for r in rows if r.figi) == 3
    assert rows[0].figi == "02079K107743" and rows[0].issuer == "AT&T INC"


# --- namespace and boolean variants ------------------------------------------------------


def test_information_table_namespace_variants_parse_to_the_same_rows(edgar_fixtures: Path) -> None:
    variants = sample_table_variants(edgar_fixtures)
    parsed = {name: parse_information_table(table_root(xml)) for name, xml in variants.items()}
    assert "xmlns" not in variants["no namespace"]
    assert "<it:infoTable>" in variants["other prefix"]
    reference = parsed["ns1 prefix (real)"]
    for name, rows in parsed.items():
        assert rows == reference, name


def test_cover_namespace_and_boolean_variants_parse_the_same(edgar_fixtures: Path) -> None:
    real = (edgar_fixtures / RESTATEMENT).read_text()
    variants = {
        "prefixed": with_prefix(real, COVER_NS, "ns2"),
        "no namespace": without_namespace(real, COVER_NS),
        "booleans 0/1": real.replace(">true<", ">1<").replace(">false<", ">0<"),
    }
    assert "<ns2:isAmendment>" in variants["prefixed"]
    assert "<com:street1>" in variants["prefixed"]
    assert "<isAmendment>1</isAmendment>" in variants["booleans 0/1"]
    reference = parse_cover(read_xml(real.encode(), "real"))
    for name, xml in variants.items():
        assert parse_cover(read_xml(xml.encode(), name)) == reference, name


def test_full_submission_without_namespaces_gives_the_same_frame(edgar_fixtures: Path) -> None:
    full = (edgar_fixtures / FULL_13F).read_text()
    stripped = without_namespace(unprefixed(full, "ns1"), TABLE_NS)
    stripped = without_namespace(stripped, COVER_NS)
    assert "xmlns=" not in stripped and "ns1:" not in stripped
    pd.testing.assert_frame_equal(holdings_frame(stripped.encode()), holdings_frame(full.encode()))


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<ns1:value>7423</ns1:value>", "<ns1:value>-7423</ns1:value>", r"row 2 .*negative value"),
        ("<ns1:sshPrnamt>22507<", "<ns1:sshPrnamt>-22507<", r"row 2 .*<sshPrnamt>: negative"),
        ("<ns1:cusip>00724F101</ns1:cusip>", "", r"row 2: missing <cusip>"),
        ("<ns1:value>7423</ns1:value>", "", r"row 2 \(cusip 00724F101\): missing <value>"),
        ("<ns1:value>7423</ns1:value>", "<ns1:value>7,4x</ns1:value>", "not a number"),
        ("<ns1:sshPrnamtType>SH</ns1:sshPrnamtType>", "<ns1:sshPrnamtType>XX</ns1:sshPrnamtType>",
         "not SH or PRN"),
        ("<ns1:cusip>00724F101</ns1:cusip>", "<ns1:cusip>00724F1</ns1:cusip>", "not 9 letters"),
        ("thirteenf/informationtable", "thirteenf/informationtablez", "unknown namespace"),
    ],
)  # fmt: skip
def test_bad_information_table_is_a_filing_error(
    edgar_fixtures: Path, old: str, new: str, message: str
) -> None:
    real = (edgar_fixtures / SAMPLE_TABLE).read_text()
    assert old in real
    bad = real.replace(old, new, 1)
    with pytest.raises(FilingError, match=message):
        read_thirteenf([XmlDocument(bad.encode())])


def test_truncated_information_table_is_a_filing_error(edgar_fixtures: Path) -> None:
    real = (edgar_fixtures / SAMPLE_TABLE).read_bytes()
    with pytest.raises(FilingError, match="malformed or truncated XML"):
        read_thirteenf([XmlDocument(real[: len(real) // 2])])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (COVER_NS, "http://example.com/13f", "unknown namespace"),
        ("<submissionType>13F-HR</submissionType>", "", "missing <headerData/submissionType>"),
        ("<periodOfReport>12-31-2020<", "<periodOfReport>2020-31-12<", "not a date"),
        ("<tableValueTotal>114663960<", "<tableValueTotal>-5<", "negative value"),
        ("<tableEntryTotal>92<", "<tableEntryTotal>9.5<", "not a count"),
    ],
)  # fmt: skip
def test_bad_cover_is_a_filing_error(
    edgar_fixtures: Path, old: str, new: str, message: str
) -> None:
    real = (edgar_fixtures / ABACUS).read_text()
    assert old in real
    bad = real.replace(old, new)
    with pytest.raises(FilingError, match=message):
        parse_cover(read_xml(bad.encode(), "cover"))


def test_holdings_amendment_without_type_is_a_filing_error(edgar_fixtures: Path) -> None:
    """The schema makes <amendmentInfo> optional, so the cover reads; but a 13F-HR/A's
    rows cannot be applied point-in-time without knowing RESTATEMENT from NEW HOLDINGS."""
    real = (edgar_fixtures / RESTATEMENT).read_text()
    bad = re.sub(r"<amendmentInfo>.*?</amendmentInfo>", "", real, flags=re.S)
    cover = parse_cover(read_xml(bad.encode(), "cover"))
    assert cover.is_amendment and cover.amendment_type is None
    with pytest.raises(FilingError, match=r"13F-HR/A has holdings but no <amendmentInfo>"):
        holdings_frame(
            bad.encode(), accession="0123456789-22-000001", filed_at=datetime(2022, 2, 14)
        )


# --- holdings_frame ----------------------------------------------------------------------


def test_holdings_frame_of_the_full_submission(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / FULL_13F).read_bytes()
    df = holdings_frame(text, {"594918104": "MSFT", "023135106": "AMZN"})
    assert schema_problems(df, THIRTEENF_HOLDINGS) == []
    assert len(df) == 14 and df["line"].tolist() == list(range(1, 15))
    assert df["value_usd"].sum() == 454_926_000
    assert set(df["accession"]) == {"0001894188-23-000007"}
    assert set(df["filer_cik"]) == {"0001894188"}
    assert set(df["filer_name"]) == {"LTS One Management LP"}
    assert set(df["filed_at"]) == {pd.Timestamp("2023-11-14 09:38:54")}
    # accepted 09:38 on Tuesday 2023-11-14, a trading day: known that day
    assert set(df["known_date"]) == {pd.Timestamp("2023-11-14")}
    assert set(df["period_of_report"]) == {pd.Timestamp("2023-09-30")}
    assert set(df["value_multiplier"]) == {1} and set(df["schema_version"]) == {"X0202"}
    assert set(df["cover_entry_total"]) == {14}
    assert set(df["cover_value_total_usd"]) == {454_926_000.0}
    tickers = dict(zip(df["cusip"], df["ticker"], strict=True))
    assert tickers["594918104"] == "MSFT" and tickers["023135106"] == "AMZN"
    assert tickers["126408103"] is None


def test_holdings_frame_explicit_arguments_win_over_the_header(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / FULL_13F).read_bytes()
    df = holdings_frame(
        text,
        filer_cik="42",
        filer_name="Someone",
        accession="0000000042-23-000001",
        filed_at=datetime(2023, 11, 17, 16, 0, 0),  # Friday at the close
    )
    assert set(df["filer_cik"]) == {"0000000042"} and set(df["filer_name"]) == {"Someone"}
    assert set(df["accession"]) == {"0000000042-23-000001"}
    assert set(df["known_date"]) == {pd.Timestamp("2023-11-20")}  # next Monday


def test_holdings_frame_of_the_restatement(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / RESTATEMENT).read_bytes()
    df = holdings_frame(text, accession="0123456789-22-000001", filed_at=datetime(2022, 2, 14, 12))
    assert schema_problems(df, THIRTEENF_HOLDINGS) == []
    assert len(df) == 169
    assert set(df["form"]) == {"13F-HR/A"} and set(df["amendment_type"]) == {"RESTATEMENT"}
    assert set(df["value_multiplier"]) == {1000}
    assert set(df["cover_value_total_usd"]) == {1_122_000.0}
    assert df["value_usd"].iloc[1] == 7_423_000  # ADOBE: 7423 thousands


def test_holdings_frame_needs_an_acceptance_time(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / RESTATEMENT).read_bytes()
    with pytest.raises(FilingError, match="acceptance time unknown"):
        holdings_frame(text, accession="0123456789-22-000001")


def test_holdings_frame_rejects_a_cover_without_its_table(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / ABACUS).read_bytes()
    with pytest.raises(FilingError, match="states 92 entries but no information table"):
        holdings_frame(text, accession="0001978011-23-000001", filed_at=datetime(2023, 5, 31))


def test_holdings_frame_rejects_a_lone_table(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / SAMPLE_TABLE).read_bytes()
    with pytest.raises(FilingError, match="no cover page"):
        holdings_frame(text, accession="0000000001-23-000001", filed_at=datetime(2023, 5, 31))


def test_holdings_frame_of_a_notice_report_is_empty(edgar_fixtures: Path) -> None:
    notice = (
        (edgar_fixtures / ABACUS)
        .read_text()
        .replace("13F HOLDINGS REPORT", "13F NOTICE REPORT")
        .replace("<submissionType>13F-HR<", "<submissionType>13F-NT<")
    )
    notice = re.sub(r"<summaryPage>.*?</summaryPage>", "", notice, flags=re.S)
    df = holdings_frame(
        notice.encode(), accession="0001978011-23-000001", filed_at=datetime(2023, 5, 31)
    )
    assert df.empty and schema_problems(df, THIRTEENF_HOLDINGS) == []


# --- notices and confidential-treatment requests ----------------------------------------


def notice_amendment(edgar_fixtures: Path, report_type: str = "13F NOTICE") -> str:
    """The Abacus cover as a 13F-NT/A like the SEC's sample: an amendment without
    <amendmentInfo> (optional in eis_13F_Filer.xsd) and, being a notice, no summary page."""
    xml = (
        (edgar_fixtures / ABACUS)
        .read_text()
        .replace("<submissionType>13F-HR<", "<submissionType>13F-NT/A<")
        .replace("13F HOLDINGS REPORT", report_type)
        .replace(
            "</reportCalendarOrQuarter>",
            "</reportCalendarOrQuarter>\n      <isAmendment>true</isAmendment>"
            "\n      <amendmentNo>1</amendmentNo>",
        )
    )
    return re.sub(r"\s*<summaryPage>.*?</summaryPage>", "", xml, flags=re.S)


@pytest.mark.parametrize("report_type", ["13F NOTICE", "13F NOTICE REPORT"])
def test_notice_amendment_without_amendment_info_is_accepted(
    edgar_fixtures: Path, report_type: str
) -> None:
    xml = notice_amendment(edgar_fixtures, report_type)
    assert "amendmentInfo" not in xml and "summaryPage" not in xml
    cover = parse_cover(read_xml(xml.encode(), "cover"))
    assert (cover.submission_type, cover.is_amendment, cover.amendment_type) == (
        "13F-NT/A",
        True,
        None,
    )
    assert cover.is_notice and cover.entry_total is None
    df = holdings_frame(
        xml.encode(), accession="0001978011-23-000002", filed_at=datetime(2023, 6, 1)
    )
    assert df.empty and schema_problems(df, THIRTEENF_HOLDINGS) == []


def test_confidential_treatment_amendment_without_amendment_info_is_accepted(
    edgar_fixtures: Path,
) -> None:
    """The SEC's 13F-CTR/A sample shape: an amendment without <amendmentInfo> carrying
    its (confidential) table. It reads; its rows never become public holdings."""
    xml = (
        (edgar_fixtures / RESTATEMENT)
        .read_text()
        .replace("<submissionType>13F-HR/A<", "<submissionType>13F-CTR/A<")
    )
    xml = re.sub(r"\s*<amendmentInfo>.*?</amendmentInfo>", "", xml, flags=re.S)
    filing = read_thirteenf([XmlDocument(xml.encode())])
    assert filing.cover is not None and filing.cover.is_confidential_request
    assert filing.cover.is_amendment and filing.cover.amendment_type is None
    assert len(filing.holdings) == 169
    df = holdings_frame(
        xml.encode(), accession="0123456789-22-000002", filed_at=datetime(2022, 8, 3)
    )
    assert df.empty


def test_holding_rows_typed_once_are_the_holdings_frame(edgar_fixtures: Path) -> None:
    text = (edgar_fixtures / FULL_13F).read_bytes()
    rows = holding_rows(text, {"023135106": "AMZN"})
    assert len(rows) == 14 and rows[0]["ticker"] == "AMZN"
    pd.testing.assert_frame_equal(
        typed_frame(rows, THIRTEENF_HOLDINGS), holdings_frame(text, {"023135106": "AMZN"})
    )
    notice = notice_amendment(edgar_fixtures).encode()
    assert (
        holding_rows(notice, accession="0001978011-23-000001", filed_at=datetime(2023, 5, 31)) == []
    )
    pd.testing.assert_frame_equal(typed_frame([], THIRTEENF_HOLDINGS), THIRTEENF_HOLDINGS.empty())
