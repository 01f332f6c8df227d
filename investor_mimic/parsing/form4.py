"""Form 4 (and 4/A, 5) ownership documents: issuer, reporting owners, transactions.

Why hand-written lxml: edgartools' Form 4 class reaches for the network; the ownership
schema (X0306 ... X0508) is flat and stable, and the rules below must be explicit.
Booleans come as ``true/false`` or ``1/0``; values sit in ``<value>`` children that may
be absent when a footnote replaces them.

10b5-1 plans (trades not driven by fresh information, so not a signal) are recognised
two ways: the form-level ``<aff10b5One>`` box (schema X0508+) marks every transaction of
the form, because the SEC form does not tie the box to a row; and a footnote referenced
anywhere inside a transaction that mentions Rule 10b5-1 in a sentence without "not"
marks that transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

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

OWNERSHIP_NAMESPACES: frozenset[str | None] = frozenset({None})
_DATE_FORMATS = ("%Y-%m-%d",)
_CODE = re.compile(r"[A-Z]")
_RULE_10B5_1 = re.compile(r"10\s*b\s*5\s*-\s*1", re.IGNORECASE)
_NEGATION = re.compile(r"\bnot\b", re.IGNORECASE)


@dataclass(frozen=True)
class ReportingOwner:
    cik: str
    name: str
    is_director: bool
    is_officer: bool
    is_ten_percent_owner: bool
    is_other: bool
    officer_title: str | None


@dataclass(frozen=True)
class Transaction:
    line: int  # non-derivative rows first, then derivative rows
    is_derivative: bool
    security_title: str | None
    transaction_date: date
    code: str
    shares: float | None  # None only for a derivative row stated by value or footnote
    price: float | None  # None when the form gives no price (footnote only)
    acquired_disposed: str  # A or D
    direct_indirect: str  # D or I
    is_10b5_1: bool
    footnote_ids: tuple[str, ...]


@dataclass(frozen=True)
class Form4:
    schema_version: str | None
    document_type: str  # 4, 4/A, 5, ...
    period_of_report: date
    issuer_cik: str
    issuer_name: str | None
    ticker: str | None  # issuerTradingSymbol, upper-cased
    owners: tuple[ReportingOwner, ...]
    aff10b5one: bool | None  # None when the schema predates the box
    transactions: tuple[Transaction, ...]
    footnotes: dict[str, str]


def is_ownership_document(root: Element) -> bool:
    return localname(root) == "ownershipDocument"


def mentions_10b5_1(footnote: str) -> bool:
    """A sentence mentions Rule 10b5-1 and does not negate it ("not pursuant to ...")."""
    sentences = re.split(r"(?<=[.;])\s+", footnote)
    return any(_RULE_10B5_1.search(s) and not _NEGATION.search(s) for s in sentences)


def parse_form4(root: Element, what: str = "Form 4") -> Form4:
    check_root(root, "ownershipDocument", OWNERSHIP_NAMESPACES, what)
    owners = tuple(_owner(el, n, what) for n, el in enumerate(children(root, "reportingOwner"), 1))
    if not owners:
        raise FilingError(f"{what}: missing <reportingOwner>")
    notes_el = find(root, "footnotes")
    footnotes = {
        fn.get("id", ""): " ".join("".join(fn.itertext()).split())
        for fn in (children(notes_el, "footnote") if notes_el is not None else [])
    }
    aff = parse_bool(text(root, "aff10b5One", what, required=False), f"{what} <aff10b5One>")
    rows: list[Transaction] = []
    for table, row_name, derivative in (
        ("nonDerivativeTable", "nonDerivativeTransaction", False),
        ("derivativeTable", "derivativeTransaction", True),
    ):
        table_el = find(root, table)
        for el in children(table_el, row_name) if table_el is not None else []:
            rows.append(_transaction(el, len(rows) + 1, derivative, bool(aff), footnotes, what))
    ticker = text(root, "issuer/issuerTradingSymbol", what, required=False)
    return Form4(
        schema_version=text(root, "schemaVersion", what, required=False),
        document_type=need(root, "documentType", what),
        period_of_report=parse_date(
            need(root, "periodOfReport", what), f"{what} <periodOfReport>", _DATE_FORMATS
        ),
        issuer_cik=pad_cik(need(root, "issuer/issuerCik", what), f"{what} <issuerCik>"),
        issuer_name=text(root, "issuer/issuerName", what, required=False),
        ticker=ticker.upper() if ticker else None,
        owners=owners,
        aff10b5one=aff,
        transactions=tuple(rows),
        footnotes=footnotes,
    )


def _owner(el: Element, n: int, what: str) -> ReportingOwner:
    where = f"{what} reporting owner {n}"
    rel = find(el, "reportingOwnerRelationship")

    def flag(name: str) -> bool:
        raw = text(rel, name, where, required=False) if rel is not None else None
        return bool(parse_bool(raw, f"{where} <{name}>"))

    return ReportingOwner(
        cik=pad_cik(need(el, "reportingOwnerId/rptOwnerCik", where), f"{where} <rptOwnerCik>"),
        name=need(el, "reportingOwnerId/rptOwnerName", where),
        is_director=flag("isDirector"),
        is_officer=flag("isOfficer"),
        is_ten_percent_owner=flag("isTenPercentOwner"),
        is_other=flag("isOther"),
        officer_title=text(rel, "officerTitle", where, required=False) if rel is not None else None,
    )


def _transaction(
    el: Element, line: int, derivative: bool, aff: bool, footnotes: dict[str, str], what: str
) -> Transaction:
    kind = "derivative" if derivative else "non-derivative"
    where = f"{what} {kind} transaction (line {line})"
    code = need(el, "transactionCoding/transactionCode", where).upper()
    if not _CODE.fullmatch(code):
        raise FilingError(f"{where}: <transactionCode> {code!r} is not a transaction code")
    acq = need(el, "transactionAmounts/transactionAcquiredDisposedCode/value", where).upper()
    if acq not in ("A", "D"):
        raise FilingError(f"{where}: acquired/disposed code {acq!r} is not A or D")
    nature = need(el, "ownershipNature/directOrIndirectOwnership/value", where).upper()
    if nature not in ("D", "I"):
        raise FilingError(f"{where}: direct/indirect ownership {nature!r} is not D or I")
    shares_raw = text(el, "transactionAmounts/transactionShares/value", where, required=False)
    if shares_raw is None and not derivative:
        raise FilingError(f"{where}: missing <transactionAmounts/transactionShares/value>")
    price_raw = text(el, "transactionAmounts/transactionPricePerShare/value", where, required=False)
    ids = tuple(dict.fromkeys(f.get("id", "") for f in el.iter("{*}footnoteId")))
    missing = [i for i in ids if i not in footnotes]
    if missing:
        raise FilingError(f"{where}: footnote {missing[0]!r} is referenced but not given")
    return Transaction(
        line=line,
        is_derivative=derivative,
        security_title=text(el, "securityTitle/value", where, required=False),
        transaction_date=parse_date(
            need(el, "transactionDate/value", where), f"{where} <transactionDate>", _DATE_FORMATS
        ),
        code=code,
        shares=parse_number(shares_raw, f"{where} <transactionShares>") if shares_raw else None,
        price=parse_number(price_raw, f"{where} <transactionPricePerShare>") if price_raw else None,
        acquired_disposed=acq,
        direct_indirect=nature,
        is_10b5_1=aff or any(mentions_10b5_1(footnotes[i]) for i in ids),
        footnote_ids=ids,
    )


def read_form4(documents: Sequence[XmlDocument]) -> Form4:
    """The one ownership document among a submission's XML documents."""
    found = [(doc, root) for doc in documents if is_ownership_document(root := doc.root())]
    if not found:
        raise FilingError("no Form 4 <ownershipDocument> found")
    if len(found) > 1:
        raise FilingError(f"{found[1][0].label}: a second <ownershipDocument>")
    doc, root = found[0]
    return parse_form4(root, doc.describe("Form 4"))
