"""13F-HR documents: the cover page (``primary_doc.xml``) and the information table.

Why hand-written lxml rather than edgartools: the rules that matter here — which
namespaces are SEC 13F namespaces, which elements are required, what unit ``<value>`` is
in — must be explicit and raise :class:`FilingError` on bad input; the XML itself is
small and flat. Namespaces are matched by local name after checking the root, so a
default namespace, an ``ns1:`` prefix and no namespace all read the same.

Value units (:func:`decide_value_units`): ``<value>`` is in thousands of dollars or in
whole dollars **per filing** — the SEC's switch to dollars (schema X0202, January 2023)
reached filers' software at different times, and late amendments keep both units alive
for every period. The filing's own share rows decide first; the schema version and then
the report period only break ties. Every decision carries its evidence
(:class:`ValueUnits`), which the frame keeps beside the rows.

Amendments: ``<amendmentInfo>`` is optional in the schema (eis_13F_Filer.xsd). A notice
(13F-NT/A) or confidential-treatment request (13F-CTR/A) without it is read as is; only
a 13F-HR/A whose holdings must be applied point-in-time needs its type (checked where
the rows are made, :func:`investor_mimic.parsing.extract.holdings_frame`).
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
DOLLARS_SCHEMA = 202  # schema X0202 and later: <value> in whole dollars
# Whole-dollar reading of a share row below this: the row is in thousands. Exchange-listed
# 13F securities trade above $1 almost always; $0.10 (a thousands filing read as dollars)
# is implausible for most rows of a real portfolio.
SUB_DOLLAR = 1.0
# Thousands reading of a share row above this: the row is in dollars. No US share has
# ever traded near $1M (BRK.A peaked below $800k), so this never flips a genuine
# thousands filing of very expensive shares (BRK.A-like, pre-split megacaps) to dollars.
MAX_SHARE_PRICE = 1_000_000.0
AMENDMENT_TYPES = frozenset({"RESTATEMENT", "NEW HOLDINGS"})
_DATE_FORMATS = ("%m-%d-%Y", "%Y-%m-%d")
_CUSIP = re.compile(r"[0-9A-Z]{9}")
_SCHEMA = re.compile(r"X(\d{4})")
# what decided the unit, strongest first
UnitBasis = Literal["implied_prices", "schema_version", "report_period", "default"]


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

    @property
    def is_notice(self) -> bool:
        """A 13F notice (13F-NT, 13F-NT/A): the holdings are reported by another manager."""
        report = (self.report_type or "").upper()
        return self.submission_type.upper().startswith("13F-NT") or report.startswith("13F NOTICE")

    @property
    def is_confidential_request(self) -> bool:
        """A confidential-treatment request (13F-CTR, 13F-CTR/A): never public holdings."""
        return self.submission_type.upper().startswith("13F-CTR")


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

    multiplier: int  # 1000: stated in thousands; 1: stated in whole dollars
    basis: UnitBasis  # what decided (see decide_value_units)
    rule: str  # the decision in words, with its numbers
    period_of_report: date | None
    schema_version: str | None
    figi_present: bool
    priced_rows: int  # share rows (SH, no put/call, shares and value > 0) that were priced
    sub_dollar_share: float | None  # their share under $1 a share read as whole dollars
    median_price_per_share: float | None  # their median price in dollars, decided unit


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


def whole_dollar_prices(holdings: Sequence[Holding]) -> list[float]:
    """Price per share of each stock row with ``<value>`` read as whole dollars.

    Only rows that are shares (SH) of the security itself count: options (putCall) are
    valued on the underlying, principal amounts (PRN) are not shares, and a zero value
    or zero shares prices nothing.
    """
    return [
        h.value / h.shares
        for h in holdings
        if h.share_type == "SH" and h.put_call is None and h.shares > 0 and h.value > 0
    ]


def schema_number(schema_version: str | None) -> int | None:
    """``X0202`` -> 202; ``None`` for a missing or unrecognised version."""
    m = _SCHEMA.fullmatch((schema_version or "").strip().upper())
    return int(m.group(1)) if m else None


def decide_value_units(holdings: Sequence[Holding], cover: CoverPage | None = None) -> ValueUnits:
    """Thousands or whole dollars for ``<value>`` of one filing, with the evidence.

    In order (the first that speaks decides):

    1. **Implied prices.** Price the share rows with ``<value>`` as whole dollars. When
       most (more than half) are under $1 a share, the filing is in thousands — no real
       portfolio is mostly sub-dollar, while a thousands filing read as dollars is
       (Apple at $0.14). When most would be over $1,000,000 a share *in thousands*, it is
       in dollars. Between the two both readings are possible (a $500 share in dollars
       and a $500,000 BRK.A share in thousands look the same), so prices do not decide.
    2. **A lone information table** (no cover page) has nothing else: dollars, the
       current unit, stated as read from its prices (or as a default without any).
    3. **Schema version** of the cover: X0202 and later are dollars, earlier ones
       thousands (the software a filer used, not the period, sets the unit).
    4. **Report period**, last resort: dollars from 2022-12-31.

    ``median_price_per_share`` is in dollars under the decided unit, so a check can flag
    an implausible one.
    """
    prices = whole_dollar_prices(holdings)
    n = len(prices)
    median = statistics.median(prices) if prices else None
    sub_dollar = sum(p < SUB_DOLLAR for p in prices) / n if n else None
    too_dear = sum(p * 1000 > MAX_SHARE_PRICE for p in prices) / n if n else None
    period = cover.period_of_report if cover else None
    schema = cover.schema_version if cover else None
    figi = any(h.figi for h in holdings)
    as_dollars = f"median ${median:,.2f} a share with <value> as whole dollars" if median else ""
    multiplier: int
    basis: UnitBasis
    if sub_dollar is not None and sub_dollar > 0.5:
        multiplier, basis = 1000, "implied_prices"
        rule = (
            f"{sub_dollar:.0%} of {n} share rows price under $1 a share with <value> as whole "
            f"dollars (median ${median:,.2f}): <value> in thousands"
        )
    elif too_dear is not None and too_dear > 0.5:
        multiplier, basis = 1, "implied_prices"
        rule = (
            f"{too_dear:.0%} of {n} share rows would price over ${MAX_SHARE_PRICE:,.0f} a share "
            f"with <value> in thousands ({as_dollars}): <value> in dollars"
        )
    elif cover is None:
        multiplier = 1
        if n:
            basis = "implied_prices"
            rule = f"lone information table, {n} share rows at a {as_dollars}: <value> in dollars"
        else:
            basis = "default"
            rule = "lone information table with no share rows to price: <value> in dollars"
    else:
        priced = (
            f"prices do not decide ({n} share rows, {as_dollars}); "
            if n
            else "no share rows to price; "
        )
        number = schema_number(schema)
        if number is not None:
            dollars = number >= DOLLARS_SCHEMA
            multiplier, basis = (1 if dollars else 1000), "schema_version"
            rule = (
                f"{priced}schema {schema} {'is X0202 or later' if dollars else 'predates X0202'}"
                f": <value> in {'dollars' if dollars else 'thousands'}"
            )
        else:
            assert period is not None  # a cover page always has one
            before = period < DOLLARS_FROM
            multiplier, basis = (1000 if before else 1), "report_period"
            rule = (
                f"{priced}no schema version; period {period.isoformat()} "
                f"{'before' if before else 'on/after'} {DOLLARS_FROM.isoformat()}: "
                f"<value> in {'thousands' if before else 'dollars'}"
            )
    return ValueUnits(
        multiplier=multiplier,
        basis=basis,
        rule=rule,
        period_of_report=period,
        schema_version=schema,
        figi_present=figi,
        priced_rows=n,
        sub_dollar_share=sub_dollar,
        median_price_per_share=median * multiplier if median is not None else None,
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
    units = decide_value_units(rows, cover)
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
