"""13F-HR documents: the cover page (``primary_doc.xml``) and the information table.

Why hand-written lxml rather than edgartools: the rules that matter here — which
namespaces are SEC 13F namespaces, which elements are required, what unit ``<value>`` is
in — must be explicit and raise :class:`FilingError` on bad input; the XML itself is
small and flat. Namespaces are matched by local name after checking the root, so a
default namespace, an ``ns1:`` prefix and no namespace all read the same.

Value units: ``<value>`` is in **thousands** of dollars for report periods before
2022-12-31 and in **dollars** from 2022-12-31 on (the SEC's 13F amendments, schema
X0202+). The period decides; see :func:`decide_value_units` for a lone information table,
which has no period. Every decision carries its evidence (:class:`ValueUnits`), including
the implied median price per share, so an asset check can flag an implausible one.
"""

from __future__ import annotations

import base64
import binascii
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.submission import XmlDocument
from investor_mimic.parsing.xmltools import (
    Element,
    check_root,
    children,
    find,
    localname,
    need,
    pad_cik,
    parse_bool,
    parse_date,
    parse_number,
    text,
)

COVER_NAMESPACES = frozenset({"http://www.sec.gov/edgar/thirteenffiler", None})
TABLE_NAMESPACES = frozenset({"http://www.sec.gov/edgar/document/thirteenf/informationtable", None})
DOLLARS_FROM = date(2022, 12, 31)  # first report period whose <value> is in dollars
AMENDMENT_TYPES = frozenset({"RESTATEMENT", "NEW HOLDINGS"})
_DATE_FORMATS = ("%m-%d-%Y", "%Y-%m-%d")
_CUSIP = re.compile(r"[0-9A-Z]{9}")
UnitBasis = Literal["period", "elements", "assumed"]


@dataclass(frozen=True)
class OtherManager:
    """An included manager of the summary page; rows point at it by sequence number."""

    sequence_number: str | None
    name: str | None
    cik: str | None
    file_number: str | None


@dataclass(frozen=True)
class CoverPage:
    schema_version: str | None
    submission_type: str  # 13F-HR, 13F-HR/A, 13F-NT, ...
    period_of_report: date
    is_amendment: bool
    amendment_type: str | None  # RESTATEMENT, NEW HOLDINGS or None
    amendment_no: str | None
    report_type: str | None  # 13F HOLDINGS REPORT / 13F NOTICE REPORT / 13F COMBINATION REPORT
    entry_total: int | None  # tableEntryTotal as stated
    value_total: float | None  # tableValueTotal as stated (unit: see ValueUnits)
    other_managers: tuple[OtherManager, ...]
    filer_cik: str | None
    filer_name: str | None


@dataclass(frozen=True)
class Holding:
    """One ``<infoTable>`` row; ``value`` as stated (thousands or dollars)."""

    line: int
    issuer: str
    title_of_class: str | None
    cusip: str
    figi: str | None
    value: float
    shares: float  # sshPrnamt: shares (SH) or principal amount (PRN)
    share_type: str  # SH or PRN
    put_call: str | None  # Put, Call or None
    investment_discretion: str  # SOLE, DFND or OTR
    other_managers: str | None
    voting_sole: float | None
    voting_shared: float | None
    voting_none: float | None


@dataclass(frozen=True)
class ValueUnits:
    """The unit decision for ``<value>`` and the evidence behind it."""

    multiplier: int  # 1000: stated in thousands; 1: stated in dollars
    basis: UnitBasis  # what decided: the period, post-2022 elements, or nothing (assumed)
    rule: str
    period_of_report: date | None
    schema_version: str | None
    figi_present: bool
    median_price_per_share: float | None  # median of value_usd / shares over SH rows


@dataclass(frozen=True)
class ThirteenF:
    """What a 13F submission (or a lone cover / information table) holds."""

    cover: CoverPage | None
    holdings: tuple[Holding, ...]
    has_table: bool
    units: ValueUnits

    def value_usd(self, holding: Holding) -> float:
        return holding.value * self.units.multiplier

    @property
    def cover_value_total_usd(self) -> float | None:
        if self.cover is None or self.cover.value_total is None:
            return None
        return self.cover.value_total * self.units.multiplier


def is_cover(root: Element) -> bool:
    return localname(root) == "edgarSubmission"


def is_information_table(root: Element) -> bool:
    return localname(root) == "informationTable"


