"""Form 4 documents in the SEC ownership schema (X0508) and their full submissions.

Why vary the boolean spelling: real Form 4s write flags as ``true``/``false`` or
``1``/``0``; parsers must take both, so the world uses both. Trades under a 10b5-1
plan set ``aff10b5One`` and carry a footnote that names Rule 10b5-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape  # nosec B406 # escape() writes XML, parses none

from investor_mimic.demo.insiders import Form4Filing, PlannedTrade, trade_price
from investor_mimic.demo.thirteenf_docs import PriceAt


@dataclass(frozen=True)
class Rendered4:
    filing: Form4Filing
    prices: tuple[float, ...]  # transaction price per row, document order
    xml: str
    submission: str


_PLAN_NOTE = (
    "The transactions reported on this Form 4 were effected pursuant to a Rule 10b5-1 "
    "trading plan adopted by the reporting person on"
)


def _years_from(d: date, years: int) -> date:
    return d.replace(year=d.year + years, day=1)


def _flag(f: Form4Filing, value: bool) -> str:
    if f.true_word == "1":
        return "1" if value else "0"
    return "true" if value else "false"


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _owner(f: Form4Filing) -> str:
    o = f.owner
    rel = []
    if o.is_director:
        rel.append(f"<isDirector>{_flag(f, True)}</isDirector>")
    if o.is_officer:
        rel.append(f"<isOfficer>{_flag(f, True)}</isOfficer>")
    if o.is_ten_percent_owner:
        rel.append(f"<isTenPercentOwner>{_flag(f, True)}</isTenPercentOwner>")
    if o.officer_title:
        rel.append(f"<officerTitle>{escape(o.officer_title)}</officerTitle>")
    relationship = "\n            ".join(rel)
    return f"""    <reportingOwner>
        <reportingOwnerId>
            <rptOwnerCik>{o.cik}</rptOwnerCik>
            <rptOwnerName>{escape(o.name)}</rptOwnerName>
        </reportingOwnerId>
        <reportingOwnerAddress>
            <rptOwnerStreet1>C/O {escape(f.issuer_name.upper())}</rptOwnerStreet1>
            <rptOwnerCity>NEW YORK</rptOwnerCity>
            <rptOwnerState>NY</rptOwnerState>
            <rptOwnerZipCode>10001</rptOwnerZipCode>
        </reportingOwnerAddress>
        <reportingOwnerRelationship>
            {relationship}
        </reportingOwnerRelationship>
    </reportingOwner>
"""


def _footnote_ref(f: Form4Filing) -> str:
    return '\n                    <footnoteId id="F1"/>' if f.is_10b5_1 else ""


def _ownership(t: PlannedTrade, owner_is_fund: bool) -> str:
    nature = ""
    if t.direct_indirect == "I":
        by = "By LP" if owner_is_fund else "By Trust"
        nature = f"""
                <natureOfOwnership>
                    <value>{by}</value>
                </natureOfOwnership>"""
    return f"""            <ownershipNature>
                <directOrIndirectOwnership>
                    <value>{t.direct_indirect}</value>
                </directOrIndirectOwnership>{nature}
            </ownershipNature>"""


def _amounts(f: Form4Filing, t: PlannedTrade, price: float, following: float) -> str:
    return f"""            <transactionCoding>
                <transactionFormType>4</transactionFormType>
                <transactionCode>{t.code}</transactionCode>
                <equitySwapInvolved>{_flag(f, False)}</equitySwapInvolved>
            </transactionCoding>
            <transactionAmounts>
                <transactionShares>
                    <value>{_num(t.shares)}</value>{_footnote_ref(f)}
                </transactionShares>
                <transactionPricePerShare>
                    <value>{_num(price)}</value>
                </transactionPricePerShare>
                <transactionAcquiredDisposedCode>
                    <value>{t.acquired_disposed}</value>
                </transactionAcquiredDisposedCode>
            </transactionAmounts>
            <postTransactionAmounts>
                <sharesOwnedFollowingTransaction>
                    <value>{_num(following)}</value>
                </sharesOwnedFollowingTransaction>
            </postTransactionAmounts>
"""


def _row(f: Form4Filing, t: PlannedTrade, price: float, strike: float, following: float) -> str:
    fund = f.owner.is_ten_percent_owner
    head = f"""            <securityTitle>
                <value>{t.security_title}</value>
            </securityTitle>
"""
    if not t.is_derivative:
        return f"""        <nonDerivativeTransaction>
{head}            <transactionDate>
                <value>{t.transaction_date:%Y-%m-%d}</value>
            </transactionDate>
{_amounts(f, t, price, following)}{_ownership(t, fund)}
        </nonDerivativeTransaction>
"""
    return f"""        <derivativeTransaction>
{head}            <conversionOrExercisePrice>
                <value>{_num(strike)}</value>
            </conversionOrExercisePrice>
            <transactionDate>
                <value>{t.transaction_date:%Y-%m-%d}</value>
            </transactionDate>
{_amounts(f, t, price, following)}            <exerciseDate>
                <value>{_years_from(t.transaction_date, -3):%Y-%m-%d}</value>
            </exerciseDate>
            <expirationDate>
                <value>{_years_from(t.transaction_date, 5):%Y-%m-%d}</value>
            </expirationDate>
            <underlyingSecurity>
                <underlyingSecurityTitle>
                    <value>Common Stock</value>
                </underlyingSecurityTitle>
                <underlyingSecurityShares>
                    <value>{_num(t.shares)}</value>
                </underlyingSecurityShares>
            </underlyingSecurity>
{_ownership(t, fund)}
        </derivativeTransaction>
