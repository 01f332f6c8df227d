"""13F-HR documents in the SEC schemas: cover page, information table, full submission.

Why text templates: the output must match EDGAR byte-for-byte in shape (namespaces,
element order, the SGML header of the full submission) as in the real filings under
../shared/fixtures/edgar, and templates keep that visible. ``<value>`` is stated in the
filing's own unit (``ThirteenFFiling.value_multiplier``: thousands before EDGAR's switch
to X0202 and for a lagging filer after it, dollars otherwise); the cover's
tableEntryTotal/tableValueTotal are computed from the table as stated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape  # nosec B406 # escape() writes XML, parses none

import numpy as np

from investor_mimic.demo.filers import HoldingRow, ThirteenFFiling

PriceAt = Callable[[str, date], float]  # close of a ticker on the last trading day <= date


@dataclass(frozen=True)
class ValuedRow:
    row: HoldingRow
    line: int
    stated_value: int


@dataclass(frozen=True)
class Rendered13F:
    filing: ThirteenFFiling
    rows: tuple[ValuedRow, ...]
    primary_doc: str
    infotable: str
    submission: str

    @property
    def table_value_total(self) -> int:
        return sum(r.stated_value for r in self.rows)


def _mdy(d: date) -> str:
    return f"{d:%m-%d-%Y}"


def value_rows(filing: ThirteenFFiling, price_at: PriceAt) -> tuple[ValuedRow, ...]:
    out = []
    for i, row in enumerate(filing.rows, start=1):
        unit = (
            row.unit_price
            if row.unit_price is not None
            else price_at(row.value_ticker, filing.period)
        )
        out.append(ValuedRow(row, i, round(row.shares * unit / filing.value_multiplier)))
    return tuple(out)


def _amendment_block(f: ThirteenFFiling) -> str:
    if f.amendment_type is None:
        return ""
    extra = (
        "\n        <confDeniedExpired>false</confDeniedExpired>"
        if f.amendment_type == "NEW HOLDINGS"
        else ""
    )
    return f"""
      <isAmendment>true</isAmendment>
      <amendmentNo>{f.amendment_no}</amendmentNo>
      <amendmentInfo>
        <amendmentType>{f.amendment_type}</amendmentType>{extra}
      </amendmentInfo>"""


def primary_doc(f: ThirteenFFiling, entries: int, value_total: int) -> str:
    m = f.filer
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edgarSubmission xmlns="http://www.sec.gov/edgar/thirteenffiler" xmlns:com="http://www.sec.gov/edgar/common">
  <schemaVersion>{f.schema_version}</schemaVersion>
  <headerData>
    <submissionType>{f.form}</submissionType>
    <filerInfo>
      <liveTestFlag>LIVE</liveTestFlag>
      <flags>
        <confirmingCopyFlag>false</confirmingCopyFlag>
        <returnCopyFlag>false</returnCopyFlag>
        <overrideInternetFlag>false</overrideInternetFlag>
      </flags>
      <filer>
        <credentials>
          <cik>{m.cik}</cik>
          <ccc>XXXXXXXX</ccc>
        </credentials>
      </filer>
      <periodOfReport>{_mdy(f.period)}</periodOfReport>
    </filerInfo>
  </headerData>
  <formData>
    <coverPage>
      <reportCalendarOrQuarter>{_mdy(f.period)}</reportCalendarOrQuarter>{_amendment_block(f)}
      <filingManager>
        <name>{escape(m.name)}</name>
        <address>
          <com:street1>{escape(m.street)}</com:street1>
          <com:city>{m.city}</com:city>
          <com:stateOrCountry>{m.state}</com:stateOrCountry>
          <com:zipCode>10022</com:zipCode>
        </address>
      </filingManager>
      <reportType>13F HOLDINGS REPORT</reportType>
      <form13FFileNumber>{m.file_number}</form13FFileNumber>
      <provideInfoForInstruction5>N</provideInfoForInstruction5>
    </coverPage>
    <signatureBlock>
      <name>Alex Morgan</name>
      <title>Chief Compliance Officer</title>
      <phone>212-555-0100</phone>
      <signature>Alex Morgan</signature>
      <city>{m.city.title()}</city>
      <stateOrCountry>{m.state}</stateOrCountry>
      <signatureDate>{_mdy(f.filing_date)}</signatureDate>
    </signatureBlock>
    <summaryPage>
      <otherIncludedManagersCount>0</otherIncludedManagersCount>
      <tableEntryTotal>{entries}</tableEntryTotal>
      <tableValueTotal>{value_total}</tableValueTotal>
      <isConfidentialOmitted>false</isConfidentialOmitted>
    </summaryPage>
  </formData>
</edgarSubmission>
"""


def _info_row(v: ValuedRow) -> str:
    r = v.row
    put_call = f"\n\t\t<ns1:putCall>{r.put_call}</ns1:putCall>" if r.put_call else ""
    sole = int(r.shares) if r.share_type == "SH" else 0
    return f"""\t<ns1:infoTable>
\t\t<ns1:nameOfIssuer>{escape(r.issuer)}</ns1:nameOfIssuer>
\t\t<ns1:titleOfClass>{escape(r.title_of_class)}</ns1:titleOfClass>
\t\t<ns1:cusip>{r.cusip}</ns1:cusip>
\t\t<ns1:value>{v.stated_value}</ns1:value>
\t\t<ns1:shrsOrPrnAmt>
\t\t\t<ns1:sshPrnamt>{int(r.shares)}</ns1:sshPrnamt>
\t\t\t<ns1:sshPrnamtType>{r.share_type}</ns1:sshPrnamtType>
\t\t</ns1:shrsOrPrnAmt>{put_call}
\t\t<ns1:investmentDiscretion>{r.discretion}</ns1:investmentDiscretion>
\t\t<ns1:votingAuthority>
\t\t\t<ns1:Sole>{sole}</ns1:Sole>
\t\t\t<ns1:Shared>0</ns1:Shared>
\t\t\t<ns1:None>0</ns1:None>
\t\t</ns1:votingAuthority>
\t</ns1:infoTable>
"""