def parse_cover(root: Element, what: str = "13F cover page") -> CoverPage:
    check_root(root, "edgarSubmission", COVER_NAMESPACES, what)
    cover = find(root, "formData/coverPage")
    summary = find(root, "formData/summaryPage")
    period_raw = text(root, "headerData/filerInfo/periodOfReport", what, required=False)
    if period_raw is None and cover is not None:
        period_raw = text(cover, "reportCalendarOrQuarter", what, required=False)
    if period_raw is None:
        raise FilingError(f"{what}: missing <periodOfReport> and <reportCalendarOrQuarter>")
    is_amendment = False
    amendment_type = amendment_no = report_type = filer_name = None
    if cover is not None:
        where = f"{what} <coverPage>"
        is_amendment = bool(parse_bool(text(cover, "isAmendment", where, required=False), where))
        amendment_type = text(cover, "amendmentInfo/amendmentType", where, required=False)
        amendment_no = text(cover, "amendmentNo", where, required=False)
        report_type = text(cover, "reportType", where, required=False)
        filer_name = text(cover, "filingManager/name", where, required=False)
    if amendment_type is not None:
        amendment_type = amendment_type.upper()
        if amendment_type not in AMENDMENT_TYPES:
            raise FilingError(f"{what}: unknown <amendmentType> {amendment_type!r}")
    if is_amendment and amendment_type is None:
        raise FilingError(f"{what}: <isAmendment> is true but <amendmentType> is missing")
    entry_total = value_total = None
    managers: tuple[OtherManager, ...] = ()
    if summary is not None:
        where = f"{what} <summaryPage>"
        raw_entries = text(summary, "tableEntryTotal", where, required=False)
        raw_value = text(summary, "tableValueTotal", where, required=False)
        if raw_entries is not None:
            entries = parse_number(raw_entries, f"{where} <tableEntryTotal>")
            if not entries.is_integer():
                raise FilingError(f"{where}: <tableEntryTotal> {raw_entries!r} is not a count")
            entry_total = int(entries)
        if raw_value is not None:
            value_total = parse_number(raw_value, f"{where} <tableValueTotal>")
        managers = tuple(_other_managers(summary, where))
    cik = text(root, "headerData/filerInfo/filer/credentials/cik", what, required=False)
    return CoverPage(
        schema_version=text(root, "schemaVersion", what, required=False),
        submission_type=need(root, "headerData/submissionType", what),
        period_of_report=parse_date(period_raw, f"{what} period of report", _DATE_FORMATS),
        is_amendment=is_amendment,
        amendment_type=amendment_type,
        amendment_no=amendment_no,
        report_type=report_type,
        entry_total=entry_total,
        value_total=value_total,
        other_managers=managers,
        filer_cik=pad_cik(cik, f"{what} <cik>") if cik else None,
        filer_name=filer_name,
    )


def _other_managers(summary: Element, where: str) -> list[OtherManager]:
    info = find(summary, "otherManagers2Info")
    out = []
    for entry in children(info, "otherManager2") if info is not None else []:
        manager = find(entry, "otherManager")
        fields = (
            {
                k: text(manager, k, where, required=False)
                for k in ("name", "cik", "form13FFileNumber")
            }
            if manager is not None
            else {}
        )
        cik = fields.get("cik")
        out.append(
            OtherManager(
                sequence_number=text(entry, "sequenceNumber", where, required=False),
                name=fields.get("name"),
                cik=pad_cik(cik, f"{where} other manager <cik>") if cik else None,
                file_number=fields.get("form13FFileNumber"),
            )
        )
    return out


def parse_information_table(root: Element, what: str = "13F information table") -> list[Holding]:
    check_root(root, "informationTable", TABLE_NAMESPACES, what)
    return [_holding(row, n, what) for n, row in enumerate(children(root, "infoTable"), 1)]


def _holding(row: Element, line: int, what: str) -> Holding:
    where = f"{what} row {line}"
    cusip = need(row, "cusip", where).upper()
    if not _CUSIP.fullmatch(cusip):
        raise FilingError(f"{where}: <cusip> {cusip!r} is not 9 letters/digits")
    where = f"{what} row {line} (cusip {cusip})"
    share_type = need(row, "shrsOrPrnAmt/sshPrnamtType", where).upper()
    if share_type not in ("SH", "PRN"):
        raise FilingError(f"{where}: <sshPrnamtType> {share_type!r} is not SH or PRN")
    put_call = text(row, "putCall", where, required=False)
    if put_call is not None:
        put_call = put_call.capitalize()
        if put_call not in ("Put", "Call"):
            raise FilingError(f"{where}: <putCall> {put_call!r} is not Put or Call")
    managers = [t for m in children(row, "otherManager") if (t := "".join(m.itertext()).strip())]

    def voting(name: str) -> float | None:
        raw = text(row, f"votingAuthority/{name}", where, required=False)
        return parse_number(raw, f"{where} <{name}>") if raw is not None else None

    return Holding(
        line=line,
        issuer=need(row, "nameOfIssuer", where),
        title_of_class=text(row, "titleOfClass", where, required=False),
        cusip=cusip,
        figi=text(row, "figi", where, required=False),
        value=parse_number(need(row, "value", where), f"{where} <value>"),
        shares=parse_number(need(row, "shrsOrPrnAmt/sshPrnamt", where), f"{where} <sshPrnamt>"),
        share_type=share_type,
        put_call=put_call,
        investment_discretion=need(row, "investmentDiscretion", where).upper(),
        other_managers=",".join(managers) or None,
        voting_sole=voting("Sole"),
        voting_shared=voting("Shared"),
        voting_none=voting("None"),
    )


