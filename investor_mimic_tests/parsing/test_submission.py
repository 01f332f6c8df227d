"""EDGAR full submissions: header fields and XML documents, both SGML dialects."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.submission import Party, split_submission
from investor_mimic_tests.helpers.filings import _documents_part, form4_submission

FULL_13F = "13F-HR_0001894188-23-000007_full-submission.txt"
FORM4 = "form4_374water_X0508.xml"


def test_archive_header_and_documents_of_the_real_13f(edgar_fixtures: Path) -> None:
    sub = split_submission((edgar_fixtures / FULL_13F).read_bytes())
    h = sub.header
    assert h.accession == "0001894188-23-000007"
    assert h.form_type == "13F-HR"
    assert h.filed_at == datetime(2023, 11, 14, 9, 38, 54)
    assert h.filing_date == date(2023, 11, 14)
    assert h.period_of_report == date(2023, 9, 30)
    assert h.filer == Party("0001894188", "LTS One Management LP")
    assert [d.type for d in sub.documents] == ["13F-HR", "INFORMATION TABLE"]
    assert [d.filename for d in sub.documents] == ["primary_doc.xml", "index.xml"]
    assert sub.documents[0].xml.strip().startswith(b"<?xml")
    assert sub.documents[1].xml.strip().endswith(b"</ns1:informationTable>")


def test_feed_dialect_header_reads_the_same(edgar_fixtures: Path) -> None:
    full = (edgar_fixtures / FULL_13F).read_bytes()
    nc = (
        b"<SUBMISSION>\n<ACCESSION-NUMBER>0001894188-23-000007\n<TYPE>13F-HR\n"
        b"<PUBLIC-DOCUMENT-COUNT>2\n<PERIOD>20230930\n<FILING-DATE>20231114\n"
        b"<ACCEPTANCE-DATETIME>20231114093854\n<FILER>\n<COMPANY-DATA>\n"
        b"<CONFORMED-NAME>LTS One Management LP\n<CIK>0001894188\n</COMPANY-DATA>\n"
        b"<FILING-VALUES>\n<FORM-TYPE>13F-HR\n</FILING-VALUES>\n</FILER>\n"
        + _documents_part(full)
        + b"\n</SUBMISSION>\n"
    )
    archive, feed = split_submission(full), split_submission(nc)
    assert feed.header == archive.header
    assert feed.documents == archive.documents


def test_form4_header_has_issuer_and_reporting_owner(edgar_fixtures: Path) -> None:
    xml = (edgar_fixtures / FORM4).read_bytes()
    sub = split_submission(form4_submission(xml))
    assert sub.header.form_type == "4"
    assert sub.header.issuer == Party("0000933972", "374Water Inc.")
    assert sub.header.reporting_owners == (Party("0002064133", "Melkote Rajesh Ramaswamy"),)
    assert sub.header.filer is None
    assert sub.header.filed_at == datetime(2025, 5, 2, 17, 5)
    assert sub.documents[0].xml.strip() == xml.strip()


def test_bare_xml_passes_through_with_an_empty_header(edgar_fixtures: Path) -> None:
    xml = (edgar_fixtures / FORM4).read_bytes()
    sub = split_submission(xml)
    assert sub.header.accession is None and sub.header.filed_at is None
    assert len(sub.documents) == 1 and sub.documents[0].xml == xml


def test_submission_cut_inside_a_document_is_a_filing_error(edgar_fixtures: Path) -> None:
    full = (edgar_fixtures / FULL_13F).read_bytes()
    with pytest.raises(FilingError, match="<DOCUMENT> 2 has no </DOCUMENT>"):
        split_submission(full[: full.index(b"<ns1:infoTable>")])


def test_submission_cut_before_any_document_is_a_filing_error(edgar_fixtures: Path) -> None:
    full = (edgar_fixtures / FULL_13F).read_bytes()
    with pytest.raises(FilingError, match="no <DOCUMENT>"):
        split_submission(full[: full.index(b"<DOCUMENT>")])


def test_xml_block_without_its_end_is_a_filing_error(edgar_fixtures: Path) -> None:
    full = (edgar_fixtures / FULL_13F).read_bytes()
    broken = full.replace(b"</XML>", b"", 1)
    with pytest.raises(FilingError, match=r"<XML> of <DOCUMENT> 1 has no </XML>"):
        split_submission(broken)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<ACCEPTANCE-DATETIME>20231114093854", b"<ACCEPTANCE-DATETIME>2023-11-14", "ACCEPTANCE"),
        (b"NUMBER:\t\t0001894188-23-000007", b"NUMBER:\t\t1894188-23-7", "ACCESSION NUMBER"),
    ],
)
def test_bad_header_fields_are_filing_errors(
    edgar_fixtures: Path, old: bytes, new: bytes, message: str
) -> None:
    full = (edgar_fixtures / FULL_13F).read_bytes()
    assert old in full
    with pytest.raises(FilingError, match=message):
        split_submission(full.replace(old, new))