def infotable(rows: tuple[ValuedRow, ...]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns1:informationTable xmlns:ns1="http://www.sec.gov/edgar/document/thirteenf/informationtable">\n'
        + "".join(_info_row(v) for v in rows)
        + "</ns1:informationTable>\n"
    )


def _header(f: ThirteenFFiling) -> str:
    m = f.filer
    filed = f"{f.filing_date:%Y%m%d}"
    return f"""<SEC-DOCUMENT>{f.accession}.txt : {filed}
<SEC-HEADER>{f.accession}.hdr.sgml : {filed}
<ACCEPTANCE-DATETIME>{f.accepted:%Y%m%d%H%M%S}
ACCESSION NUMBER:\t\t{f.accession}
CONFORMED SUBMISSION TYPE:\t{f.form}
PUBLIC DOCUMENT COUNT:\t\t2
CONFORMED PERIOD OF REPORT:\t{f.period:%Y%m%d}
FILED AS OF DATE:\t\t{filed}
DATE AS OF CHANGE:\t\t{filed}
EFFECTIVENESS DATE:\t\t{filed}

FILER:

\tCOMPANY DATA:\t
\t\tCOMPANY CONFORMED NAME:\t\t\t{m.name}
\t\tCENTRAL INDEX KEY:\t\t\t{m.cik}
\t\tSTATE OF INCORPORATION:\t\t\tDE
\t\tFISCAL YEAR END:\t\t\t1231

\tFILING VALUES:
\t\tFORM TYPE:\t\t{f.form}
\t\tSEC ACT:\t\t1934 Act
\t\tSEC FILE NUMBER:\t{m.file_number}

\tBUSINESS ADDRESS:\t
\t\tSTREET 1:\t\t{m.street}
\t\tCITY:\t\t\t{m.city}
\t\tSTATE:\t\t\t{m.state}
\t\tZIP:\t\t\t10022
</SEC-HEADER>
"""


def _document(kind: str, seq: int, filename: str, xml: str) -> str:
    head = f"<DOCUMENT>\n<TYPE>{kind}\n<SEQUENCE>{seq}\n<FILENAME>{filename}\n"
    return head + f"<TEXT>\n<XML>\n{xml}</XML>\n</TEXT>\n</DOCUMENT>\n"


def render_13f(f: ThirteenFFiling, price_at: PriceAt) -> Rendered13F:
    rows = value_rows(f, price_at)
    cover = primary_doc(f, len(rows), sum(r.stated_value for r in rows))
    table = infotable(rows)
    submission = (
        _header(f)
        + _document(f.form, 1, "primary_doc.xml", cover)
        + _document("INFORMATION TABLE", 2, "infotable.xml", table)
        + "</SEC-DOCUMENT>\n"
    )
    return Rendered13F(f, rows, cover, table, submission)


def unit_evidence(r: Rendered13F) -> tuple[str, float | None]:
    """What should decide the filing's unit, and its median price per share in dollars.

    The world knows its intent: a thousands filing prices its stock rows at a thousandth
    of their close (the world's shares trade far below $1,000, so those read as under $1:
    the prices decide); a dollars filing is always on schema X0202 at plausible prices,
    so the prices leave it to the schema version.
    """
    mult = r.filing.value_multiplier
    prices = [
        v.stated_value * mult / v.row.shares
        for v in r.rows
        if v.row.share_type == "SH" and v.row.put_call is None and v.stated_value > 0
    ]
    basis = "implied_prices" if mult == 1000 else "schema_version"
    return basis, float(np.median(prices)) if prices else None


def truth_rows(r: Rendered13F) -> list[dict[str, object]]:
    """What a correct parser reads out of the filing (``frames.THIRTEENF_HOLDINGS``)."""
    f = r.filing
    mult = f.value_multiplier
    basis, median = unit_evidence(r)
    return [
        {
            "filer_cik": f.filer.cik,
            "filer_name": f.filer.name,
            "accession": f.accession,
            "form": f.form,
            "amendment_type": f.amendment_type,
            "period_of_report": f.period,
            "filed_at": f.accepted,
            "known_date": f.known_date,
            "line": v.line,
            "cusip": v.row.cusip,
            "issuer": v.row.issuer,
            "title_of_class": v.row.title_of_class,
            "ticker": v.row.ticker,
            "value_usd": float(v.stated_value * mult),
            "value_multiplier": mult,
            "value_unit_basis": basis,
            "value_unit_median_price_usd": median,
            "shares": v.row.shares,
            "share_type": v.row.share_type,
            "put_call": v.row.put_call,
            "investment_discretion": v.row.discretion,
            "other_managers": None,
            "schema_version": f.schema_version,
            "cover_entry_total": len(r.rows),
            "cover_value_total_usd": float(r.table_value_total * mult),
        }
        for v in r.rows
    ]
