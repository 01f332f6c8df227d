"""What a file is before it is parsed: wrappings undone, wrong files named.

Why: real EDGAR files arrive with CR-only or CRLF line endings, a UTF-8 byte-order mark
or a PRIVACY-ENHANCED MESSAGE envelope (older archive ``.txt``), and a path given to the
parsers may hold an HTML page, a PDF or a gzip archive. The wrapped ones must read
exactly like the plain file; the wrong ones must say what they are, not "malformed XML".
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from investor_mimic.parsing.detect import prepare
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.extract import holdings_frame, trades_frame
from investor_mimic.parsing.submission import split_submission
from investor_mimic.parsing.thirteenf import read_thirteenf
from investor_mimic_tests.helpers.filings import LTS_FULL_13F, form4_submission

FORM4 = "form4_374water_X0508.xml"
ABACUS = "13F-HR_abacus_primary_doc.xml"
PEM_HEAD = (
    b"-----BEGIN PRIVACY-ENHANCED MESSAGE-----\n"
    b"Proc-Type: 2001,MIC-CLEAR\n"
    b"Originator-Name: webmaster@www.sec.gov\n"
    b"Originator-Key-Asymmetric:\n"
    b" MFgwCgYEVQgBAQICAf8DSgAwRwJAW2sNKK9AVtBzYZmr6aGjlWyK3XmZv3dTINen\n"
    b" TWSM7vrzLADbmYQaionwg5sDW3P6oaM5D3tdezXMm7z1T+B+twIDAQAB\n"
    b"MIC-Info: RSA-MD5,RSA,\n"
    b" NEQHs7ZRfsbNwYOKhWPg5m4UfeZSXjrq5GOUAyEUFdU5GxH45h+GAmmnbNUg35rw\n"
    b" ePoq7ZcC2Ej7N+hJvKK6rQ==\n\n"
)
PEM_TAIL = b"-----END PRIVACY-ENHANCED MESSAGE-----\n"


def crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def cr_only(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r")


def bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data


def pem(data: bytes) -> bytes:
    return PEM_HEAD + data + PEM_TAIL


def pem_crlf_bom(data: bytes) -> bytes:
    return bom(crlf(pem(data)))


WRAPPINGS: dict[str, Callable[[bytes], bytes]] = {
    "CRLF": crlf,
    "CR only": cr_only,
    "UTF-8 BOM": bom,
    "PEM envelope": pem,
    "all at once": pem_crlf_bom,
}


@pytest.mark.parametrize("wrap", WRAPPINGS.values(), ids=WRAPPINGS.keys())
def test_wrapped_13f_submission_reads_like_the_plain_one(
    edgar_fixtures: Path, wrap: Callable[[bytes], bytes]
) -> None:
    plain = (edgar_fixtures / LTS_FULL_13F).read_bytes()
    sub = split_submission(wrap(plain))
    reference = split_submission(plain)
    assert sub.header == reference.header
    # the document labels survive (CR-only endings used to lose them)
    assert [(d.type, d.sequence, d.filename) for d in sub.documents] == [
        ("13F-HR", "1", "primary_doc.xml"),
        ("INFORMATION TABLE", "2", "index.xml"),
    ]
    pd.testing.assert_frame_equal(holdings_frame(wrap(plain)), holdings_frame(plain))


@pytest.mark.parametrize("wrap", WRAPPINGS.values(), ids=WRAPPINGS.keys())
def test_wrapped_form4_submission_reads_like_the_plain_one(
    edgar_fixtures: Path, wrap: Callable[[bytes], bytes]
) -> None:
    plain = form4_submission((edgar_fixtures / FORM4).read_bytes())
    pd.testing.assert_frame_equal(trades_frame(wrap(plain)), trades_frame(plain))


@pytest.mark.parametrize("wrap", [crlf, cr_only, bom], ids=["CRLF", "CR only", "UTF-8 BOM"])
def test_wrapped_bare_xml_reads_like_the_plain_one(
    edgar_fixtures: Path, wrap: Callable[[bytes], bytes]
) -> None:
    plain = (edgar_fixtures / ABACUS).read_bytes()
    assert read_thirteenf(split_submission(wrap(plain)).documents) == read_thirteenf(
        split_submission(plain).documents
    )


def test_a_bom_inside_an_xml_block_is_dropped(edgar_fixtures: Path) -> None:
    plain = (edgar_fixtures / LTS_FULL_13F).read_bytes()
    inner = plain.replace(b"<XML>\n<?xml", b"<XML>\n\xef\xbb\xbf<?xml")
    assert inner.count(b"\xef\xbb\xbf") == 2
    pd.testing.assert_frame_equal(holdings_frame(inner), holdings_frame(plain))


def test_a_pem_envelope_without_a_submission_is_named() -> None:
    with pytest.raises(FilingError, match="PRIVACY-ENHANCED MESSAGE envelope with no EDGAR"):
        split_submission(PEM_HEAD + b"nothing here\n" + PEM_TAIL)


# --- files that are not filings -----------------------------------------------------------

EDGAR_INDEX_PAGE = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>EDGAR Filing Index</title>
</head>
<body>
<div id="formDiv"><div class="formGrouping">Filing Date<br>2023-11-14</div>
<table class="tableFile" summary="Document Format Files">
<tr><td>1</td><td><a href="/Archives/edgar/data/1894188/000189418823000007/primary_doc.xml">
primary_doc.html</a>
</table>
</body>
</html>
"""


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("0001894188-23-000007.txt", data)
    return out.getvalue()


