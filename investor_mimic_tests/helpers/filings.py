"""Test helpers moved out of test_submission.py: shared by several test modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date


def _documents_part(full: bytes) -> bytes:
    """The <DOCUMENT> blocks of a real submission, for re-wrapping under another header."""
    return full[full.index(b"<DOCUMENT>") : full.rindex(b"</DOCUMENT>") + len(b"</DOCUMENT>")]


def form4_submission(xml: bytes) -> bytes:
    """The real Form 4 XML wrapped as an archive .txt submission (ISSUER / REPORTING-OWNER)."""
    header = (
        "<SEC-DOCUMENT>0002064133-25-000001.txt : 20250502\n"
        "<SEC-HEADER>0002064133-25-000001.hdr.sgml : 20250502\n"
        "<ACCEPTANCE-DATETIME>20250502170500\n"
        "ACCESSION NUMBER:\t\t0002064133-25-000001\n"
        "CONFORMED SUBMISSION TYPE:\t4\n"
        "PUBLIC DOCUMENT COUNT:\t\t1\n"
        "CONFORMED PERIOD OF REPORT:\t20250430\n"
        "FILED AS OF DATE:\t\t20250502\n\n"
        "REPORTING-OWNER:\t\n\n"
        "\tOWNER DATA:\t\n"
        "\t\tCOMPANY CONFORMED NAME:\t\t\tMelkote Rajesh Ramaswamy\n"
        "\t\tCENTRAL INDEX KEY:\t\t\t0002064133\n\n"
        "\tFILING VALUES:\n"
        "\t\tFORM TYPE:\t\t4\n\n"
        "ISSUER:\t\t\n\n"
        "\tCOMPANY DATA:\t\n"
        "\t\tCOMPANY CONFORMED NAME:\t\t\t374Water Inc.\n"
        "\t\tCENTRAL INDEX KEY:\t\t\t0000933972\n"
        "</SEC-HEADER>\n"
        "<DOCUMENT>\n<TYPE>4\n<SEQUENCE>1\n<FILENAME>form4.xml\n<TEXT>\n<XML>\n"
    )
    return header.encode() + xml + b"\n</XML>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n"


# --- real-world 13F shapes built from the real LTS One submission ------------------------
#
# The fixture (period 2023-09-30, schema X0202, values in dollars, all 14 values whole
# thousands) is edited in memory into the shapes real filers produce: a filing still in
# thousands after the switch, a late amendment of an old period in dollars, a portfolio
# of very expensive shares. Edits are textual so the documents stay byte-real otherwise.

LTS_FULL_13F = "13F-HR_0001894188-23-000007_full-submission.txt"
LTS_TOTAL_USD = 454_926_000  # the fixture's cover total and row sum, in dollars
_ROW = re.compile(r"<ns1:infoTable>.*?</ns1:infoTable>", re.S)
_VALUE = re.compile(r"<ns1:value>(\d+)</ns1:value>")
_SHARES = re.compile(r"<ns1:sshPrnamt>(\d+)</ns1:sshPrnamt>")
RowEdit = Callable[[int, int, int], tuple[int, int]]  # (line, value, shares) -> new pair


def edit_13f(
    full: str,
    *,
    period: date | None = None,
    schema: str | None = "X0202",
    form: str | None = None,
    amendment_type: str | None = None,
    rows: RowEdit | None = None,
    cover_value_total: int | None = None,
) -> str:
    """The LTS submission with its period, schema version (``None`` removes it), form,
    amendment type and rows edited; the cover total follows the rows unless given."""
    text = full
    if period is not None:
        text = text.replace("PERIOD OF REPORT:\t20230930", f"PERIOD OF REPORT:\t{period:%Y%m%d}")
        text = text.replace(">09-30-2023<", f">{period:%m-%d-%Y}<")
    if schema is None:
        text = text.replace("  <schemaVersion>X0202</schemaVersion>\n", "")
    else:
        text = text.replace("<schemaVersion>X0202<", f"<schemaVersion>{schema}<")
    if form is not None:
        text = (
            text.replace("SUBMISSION TYPE:\t13F-HR\n", f"SUBMISSION TYPE:\t{form}\n")
            .replace("FORM TYPE:\t\t13F-HR\n", f"FORM TYPE:\t\t{form}\n")
            .replace("<TYPE>13F-HR\n", f"<TYPE>{form}\n")
            .replace("<submissionType>13F-HR<", f"<submissionType>{form}<")
        )
    if amendment_type is not None:
        text = re.sub(
            r"(</reportCalendarOrQuarter>)",
            r"\1\n      <isAmendment>true</isAmendment>\n      <amendmentNo>1</amendmentNo>"
            f"\n      <amendmentInfo>\n        <amendmentType>{amendment_type}</amendmentType>"
            "\n      </amendmentInfo>",
            text,
            count=1,
        )
    total = 0
    line = 0

    def edit_row(m: re.Match[str]) -> str:
        nonlocal total, line
        line += 1
        block = m.group(0)
        value, shares = _number(_VALUE, block), _number(_SHARES, block)
        if rows is not None:
            value, shares = rows(line, value, shares)
        total += value
        block = _VALUE.sub(f"<ns1:value>{value}</ns1:value>", block)
        return _SHARES.sub(f"<ns1:sshPrnamt>{shares}</ns1:sshPrnamt>", block)

    text = _ROW.sub(edit_row, text)
    stated = total if cover_value_total is None else cover_value_total
    return re.sub(r"<tableValueTotal>\d+<", f"<tableValueTotal>{stated}<", text)


def _number(pattern: re.Pattern[str], block: str) -> int:
    m = pattern.search(block)
    assert m is not None, f"{pattern.pattern} not in {block[:80]!r}"
    return int(m.group(1))


def in_thousands(line: int, value: int, shares: int) -> tuple[int, int]:
    """A row as a filer still typing thousands states it (the fixture's are exact)."""
    return round(value / 1000), shares
