"""Filings to contract frames: the API the EDGAR source layer calls.

Why here: the source layer fetches bytes; this module turns one submission into rows of
:data:`~investor_mimic.core.frames.THIRTEENF_HOLDINGS` or
:data:`~investor_mimic.core.frames.INSIDER_TRADES`, stamping each with the point-in-time
``known_date = effective_trading_day(filed_at)``. Arguments passed explicitly win over
the submission header (the source may know them from the EDGAR index); without a
``filed_at`` from either, a filing cannot be placed in time and is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from investor_mimic.core.calendar import effective_trading_day
from investor_mimic.core.frames import INSIDER_TRADES, THIRTEENF_HOLDINGS, FrameSchema, coerce
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.form4 import read_form4
from investor_mimic.parsing.submission import Submission, split_submission
from investor_mimic.parsing.thirteenf import read_thirteenf
from investor_mimic.parsing.xmltools import pad_cik


def holdings_frame(
    text: bytes,
    cusip_to_ticker: Mapping[str, str] | None = None,
    *,
    filer_cik: str | None = None,
    filer_name: str | None = None,
    accession: str | None = None,
    filed_at: datetime | None = None,
) -> pd.DataFrame:
    """The information table of a 13F submission as ``THIRTEENF_HOLDINGS`` rows
    (:func:`holding_rows`, typed).
    """
    return typed_frame(
        holding_rows(
            text,
            cusip_to_ticker,
            filer_cik=filer_cik,
            filer_name=filer_name,
            accession=accession,
            filed_at=filed_at,
        ),
        THIRTEENF_HOLDINGS,
    )


def holding_rows(
    text: bytes,
    cusip_to_ticker: Mapping[str, str] | None = None,
    *,
    filer_cik: str | None = None,
    filer_name: str | None = None,
    accession: str | None = None,
    filed_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The information table of a 13F submission as ``THIRTEENF_HOLDINGS`` rows before
    typing, for callers that collect many filings and type them once.

    A notice (13F-NT, 13F-NT/A: another manager reports the holdings), a
    confidential-treatment request (13F-CTR, 13F-CTR/A: its holdings are not public, so
    never known to the market) and a cover stating zero entries without a table yield no
    rows; any other cover without a table is an error, and so is a 13F-HR/A with
    holdings but no ``<amendmentType>`` (RESTATEMENT replaces, NEW HOLDINGS adds: the
    rows cannot be placed in time without it).

    Each row carries the value-unit evidence of its filing: ``value_multiplier``,
    ``value_unit_basis`` and ``value_unit_median_price_usd``.
    """
    sub = split_submission(text)
    filing = read_thirteenf(sub.documents)
    cover = filing.cover
    if cover is None:
        raise FilingError("13F submission has no cover page (primary_doc.xml)")
    if cover.is_notice or cover.is_confidential_request:
        return []
    if not filing.has_table:
        if cover.entry_total == 0:
            return []
        raise FilingError(
            f"13F cover page states {cover.entry_total} entries but no information table was found"
        )
    if cover.is_amendment and cover.amendment_type is None and filing.holdings:
        raise FilingError(
            f"{cover.submission_type} has holdings but no <amendmentInfo><amendmentType>: "
            "cannot tell a RESTATEMENT from NEW HOLDINGS"
        )
    if cover.entry_total is None:
        raise FilingError("13F cover page: missing <summaryPage><tableEntryTotal>")
    cik = filer_cik or (sub.header.filer.cik if sub.header.filer else None) or cover.filer_cik
    name = filer_name or (sub.header.filer.name if sub.header.filer else None) or cover.filer_name
    if cik is None:
        raise FilingError("13F submission: filer CIK is unknown (no header and no <cik>)")
    if name is None:
        raise FilingError(
            "13F submission: filer name is unknown (no header and no <filingManager>)"
        )
    accession, filed_at = _when(sub, accession, filed_at)
    if not filing.holdings:
        return []
    mapping = cusip_to_ticker or {}
    filer_cik = pad_cik(cik, "filer_cik")
    known = effective_trading_day(filed_at)
    return [
        {
            "filer_cik": filer_cik,
            "filer_name": name,
            "accession": accession,
            "form": cover.submission_type,
            "amendment_type": cover.amendment_type,
            "period_of_report": cover.period_of_report,
            "filed_at": filed_at,
            "known_date": known,
            "line": h.line,
            "cusip": h.cusip,
            "issuer": h.issuer,
            "title_of_class": h.title_of_class,
            "ticker": mapping.get(h.cusip),
            "value_usd": filing.value_usd(h),
            "value_multiplier": filing.units.multiplier,
            "value_unit_basis": filing.units.basis,
            "value_unit_median_price_usd": filing.units.median_price_per_share,
            "shares": h.shares,
            "share_type": h.share_type,
            "put_call": h.put_call,
            "investment_discretion": h.investment_discretion,
            "other_managers": h.other_managers,
            "schema_version": cover.schema_version,
            "cover_entry_total": cover.entry_total,
            "cover_value_total_usd": filing.cover_value_total_usd,
        }
        for h in filing.holdings
    ]