NOT_FILINGS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "EDGAR index page (HTML, not well-formed XML)": (
        lambda _: EDGAR_INDEX_PAGE,
        "the file is an HTML page, not a 13F or Form 4 filing",
    ),
    "HTML after a BOM and comment": (
        lambda _: b"\xef\xbb\xbf<!-- saved -->\n<html><body><p>13F</body></html>",
        "HTML page",
    ),
    "PDF": (
        lambda _: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        r"the file is an Adobe Portable Document Format file \(application/pdf\)",
    ),
    "gzip of a real submission": (gzip.compress, r"GZIP Archive file \(application/x-gzip\)"),
    "zip of a real submission": (_zip, r"PKZIP Archive file \(application/zip\)"),
    "PNG": (lambda _: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "image/png"),
    "unknown binary": (
        lambda _: bytes(range(256)) * 8,
        r"the file is binary data \(no known file signature\), not an SEC filing",
    ),
    "UTF-16 text": (lambda d: d.decode().encode("utf-16"), "UTF-16 text"),
    "plain text": (lambda _: b"ACCESSION 0001894188-23-000007\nno markup\n", "plain text"),
}


@pytest.mark.parametrize("case", NOT_FILINGS.values(), ids=NOT_FILINGS.keys())
def test_files_that_are_not_filings_are_named(
    edgar_fixtures: Path, case: tuple[Callable[[bytes], bytes], str]
) -> None:
    make, message = case
    data = make((edgar_fixtures / LTS_FULL_13F).read_bytes())
    with pytest.raises(FilingError, match=message) as raised:
        split_submission(data)
    assert "malformed" not in str(raised.value)


def test_latin1_text_in_a_filing_is_not_mistaken_for_binary(edgar_fixtures: Path) -> None:
    """Old filings carry Latin-1 names (0xE9 for é); that is text, not a binary file."""
    plain = (edgar_fixtures / LTS_FULL_13F).read_bytes()
    latin1 = plain.replace(b"LTS One Management LP", b"LTS One Gestion Soci\xe9t\xe9 LP", 1)
    sub = split_submission(latin1)
    assert sub.header.filer is not None
    assert sub.header.filer.name == "LTS One Gestion Soci\ufffdt\ufffd LP"


@pytest.mark.parametrize(
    ("odd", "count", "binary"),
    [(b"\x01", 10, False), (b"\x01", 11, True), (b"\xe9", 30, False), (b"\xe9", 31, True)],
    ids=["10% controls", "11% controls", "30% Latin-1", "31% Latin-1"],
)
def test_a_file_is_binary_above_a_tenth_of_controls_or_thirty_percent_non_utf8(
    odd: bytes, count: int, binary: bool
) -> None:
    data = b"<a>" + (odd + b"x") * count
    data += b"y" * (100 - len(data) - 4) + b"</a>"
    assert len(data) == 100
    if binary:
        with pytest.raises(FilingError, match="binary data"):
            prepare(data)
    else:
        assert prepare(data) == data