def decide_value_units(
    period: date | None, schema_version: str | None, holdings: Sequence[Holding]
) -> ValueUnits:
    """Thousands or dollars for ``<value>``, with the evidence.

    * Period known (a cover page is present): thousands before 2022-12-31, dollars from
      then on. The schema version is recorded but does not decide: late filers used the
      X0202 schema for old periods and still reported thousands.
    * No period (a lone information table): dollars only if the table uses an element
      that exists only in the post-2022 schema (``<figi>``); otherwise the legacy unit,
      thousands, with ``basis="assumed"`` so the caller can see it was not read.
    """
    figi = any(h.figi for h in holdings)
    basis: UnitBasis
    if period is not None:
        before = period < DOLLARS_FROM
        multiplier, basis = (1000 if before else 1), "period"
        rule = (
            f"period {period.isoformat()} {'before' if before else 'on/after'} "
            f"{DOLLARS_FROM.isoformat()}: <value> in {'thousands' if before else 'dollars'}"
        )
    elif figi:
        multiplier, basis = 1, "elements"
        rule = "no period of report; <figi> present (post-2022 schema): <value> in dollars"
    else:
        multiplier, basis = 1000, "assumed"
        rule = "no period of report and no post-2022 elements: <value> assumed in thousands"
    prices = [
        h.value * multiplier / h.shares for h in holdings if h.share_type == "SH" and h.shares > 0
    ]
    return ValueUnits(
        multiplier=multiplier,
        basis=basis,
        rule=rule,
        period_of_report=period,
        schema_version=schema_version,
        figi_present=figi,
        median_price_per_share=statistics.median(prices) if prices else None,
    )


def read_thirteenf(documents: Sequence[XmlDocument]) -> ThirteenF:
    """Find and parse the cover and information table among a submission's XML documents.

    A cover page may carry its information table base64-encoded in
    ``<documents><document><contents>`` (the form filers upload, as in the SEC's sample
    13F-HR/A); that table is used when no separate information table document exists.
    """
    cover: CoverPage | None = None
    holdings: list[Holding] | None = None
    embedded: list[XmlDocument] = []
    for doc in documents:
        root = doc.root()
        if is_cover(root):
            if cover is not None:
                raise FilingError(f"{doc.label}: a second 13F cover page")
            cover = parse_cover(root, doc.describe("13F cover page"))
            embedded = _embedded_documents(root, doc.label)
        elif is_information_table(root):
            if holdings is not None:
                raise FilingError(f"{doc.label}: a second 13F information table")
            holdings = parse_information_table(root, doc.describe("13F information table"))
    for doc in embedded if holdings is None else []:
        root = doc.root()
        if is_information_table(root):
            holdings = parse_information_table(root, doc.describe("13F information table"))
    if cover is None and holdings is None:
        raise FilingError("no 13F cover page or information table found")
    rows = tuple(holdings or ())
    units = decide_value_units(
        cover.period_of_report if cover else None, cover.schema_version if cover else None, rows
    )
    return ThirteenF(cover=cover, holdings=rows, has_table=holdings is not None, units=units)


def _embedded_documents(root: Element, label: str) -> list[XmlDocument]:
    docs = find(root, "documents")
    out = []
    for n, doc in enumerate(children(docs, "document") if docs is not None else [], 1):
        where = f"{label} embedded document {n}"
        try:
            payload = base64.b64decode(need(doc, "contents", where), validate=False)
        except (binascii.Error, ValueError):
            raise FilingError(f"{where}: <contents> is not base64") from None
        out.append(
            XmlDocument(
                xml=payload,
                type=text(doc, "conformedDocumentType", where, required=False),
                sequence=f"{n} embedded in the cover page",
                filename=text(doc, "conformedName", where, required=False),
            )
        )
    return out