def trades_frame(
    text: bytes, *, accession: str | None = None, filed_at: datetime | None = None
) -> pd.DataFrame:
    """The transactions of a Form 4 (full submission or bare XML) as ``INSIDER_TRADES`` rows."""
    return typed_frame(trade_rows(text, accession=accession, filed_at=filed_at), INSIDER_TRADES)


def trade_rows(
    text: bytes, *, accession: str | None = None, filed_at: datetime | None = None
) -> list[dict[str, Any]]:
    """:func:`trades_frame`'s rows before typing, for callers that collect many filings
    and type them once (typing a frame costs more than parsing a small Form 4).

    Owner columns describe the first reporting owner; the role flags are OR-ed across
    joint owners (any director among them makes the filing a director's).
    """
    sub = split_submission(text)
    form = read_form4(sub.documents)
    accession, filed_at = _when(sub, accession, filed_at)
    if form.ticker is None:
        raise FilingError("Form 4: missing <issuer><issuerTradingSymbol>")
    if not form.transactions:
        return []
    first = form.owners[0]
    title = next((o.officer_title for o in form.owners if o.officer_title), None)
    filing_date, known = filed_at.date(), effective_trading_day(filed_at)
    director = any(o.is_director for o in form.owners)
    officer = any(o.is_officer for o in form.owners)
    ten_percent = any(o.is_ten_percent_owner for o in form.owners)
    return [
        {
            "accession": accession,
            "filed_at": filed_at,
            "filing_date": filing_date,
            "known_date": known,
            "issuer_cik": form.issuer_cik,
            "ticker": form.ticker,
            "owner_cik": first.cik,
            "owner_name": first.name,
            "is_director": director,
            "is_officer": officer,
            "is_ten_percent_owner": ten_percent,
            "officer_title": title,
            "line": t.line,
            "security_title": t.security_title,
            "transaction_date": t.transaction_date,
            "code": t.code,
            "shares": t.shares,
            "price": t.price,
            "acquired_disposed": t.acquired_disposed,
            "direct_indirect": t.direct_indirect,
            "is_derivative": t.is_derivative,
            "is_10b5_1": t.is_10b5_1,
        }
        for t in form.transactions
    ]


def typed_frame(rows: list[dict[str, Any]], spec: FrameSchema) -> pd.DataFrame:
    """``rows`` (dicts holding every column of ``spec``) as a frame of ``spec``'s dtypes;
    ``spec``'s empty frame when there are none."""
    if not rows:
        return spec.empty()
    return coerce(pd.DataFrame(rows), spec)


def _when(
    sub: Submission, accession: str | None, filed_at: datetime | None
) -> tuple[str, datetime]:
    accession = accession or sub.header.accession
    filed_at = filed_at or sub.header.filed_at
    if accession is None:
        raise FilingError("accession number unknown: not in a submission header and not passed")
    if filed_at is None:
        raise FilingError("acceptance time unknown: not in a submission header and not passed")
    return accession, filed_at
