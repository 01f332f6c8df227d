"""SEC EDGAR: submissions lists, daily form indexes and full submission texts.

Why two transports and one client: the demo world mirrors EDGAR's paths under
``<world>/edgar``, so the same :class:`EdgarClient` (all parsing, all selection rules)
runs against live EDGAR over HTTP or against the folder; only ``fetch(path)`` differs.
Paths are EDGAR-relative: ``submissions/CIK##########.json`` (data.sec.gov) and
``Archives/edgar/...`` (www.sec.gov).

Point-in-time note: the submissions JSON's ``acceptanceDateTime`` ends in ``Z`` but is
for some filers US/Eastern wall-clock and for others UTC, so :attr:`FilingRef.accepted_at`
is for ordering and logging only. The time a filing became known is the
``<ACCEPTANCE-DATETIME>`` of its SGML header (always US/Eastern), which the parsers read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from investor_mimic.core import frames
from investor_mimic.core.calendar import edgar_business_day
from investor_mimic.core.frames import cik10
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.extract import holding_rows, trade_rows, typed_frame
from investor_mimic.parsing.xmltools import strptime
from investor_mimic.sources.http import (
    NEVER_EXPIRE,
    HttpNotFound,
    HttpStore,
    PoliteSession,
    RateLimiter,
)

THIRTEENF_FORMS = frozenset({"13F-HR", "13F-HR/A"})
FORM4_FORMS = frozenset({"4", "4/A"})
_EMAIL = re.compile(r"\S+@\S+\.\S+")

# How long a cached EDGAR answer stays fresh, by URL pattern (first match wins). A filing's
# documents never change once accepted (an amendment is a new accession); indexes and
# submissions lists grow during the day, so they are kept only briefly.
EDGAR_CACHE_SECONDS: dict[str, int] = {
    "*/Archives/edgar/data/": NEVER_EXPIRE,
    "*/Archives/edgar/daily-index/": 3600,
    "*/Archives/edgar/full-index/": 3600,
    "*/submissions/": 600,
    "*/files/company_tickers": 86400,
}
COMPANY_TICKERS = "files/company_tickers.json"  # on www.sec.gov
SEC_LIMIT = "sec"  # one bucket for www.sec.gov and data.sec.gov: the SEC counts per client


class EdgarError(RuntimeError):
    """EDGAR data that is missing or malformed where it must exist."""


class EdgarIndexMissing(EdgarError):
    """No daily index for an EDGAR business day: not yet published, or an outage."""


@dataclass(frozen=True, order=True)
class FilingRef:
    """One filing as listed by the submissions API."""

    filing_date: date
    accession: str
    cik: str
    form: str
    report_date: date | None
    accepted_at: datetime | None  # stated wall-clock, timezone ambiguous (see module doc)


@dataclass(frozen=True)
class Submissions:
    cik: str
    name: str
    filings: list[FilingRef]
    sic: str | None = None  # Standard Industrial Classification code, when EDGAR states one


@dataclass(frozen=True)
class IndexEntry:
    """One row of a daily form index; ``path`` is relative to ``Archives/``."""

    form: str
    company: str
    cik: str
    date_filed: date
    path: str

    @property
    def accession(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".txt")


def daily_index_path(day: date) -> str:
    """EDGAR-relative path of the daily form index of ``day``."""
    quarter = (day.month - 1) // 3 + 1
    return f"Archives/edgar/daily-index/{day.year}/QTR{quarter}/form.{day:%Y%m%d}.idx"


class EdgarTransport(Protocol):
    """Fetches an EDGAR-relative path; ``None`` when the document does not exist.

    ``missing_means_empty``: True for a complete snapshot (the demo world), where a
    missing daily index means no filings that day; False for live EDGAR, where it can
    also mean "not published yet" and must not be mistaken for an empty day.
    """

    missing_means_empty: bool

    def fetch(self, path: str) -> bytes | None: ...

    def where(self, path: str) -> str:
        """Where ``path`` is fetched from (a URL or a file), for messages."""
        ...


class HttpEdgarTransport:
    """Live EDGAR over HTTPS: identity User-Agent, ≤ ``max_rps`` requests/s, retries."""

    missing_means_empty = False

    def __init__(
        self,
        identity: str | None,
        www_url: str,
        data_url: str,
        max_rps: float = 10.0,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 30.0,
        store: HttpStore | None = None,
    ) -> None:
        """``store``: where the response cache and the shared SEC rate limit live; without
        one, nothing is cached and the limit holds only within this process."""
        if not identity or not _EMAIL.search(identity):
            raise EdgarError(
                f"EDGAR needs an identity User-Agent like 'Jane Doe jane@example.com' "
                f"(set IM_EDGAR_IDENTITY); got {identity!r}"
            )
        self.www_url = www_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self.session = PoliteSession(
            identity,
            store.limiter(SEC_LIMIT, max_rps) if store else RateLimiter(max_rps, name=SEC_LIMIT),
            max_attempts=max_attempts,
            backoff=backoff,
            timeout=timeout,
            headers={"Accept-Encoding": "gzip, deflate"},
            session=store.cached_session(EDGAR_CACHE_SECONDS) if store else None,
        )

    def where(self, path: str) -> str:
        base = self.data_url if path.startswith("submissions/") else self.www_url
        return f"{base}/{path}"

    def fetch(self, path: str) -> bytes | None:
        try:
            return self.session.get(self.where(path)).content
        except HttpNotFound:
            return None


class FolderEdgarTransport:
    """The demo world's EDGAR mirror: ``root`` is the folder holding ``submissions/``."""

    missing_means_empty = True

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise EdgarError(f"EDGAR folder not found: {root}")
        self.root = root

    def where(self, path: str) -> str:
        return str(self.root / path)

    def fetch(self, path: str) -> bytes | None:
        file = self.root / path
        return file.read_bytes() if file.is_file() else None