"""


def ownership_document(
    f: Form4Filing, prices: tuple[float, ...], strikes: tuple[float, ...]
) -> str:
    base = 5_000 + int(f.owner.cik) % 97 * 1_000
    non_deriv = [
        _row(f, t, p, k, base + t.shares)
        for t, p, k in zip(f.trades, prices, strikes, strict=True)
        if not t.is_derivative
    ]
    deriv = [
        _row(f, t, p, k, t.shares)
        for t, p, k in zip(f.trades, prices, strikes, strict=True)
        if t.is_derivative
    ]
    tables = f"    <nonDerivativeTable>\n{''.join(non_deriv)}    </nonDerivativeTable>\n"
    if deriv:
        tables += f"    <derivativeTable>\n{''.join(deriv)}    </derivativeTable>\n"
    footnotes = ""
    if f.is_10b5_1 and f.plan_adopted is not None:
        footnotes = f"""    <footnotes>
        <footnote id="F1">{_PLAN_NOTE} {f.plan_adopted:%B %d, %Y}.</footnote>
    </footnotes>
"""
    return f"""<?xml version="1.0"?>
<ownershipDocument>
    <schemaVersion>X0508</schemaVersion>
    <documentType>4</documentType>
    <periodOfReport>{f.period:%Y-%m-%d}</periodOfReport>
    <issuer>
        <issuerCik>{f.issuer_cik}</issuerCik>
        <issuerName>{escape(f.issuer_name)}</issuerName>
        <issuerTradingSymbol>{f.ticker}</issuerTradingSymbol>
    </issuer>
{_owner(f)}    <aff10b5One>{_flag(f, f.is_10b5_1)}</aff10b5One>
{tables}{footnotes}    <ownerSignature>
        <signatureName>/s/ {escape(f.owner.name)}</signatureName>
        <signatureDate>{f.filing_date:%Y-%m-%d}</signatureDate>
    </ownerSignature>
</ownershipDocument>
"""


def _header(f: Form4Filing) -> str:
    filed = f"{f.filing_date:%Y%m%d}"
    return f"""<SEC-DOCUMENT>{f.accession}.txt : {filed}
<SEC-HEADER>{f.accession}.hdr.sgml : {filed}
<ACCEPTANCE-DATETIME>{f.accepted:%Y%m%d%H%M%S}
ACCESSION NUMBER:\t\t{f.accession}
CONFORMED SUBMISSION TYPE:\t4
PUBLIC DOCUMENT COUNT:\t\t1
CONFORMED PERIOD OF REPORT:\t{f.period:%Y%m%d}
FILED AS OF DATE:\t\t{filed}
DATE AS OF CHANGE:\t\t{filed}

REPORTING-OWNER:\t

\tOWNER DATA:\t
\t\tCOMPANY CONFORMED NAME:\t\t\t{f.owner.name.upper()}
\t\tCENTRAL INDEX KEY:\t\t\t{f.owner.cik}

\tFILING VALUES:
\t\tFORM TYPE:\t\t4
\t\tSEC ACT:\t\t1934 Act

ISSUER:\t\t

\tCOMPANY DATA:\t
\t\tCOMPANY CONFORMED NAME:\t\t\t{f.issuer_name.upper()}
\t\tCENTRAL INDEX KEY:\t\t\t{f.issuer_cik}
\t\tSTATE OF INCORPORATION:\t\t\tDE
\t\tFISCAL YEAR END:\t\t\t1231
</SEC-HEADER>
"""


def render_form4(f: Form4Filing, price_at: PriceAt) -> Rendered4:
    prices = tuple(trade_price(t, price_at(f.ticker, t.transaction_date)) for t in f.trades)
    strikes = tuple(
        round(price_at(f.ticker, t.transaction_date) * t.strike_fraction, 2) for t in f.trades
    )
    xml = ownership_document(f, prices, strikes)
    submission = (
        _header(f)
        + "<DOCUMENT>\n<TYPE>4\n<SEQUENCE>1\n<FILENAME>form4.xml\n<DESCRIPTION>FORM 4 SUBMISSION\n"
        + f"<TEXT>\n<XML>\n{xml}</XML>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n"
    )
    return Rendered4(f, prices, xml, submission)


def truth_rows(r: Rendered4) -> list[dict[str, object]]:
    """What a correct parser reads out of the Form 4 (``frames.INSIDER_TRADES``)."""
    f, o = r.filing, r.filing.owner
    return [
        {
            "accession": f.accession,
            "filed_at": f.accepted,
            "filing_date": f.filing_date,
            "known_date": f.known_date,
            "issuer_cik": f.issuer_cik,
            "ticker": f.ticker,
            "owner_cik": o.cik,
            "owner_name": o.name,
            "is_director": o.is_director,
            "is_officer": o.is_officer,
            "is_ten_percent_owner": o.is_ten_percent_owner,
            "officer_title": o.officer_title,
            "line": line,
            "security_title": t.security_title,
            "transaction_date": t.transaction_date,
            "code": t.code,
            "shares": t.shares,
            "price": price,
            "acquired_disposed": t.acquired_disposed,
            "direct_indirect": t.direct_indirect,
            "is_derivative": t.is_derivative,
            "is_10b5_1": f.is_10b5_1,
        }
        for line, (t, price) in enumerate(zip(f.trades, r.prices, strict=True), start=1)
    ]
