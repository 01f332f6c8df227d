"""Write filings into an EDGAR-shaped folder a real HTTP client can be pointed at.

Layout (paths as on www.sec.gov / data.sec.gov):
``submissions/CIK##########.json``, ``Archives/edgar/data/{cik}/{accession}.txt``,
``Archives/edgar/data/{cik}/{accession without dashes}/{document}`` and
``Archives/edgar/daily-index/{YYYY}/QTR{q}/form.{YYYYMMDD}.idx`` and
``files/company_tickers.json``. Form 4s live under the
issuer's CIK (the issuer's submissions list them). ``acceptanceDateTime`` is Eastern
wall-clock time with a ``Z`` suffix, exactly as EDGAR writes it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from investor_mimic.demo.accessions import nodash


@dataclass(frozen=True)
class Entry:
    """One filing as the folder sees it."""

    cik: str  # 10-digit CIK whose folder and submissions hold the filing
    company: str
    form: str
    accession: str
    filing_date: date
    report_date: date
    accepted: datetime
    submission: str
    documents: dict[str, str] = field(default_factory=dict)  # filename -> text; first is primary


@dataclass(frozen=True)
class Entity:
    cik: str
    name: str
    tickers: tuple[str, ...]
    entity_type: str  # "operating" | "other"


def write_archives(edgar: Path, entries: list[Entry]) -> None:
    for e in entries:
        folder = edgar / "Archives" / "edgar" / "data" / str(int(e.cik))
        docs = folder / nodash(e.accession)
        docs.mkdir(parents=True, exist_ok=True)
        (folder / f"{e.accession}.txt").write_text(e.submission)
        for name, text in e.documents.items():
            (docs / name).write_text(text)


def write_submissions(edgar: Path, entities: list[Entity], entries: list[Entry]) -> None:
    by_cik: defaultdict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_cik[e.cik].append(e)
    folder = edgar / "submissions"
    folder.mkdir(parents=True, exist_ok=True)
    for ent in entities:
        own = sorted(by_cik.get(ent.cik, []), key=lambda e: (e.accepted, e.accession), reverse=True)
        recent = {
            "accessionNumber": [e.accession for e in own],
            "filingDate": [f"{e.filing_date:%Y-%m-%d}" for e in own],
            "reportDate": [f"{e.report_date:%Y-%m-%d}" for e in own],
            "acceptanceDateTime": [f"{e.accepted:%Y-%m-%dT%H:%M:%S}.000Z" for e in own],
            "act": ["34" for _ in own],
            "form": [e.form for e in own],
            "primaryDocument": [next(iter(e.documents)) for e in own],
            "size": [len(e.submission) for e in own],
        }
        body = {
            "cik": str(int(ent.cik)),
            "entityType": ent.entity_type,
            "name": ent.name,
            "tickers": list(ent.tickers),
            "exchanges": ["NYSE" for _ in ent.tickers],
            "filings": {"recent": recent, "files": []},
        }
        (folder / f"CIK{ent.cik}.json").write_text(json.dumps(body, sort_keys=True, indent=1))


def write_company_tickers(edgar: Path, entities: list[Entity]) -> None:
    """``files/company_tickers.json`` as www.sec.gov serves it: one entry per ticker."""
    rows = [(ent, t) for ent in entities for t in ent.tickers]
    body = {
        str(i): {"cik_str": int(ent.cik), "ticker": ticker, "title": ent.name}
        for i, (ent, ticker) in enumerate(rows)
    }
    (edgar / "files").mkdir(parents=True, exist_ok=True)
    (edgar / "files" / "company_tickers.json").write_text(json.dumps(body))


def _index_head(day: date) -> str:
    """EDGAR's header (its four spacer lines hold a single blank) and column rule."""
    lines = [
        "Description:           Daily Index of EDGAR Dissemination Feed by Form Type",
        f"Last Data Received:    {day:%B} {day.day}, {day.year}",
        "Comments:              webmaster@sec.gov",
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/",
        *[" "] * 4,
        f"{'Form Type':<12}{'Company Name':<62}{'CIK':<12}{'Date Filed':<12}File Name",
        "-" * 141,
    ]
    return "\n".join(lines) + "\n"


def index_line(e: Entry) -> str:
    path = f"edgar/data/{int(e.cik)}/{e.accession}.txt"
    return f"{e.form:<12}{e.company[:61]:<62}{int(e.cik):<12}{e.filing_date:%Y%m%d}    {path}"


def write_daily_index(edgar: Path, entries: list[Entry]) -> int:
    """``form.YYYYMMDD.idx`` for every filing date; returns the number of index files."""
    by_day: defaultdict[date, list[Entry]] = defaultdict(list)
    for e in entries:
        by_day[e.filing_date].append(e)
    for day, group in by_day.items():
        folder = (
            edgar
            / "Archives"
            / "edgar"
            / "daily-index"
            / str(day.year)
            / f"QTR{(day.month - 1) // 3 + 1}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        rows = sorted(group, key=lambda e: (e.form, e.company, e.accession))
        text = _index_head(day) + "".join(index_line(e) + "\n" for e in rows)
        (folder / f"form.{day:%Y%m%d}.idx").write_text(text)
    return len(by_day)