class EdgarClient:
    """Reads and parses EDGAR documents through one transport."""

    def __init__(self, transport: EdgarTransport) -> None:
        self.transport = transport

    def submissions(self, cik: str, *, filed_since: date | None = None) -> Submissions:
        """A filer's filings: the ``recent`` block, plus the older pages when
        ``filed_since`` is given (only those pages that reach past that date)."""
        cik = cik10(cik)
        path = f"submissions/CIK{cik}.json"
        doc = self._json(path)
        try:
            filings = _filing_refs(doc["filings"]["recent"], cik, path)
            older = doc["filings"].get("files", [])
            name = str(doc["name"])
        except (KeyError, TypeError) as exc:
            raise EdgarError(f"{path}: not a submissions document (missing {exc})") from exc
        if filed_since is not None:
            for page in older:
                if date.fromisoformat(page["filingTo"]) >= filed_since:
                    page_path = f"submissions/{page['name']}"
                    filings += _filing_refs(self._json(page_path), cik, page_path)
        sic = str(doc.get("sic") or "").strip() or None
        return Submissions(cik=cik, name=name, filings=sorted(set(filings)), sic=sic)

    def company_tickers(self) -> pd.DataFrame:
        """SEC's ``files/company_tickers.json`` (every listed company's CIK, ticker and
        name) as rows of cik (10 digits), ticker, title, in the file's order; a company
        with several share classes has several rows."""
        path = COMPANY_TICKERS
        doc = self._json(path)
        rows = []
        for key, entry in doc.items():
            try:
                rows.append(
                    {
                        "cik": cik10(entry["cik_str"]),
                        "ticker": str(entry["ticker"]).strip().upper(),
                        "title": str(entry["title"]).strip(),
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise EdgarError(f"{path}: entry {key!r} is malformed ({exc})") from exc
        if not rows:
            raise EdgarError(f"{path}: no companies listed")
        return pd.DataFrame(rows, columns=["cik", "ticker", "title"]).astype("string")

    def daily_index(self, day: date) -> list[IndexEntry] | None:
        """The daily form index of ``day``; ``None`` when EDGAR has none for it."""
        path = daily_index_path(day)
        raw = self.transport.fetch(path)
        return None if raw is None else parse_daily_index(raw.decode("latin-1"), path)

    def document(self, archive_path: str) -> bytes:
        """A document by its path below ``Archives/`` (as the daily index states it)."""
        path = f"Archives/{archive_path.lstrip('/')}"
        raw = self.transport.fetch(path)
        if raw is None:
            raise EdgarError(f"EDGAR document not found: {path}")
        return raw

    def filing_text(self, cik: str, accession: str) -> bytes:
        """The full submission text (SGML header + documents) of one filing."""
        return self.document(f"edgar/data/{int(cik10(cik))}/{accession}.txt")

    def _json(self, path: str) -> dict[str, Any]:
        raw = self.transport.fetch(path)
        if raw is None:
            raise EdgarError(f"EDGAR document not found: {path}")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise EdgarError(f"{path}: invalid JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise EdgarError(f"{path}: expected a JSON object")
        return doc


def _filing_refs(block: Mapping[str, Any], cik: str, where: str) -> list[FilingRef]:
    """Column-wise arrays of the submissions API → one :class:`FilingRef` per filing."""
    columns = ("accessionNumber", "filingDate", "reportDate", "acceptanceDateTime", "form")
    missing = [c for c in columns if c not in block]
    if missing:
        raise EdgarError(f"{where}: submissions block lacks {missing}")
    lengths = {c: len(block[c]) for c in columns}
    if len(set(lengths.values())) > 1:
        raise EdgarError(f"{where}: submissions arrays differ in length {lengths}")
    refs = []
    for acc, filed, report, accepted, form in zip(*(block[c] for c in columns), strict=True):
        try:
            refs.append(
                FilingRef(
                    filing_date=date.fromisoformat(filed),
                    accession=acc,
                    cik=cik,
                    form=form,
                    report_date=date.fromisoformat(report) if report else None,
                    accepted_at=(
                        datetime.fromisoformat(accepted.removesuffix("Z")).replace(
                            tzinfo=None, microsecond=0
                        )
                        if accepted
                        else None
                    ),
                )
            )
        except ValueError as exc:
            raise EdgarError(f"{where}: filing {acc}: bad date ({exc})") from exc
    return refs


_INDEX_ROW = re.compile(
    r"^(?P<head>.*?\S)\s+(?P<cik>\d{1,10})\s+(?P<date>\d{8}|\d{4}-\d{2}-\d{2})\s+(?P<path>\S+)\s*$"
)


def parse_daily_index(text: str, where: str = "daily index") -> list[IndexEntry]:
    """Rows of an EDGAR daily ``form.YYYYMMDD.idx`` (fixed-width, after a dashes line).

    Form types may contain single spaces ("SC 13G/A") and company names runs of them,
    so a row is read from the right (file name, date, CIK) and the rest splits at the
    first run of two or more spaces into form type and company name.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("----")), None)
    if start is None:
        raise EdgarError(f"{where}: no '----' header separator; not a daily index")
    entries = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip():
            continue
        match = _INDEX_ROW.match(line)
        if match is None:
            raise EdgarError(f"{where}: line {number} is not an index row: {line!r}")
        form, *rest = re.split(r"\s{2,}", match["head"].strip(), maxsplit=1)
        try:
            filed = strptime(match["date"].replace("-", ""), "%Y%m%d").date()
        except ValueError as exc:
            raise EdgarError(f"{where}: line {number}: bad date {match['date']!r}") from exc
        entries.append(
            IndexEntry(
                form=form.strip(),
                company=rest[0] if rest else "",
                cik=cik10(match["cik"]),
                date_filed=filed,
                path=match["path"],
            )
        )
    return entries


def thirteenf_holdings(
    client: EdgarClient, filer_cik: str, period: date, cusip_to_ticker: Mapping[str, str]
) -> pd.DataFrame:
    """Every 13F-HR and 13F-HR/A of a filer for one report period (THIRTEENF_HOLDINGS).

    Originals and amendments are all returned, each with its own acceptance time;
    applying RESTATEMENT / NEW HOLDINGS point-in-time is the consumer's job.
    """
    rows = thirteenf_holding_rows(client, filer_cik, period, cusip_to_ticker)
    return typed_frame(rows, frames.THIRTEENF_HOLDINGS)


def thirteenf_holding_rows(
    client: EdgarClient, filer_cik: str, period: date, cusip_to_ticker: Mapping[str, str]
) -> list[dict[str, Any]]:
    """:func:`thirteenf_holdings` before typing, for a caller that reads many (filer,
    period) pairs and types their rows once (typing costs more than parsing a filing)."""
    subs = client.submissions(filer_cik, filed_since=period)
    refs = [r for r in subs.filings if r.form in THIRTEENF_FORMS and r.report_date == period]
    rows = []
    for ref in refs:
        text = client.filing_text(ref.cik, ref.accession)
        try:
            rows += holding_rows(
                text,
                cusip_to_ticker,
                filer_cik=ref.cik,
                filer_name=subs.name,
                accession=ref.accession,
            )
        except FilingError as exc:
            raise EdgarError(f"13F {ref.accession} of CIK {ref.cik}: {exc}") from exc
    return rows


def new_13f_filings(
    client: EdgarClient, filer_ciks: Iterable[str], seen: set[str]
) -> list[FilingRef]:
    """13F-HR / 13F-HR/A filings of ``filer_ciks`` whose accession is not in ``seen``,
    oldest first. Only the ``recent`` block is read: new filings always appear there."""
    fresh = [
        ref
        for cik in filer_ciks
        for ref in client.submissions(cik).filings
        if ref.form in THIRTEENF_FORMS and ref.accession not in seen
    ]
    return sorted(fresh)


def insider_trades(client: EdgarClient, day: date, issuers: Mapping[str, str]) -> pd.DataFrame:
    """All Form 4 / 4/A filed on ``day`` whose issuer is in ``issuers`` (cik → ticker),
    as INSIDER_TRADES (:func:`insider_trade_rows`, typed)."""
    rows = insider_trade_rows(client, day, issuer_tickers(issuers))
    return typed_frame(rows, frames.INSIDER_TRADES)


def issuer_tickers(issuers: Mapping[str, str]) -> dict[str, str]:
    """``issuers`` (CIK in any form → ticker) keyed by 10-digit CIK, as filings state it."""
    return {cik10(cik): ticker for cik, ticker in issuers.items()}


def insider_trade_rows(
    client: EdgarClient, day: date, tickers: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The INSIDER_TRADES rows, before typing, of every Form 4 / 4/A filed on ``day``
    whose issuer is in ``tickers`` (10-digit CIK → ticker, :func:`issuer_tickers`).

    Rows, not a frame: a caller reading a range of days types them once (a frame per
    day cost more than reading the day's filings).

    A day EDGAR is closed (weekend, federal holiday) is empty without a request. A
    business day without an index is empty only for a complete snapshot (the demo
    world); on live EDGAR it raises :class:`EdgarIndexMissing`, because the index
    appears only after the day ends and an outage must not pass for a quiet day.
    The ticker is the universe's, not the filing's ``issuerTradingSymbol``, which is
    free text written by the filer and may be stale or "NONE".
    """
    if not edgar_business_day(day):
        return []
    entries = client.daily_index(day)
    if entries is None:
        if client.transport.missing_means_empty:
            return []
        raise EdgarIndexMissing(
            f"no EDGAR daily index for business day {day:%Y-%m-%d} yet; retry after it is published"
        )
    wanted: dict[str, IndexEntry] = {}
    for entry in entries:
        if entry.form in FORM4_FORMS and entry.cik in tickers:
            wanted.setdefault(entry.accession, entry)
    rows = []
    for accession, entry in sorted(wanted.items()):
        text = client.document(entry.path)
        try:
            found = trade_rows(text, accession=accession)
        except FilingError as exc:
            raise EdgarError(f"Form 4 {entry.path}: {exc}") from exc
        for row in found:
            if row["issuer_cik"] in tickers:  # the XML's issuer, not only the index's filer
                row["ticker"] = tickers[row["issuer_cik"]]
                rows.append(row)
    return rows
