"""Form 4: the README facts, boolean/schema variants, 10b5-1, errors and trades_frame."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.core.frames import INSIDER_TRADES, schema_problems
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.extract import trades_frame
from investor_mimic.parsing.form4 import Form4, mentions_10b5_1, parse_form4
from investor_mimic.parsing.xmltools import read_xml
from investor_mimic_tests.helpers.filings import form4_submission

FORM4 = "form4_374water_X0508.xml"
SECOND_OWNER = """
    <reportingOwner>
        <reportingOwnerId>
            <rptOwnerCik>0001111111</rptOwnerCik>
            <rptOwnerName>Board Member Jane</rptOwnerName>
        </reportingOwnerId>
        <reportingOwnerRelationship>
            <isDirector>1</isDirector>
            <isTenPercentOwner>0</isTenPercentOwner>
        </reportingOwnerRelationship>
    </reportingOwner>
"""


def real(edgar_fixtures: Path) -> str:
    return (edgar_fixtures / FORM4).read_text()


def parse(xml: str) -> Form4:
    return parse_form4(read_xml(xml.encode(), "test Form 4"))


def test_readme_facts(edgar_fixtures: Path) -> None:
    form = parse(real(edgar_fixtures))
    assert form.schema_version == "X0508" and form.document_type == "4"
    assert form.period_of_report == date(2025, 4, 30)
    assert (form.issuer_cik, form.issuer_name, form.ticker) == (
        "0000933972",
        "374Water Inc.",
        "SCWO",
    )
    assert len(form.owners) == 1
    owner = form.owners[0]
    assert (owner.cik, owner.name) == ("0002064133", "Melkote Rajesh Ramaswamy")
    assert owner.is_officer and owner.officer_title == "Chief Technology Officer"
    assert not (owner.is_director or owner.is_ten_percent_owner or owner.is_other)
    assert form.aff10b5one is False
    award, option = form.transactions
    assert (award.line, award.is_derivative, award.code) == (1, False, "A")
    assert (award.shares, award.price, award.acquired_disposed) == (757_756, 0, "A")
    assert award.direct_indirect == "D" and award.transaction_date == date(2025, 4, 30)
    assert award.security_title == "Common Stock (restricted stock units)"
    assert (option.line, option.is_derivative, option.code) == (2, True, "A")
    assert (option.shares, option.acquired_disposed) == (757_576, "A")
    assert option.security_title == "Stock options (right to buy)"
    assert not award.is_10b5_1 and not option.is_10b5_1
    assert award.footnote_ids == ("F1",) and "Vesting commencement" in form.footnotes["F1"]


def test_boolean_and_older_schema_variants_parse_the_same(edgar_fixtures: Path) -> None:
    xml = real(edgar_fixtures)
    reference = parse(xml)
    numeric = xml.replace(">true<", ">1<").replace(">false<", ">0<")
    assert "<isOfficer>1</isOfficer>" in numeric
    assert parse(numeric) == reference
    older = xml.replace("X0508", "X0306").replace("<aff10b5One>false</aff10b5One>", "")
    parsed = parse(older)
    assert parsed.aff10b5one is None and parsed.schema_version == "X0306"
    assert parsed.transactions == reference.transactions and parsed.owners == reference.owners


def test_form_level_10b5_1_box_marks_every_transaction(edgar_fixtures: Path) -> None:
    xml = real(edgar_fixtures).replace("<aff10b5One>false<", "<aff10b5One>true<")
    form = parse(xml)
    assert form.aff10b5one is True
    assert [t.is_10b5_1 for t in form.transactions] == [True, True]


def test_10b5_1_footnote_marks_only_the_transactions_that_reference_it(
    edgar_fixtures: Path,
) -> None:
    xml = real(edgar_fixtures)
    note = "Sold pursuant to a Rule 10b5-1 trading plan adopted on January 2, 2025."
    # reference F2 from the non-derivative row's price only
    xml = xml.replace(
        "<value>0</value>\n                </transactionPricePerShare>",
        '<value>0</value>\n                    <footnoteId id="F2"/>\n'
        "                </transactionPricePerShare>",
        1,
    ).replace("</footnotes>", f'<footnote id="F2">{note}</footnote></footnotes>')
    form = parse(xml)
    assert form.transactions[0].footnote_ids == ("F1", "F2")
    assert [t.is_10b5_1 for t in form.transactions] == [True, False]


@pytest.mark.parametrize(
    ("footnote", "expected"),
    [
        ("Effected pursuant to a Rule 10b5-1 trading plan adopted by the reporting person.", True),
        ("The sales were made under a 10b5-1 plan. Price is a weighted average.", True),
        ("This transaction was not made pursuant to a Rule 10b5-1 plan.", False),
        ("Shares withheld to pay taxes on vesting of restricted stock units.", False),
    ],
)
def test_10b5_1_footnote_text(footnote: str, expected: bool) -> None:
    assert mentions_10b5_1(footnote) is expected


def test_missing_price_is_none_and_missing_derivative_shares_are_none(
    edgar_fixtures: Path,
) -> None:
    xml = real(edgar_fixtures).replace(
        "<transactionPricePerShare>\n                    <value>0</value>",
        "<transactionPricePerShare>",
        1,
    )
    xml = xml.replace(
        "<transactionShares>\n                    <value>757576</value>", "<transactionShares>"
    )
    award, option = parse(xml).transactions
    assert award.price is None and option.price == 0
    assert option.shares is None and award.shares == 757_756


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<value>757756</value>\n                    <footnoteId", "<value>-5</value><footnoteId",
         r"non-derivative transaction \(line 1\) <transactionShares>: negative"),
        ("<transactionShares>\n                    <value>757756</value>", "<transactionShares>",
         r"line 1\): missing <transactionAmounts/transactionShares/value>"),
        ("<issuerCik>0000933972</issuerCik>", "", "missing <issuer/issuerCik>"),
        ("<transactionCode>A</transactionCode>", "<transactionCode>AB</transactionCode>",
         "not a transaction code"),
        ("<value>D</value>", "<value>X</value>", "is not D or I"),
        ("<isOfficer>true</isOfficer>", "<isOfficer>yes please</isOfficer>", "not a boolean"),
        ('<footnote id="F1">', '<footnote id="F9">', "footnote 'F1' is referenced but not given"),
        ("<ownershipDocument>", '<ownershipDocument xmlns="http://example.com/own">',
         "unknown namespace"),
        ("<periodOfReport>2025-04-30<", "<periodOfReport>04/30/2025<", "not a date"),
    ],
)  # fmt: skip
def test_bad_form4_is_a_filing_error(
    edgar_fixtures: Path, old: str, new: str, message: str
) -> None:
    xml = real(edgar_fixtures)
    assert old in xml
    with pytest.raises(FilingError, match=message):
        parse(xml.replace(old, new, 1))


def test_truncated_form4_is_a_filing_error(edgar_fixtures: Path) -> None:
    data = (edgar_fixtures / FORM4).read_bytes()
    with pytest.raises(FilingError, match="malformed or truncated XML"):
        trades_frame(data[:2000], accession="0000000000-25-000001", filed_at=datetime(2025, 5, 2))


def test_trades_frame_of_the_bare_xml(edgar_fixtures: Path) -> None:
    data = (edgar_fixtures / FORM4).read_bytes()
    df = trades_frame(data, accession="0002064133-25-000001", filed_at=datetime(2025, 5, 2, 17, 5))
    assert schema_problems(df, INSIDER_TRADES) == []
    assert df["line"].tolist() == [1, 2]
    assert df["is_derivative"].tolist() == [False, True]
    assert df["code"].tolist() == ["A", "A"]
    assert df["shares"].tolist() == [757_756, 757_576]
    assert df["price"].tolist() == [0, 0]
    assert set(df["ticker"]) == {"SCWO"} and set(df["issuer_cik"]) == {"0000933972"}
    assert set(df["owner_cik"]) == {"0002064133"}
    assert df["is_officer"].all() and not df["is_director"].any()
    assert set(df["officer_title"]) == {"Chief Technology Officer"}
    assert set(df["filing_date"]) == {pd.Timestamp("2025-05-02")}
    # accepted 17:05 on Friday 2025-05-02, after the close: known on Monday
    assert set(df["known_date"]) == {pd.Timestamp("2025-05-05")}
    assert set(df["transaction_date"]) == {pd.Timestamp("2025-04-30")}


def test_trades_frame_of_a_full_submission_reads_the_header(edgar_fixtures: Path) -> None:
    data = form4_submission((edgar_fixtures / FORM4).read_bytes())
    df = trades_frame(data)
    assert set(df["accession"]) == {"0002064133-25-000001"}
    assert set(df["filed_at"]) == {pd.Timestamp("2025-05-02 17:05:00")}
    assert set(df["known_date"]) == {pd.Timestamp("2025-05-05")}


def test_trades_frame_of_bare_xml_needs_accession_and_time(edgar_fixtures: Path) -> None:
    data = (edgar_fixtures / FORM4).read_bytes()
    with pytest.raises(FilingError, match="accession number unknown"):
        trades_frame(data, filed_at=datetime(2025, 5, 2))
    with pytest.raises(FilingError, match="acceptance time unknown"):
        trades_frame(data, accession="0002064133-25-000001")


def test_joint_owners_or_their_roles_and_keep_the_first_owner(edgar_fixtures: Path) -> None:
    xml = real(edgar_fixtures).replace("<aff10b5One>", SECOND_OWNER + "<aff10b5One>", 1)
    df = trades_frame(
        xml.encode(), accession="0002064133-25-000001", filed_at=datetime(2025, 5, 2, 10)
    )
    assert set(df["owner_cik"]) == {"0002064133"}
    assert set(df["owner_name"]) == {"Melkote Rajesh Ramaswamy"}
    assert df["is_director"].all() and df["is_officer"].all()
    assert not df["is_ten_percent_owner"].any()
    assert set(df["known_date"]) == {pd.Timestamp("2025-05-02")}  # 10:00 on a trading day


def test_trades_frame_needs_a_ticker(edgar_fixtures: Path) -> None:
    xml = real(edgar_fixtures).replace("<issuerTradingSymbol>SCWO</issuerTradingSymbol>", "")
    with pytest.raises(FilingError, match="issuerTradingSymbol"):
        trades_frame(xml.encode(), accession="0002064133-25-000001", filed_at=datetime(2025, 5, 2))
