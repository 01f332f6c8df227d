"""``investor-mimic filing show``: one filing rendered as a table, JSON or CSV.

Why content detection rather than file names: EDGAR serves the same documents as full
submissions (``.txt``/``.nc``) and as lone XML files under arbitrary names. Accepted: a
13F full submission, a lone 13F cover page, a lone information table, a Form 4 (full
submission or XML).

Value units follow :func:`investor_mimic.parsing.thirteenf.decide_value_units` (the
filing's implied prices first, then its schema version, then its period); the decision
and its evidence are in ``summary.value_units``.

Reconciliation: a 13F whose cover totals (entries, value) disagree with its information
table is still shown — it is readable, and the reader may want to see why — but the
summary says ``"reconciles": false`` and :func:`show_filing` returns a warning line for
stderr. The rule is :func:`investor_mimic.core.quality.cover_totals`, the same one the
blocking asset check applies. ``reconciles`` is ``null`` when there is nothing to compare
(a lone cover page or table, a notice).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from tabulate import tabulate

from investor_mimic.core.quality import cover_totals
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.form4 import is_ownership_document, read_form4
from investor_mimic.parsing.submission import Submission, split_submission
from investor_mimic.parsing.thirteenf import (
    ThirteenF,
    is_cover,
    is_information_table,
    read_thirteenf,
)
from investor_mimic.parsing.xmltools import localname

Format = Literal["table", "json", "csv"]

THIRTEENF_COLUMNS = (
    "line",
    "cusip",
    "issuer",
    "title_of_class",
    "figi",
    "value_usd",
    "shares",
    "share_type",
    "put_call",
    "investment_discretion",
    "other_managers",
    "voting_sole",
    "voting_shared",
    "voting_none",
)
FORM4_COLUMNS = (
    "line",
    "is_derivative",
    "security_title",
    "transaction_date",
    "code",
    "shares",
    "price",
    "acquired_disposed",
    "direct_indirect",
    "is_10b5_1",
)
# the table view leaves out wide, rarely read columns; json and csv keep everything
_TABLE_HIDDEN = frozenset({"figi", "voting_sole", "voting_shared", "voting_none"})


@dataclass(frozen=True)
class _View:
    form: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: tuple[str, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shown:
    """The rendered filing and the warnings for stderr (readable, but not consistent)."""

    text: str
    warnings: tuple[str, ...]


def render_filing(path: Path, fmt: Format) -> str:
    """Parse the filing at ``path`` and render it; ``FilingError`` for anything unreadable."""
    return show_filing(path, fmt).text


def show_filing(path: Path, fmt: Format) -> Shown:
    """:func:`render_filing` plus the warnings (cover totals that disagree with the table)."""
    sub = split_submission(path.read_bytes())
    if not sub.documents:
        raise FilingError("submission contains no XML document")
    roots = [doc.root() for doc in sub.documents]
    if any(is_ownership_document(r) for r in roots):
        view = _form4_view(sub)
    elif any(is_cover(r) or is_information_table(r) for r in roots):
        view = _thirteenf_view(sub)
    else:
        names = ", ".join(f"<{localname(r)}>" for r in roots)
        raise FilingError(f"not a 13F or Form 4 document (root element {names})")
    if fmt == "json":
        doc = {"form": view.form, "summary": view.summary, "rows": view.rows}
        text = json.dumps(doc, default=_iso, indent=2) + "\n"
    elif fmt == "csv":
        text = _csv(view.rows, view.columns)
    else:
        text = _table(view.form, view.summary, view.rows, view.columns)
    return Shown(text, view.warnings)


def _thirteenf_view(sub: Submission) -> _View:
    filing = read_thirteenf(sub.documents)
    cover, header = filing.cover, sub.header
    rows = [
        {c: filing.value_usd(h) if c == "value_usd" else getattr(h, c) for c in THIRTEENF_COLUMNS}
        for h in filing.holdings
    ]
    form = (cover.submission_type if cover else None) or header.form_type or "13F information table"
    filer_name = (header.filer.name if header.filer else None) or (
        cover.filer_name if cover else None
    )
    filer_cik = (header.filer.cik if header.filer else None) or (cover.filer_cik if cover else None)
    summary: dict[str, Any] = {
        "accession": header.accession,
        "filer_cik": filer_cik,
        "filer_name": filer_name,
        "period_of_report": cover.period_of_report if cover else header.period_of_report,
        "filed_at": header.filed_at,
        "amendment_type": cover.amendment_type if cover else None,
        "entry_total": cover.entry_total if cover else None,
        "value_total_usd": filing.cover_value_total_usd,
        "has_information_table": filing.has_table,
        "parsed_rows": len(rows),
        "parsed_value_usd": float(sum(filing.value_usd(h) for h in filing.holdings)),
        "value_units": asdict(filing.units),
    }
    problems = _reconciliation(filing)
    summary["reconciles"] = None if problems is None else not problems
    warnings = tuple(f"cover totals disagree with the table: {p}" for p in problems or ())
    return _View(form, summary, rows, THIRTEENF_COLUMNS, warnings)


def _reconciliation(filing: ThirteenF) -> list[str] | None:
    """Problems of cover vs. table by the asset check's rule; ``None`` if not comparable."""
    cover = filing.cover
    if cover is None or not filing.has_table or cover.entry_total is None:
        return None
    if not filing.holdings:  # the check's rule works per parsed row; there are none
        return [] if cover.entry_total == 0 else [f"0 rows parsed, cover says {cover.entry_total}"]
    frame = pd.DataFrame(
        {
            "accession": "filing",
            "line": [h.line for h in filing.holdings],
            "value_usd": [filing.value_usd(h) for h in filing.holdings],
            "cover_entry_total": cover.entry_total,
            "cover_value_total_usd": filing.cover_value_total_usd,
        }
    )
    return [p.removeprefix("filing: ") for p in cover_totals(frame).problems]


def _form4_view(sub: Submission) -> _View:
    form4 = read_form4(sub.documents)
    rows = [{c: getattr(t, c) for c in FORM4_COLUMNS} for t in form4.transactions]
    summary: dict[str, Any] = {
        "accession": sub.header.accession,
        "filed_at": sub.header.filed_at,
        "schema_version": form4.schema_version,
        "period_of_report": form4.period_of_report,
        "issuer_cik": form4.issuer_cik,
        "issuer_name": form4.issuer_name,
        "ticker": form4.ticker,
        "owners": [
            {
                k: getattr(o, k)
                for k in (
                    "name",
                    "cik",
                    "is_director",
                    "is_officer",
                    "is_ten_percent_owner",
                    "is_other",
                    "officer_title",
                )
            }
            for o in form4.owners
        ],
        "aff10b5_one": form4.aff10b5one,
        "parsed_rows": len(rows),
    }
    return _View(form4.document_type, summary, rows, FORM4_COLUMNS)


def _iso(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot render {type(value).__name__}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.4f}".rstrip("0")
    return str(value)


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _iso(v) if isinstance(v, date) else v for k, v in row.items()})
    return out.getvalue()


def _table(
    form: str, summary: dict[str, Any], rows: list[dict[str, Any]], columns: tuple[str, ...]
) -> str:
    lines = [f"form: {form}"]
    for key, value in summary.items():
        if key == "owners":
            for n, owner in enumerate(value, 1):
                roles = [
                    r
                    for r in ("director", "officer", "ten_percent_owner", "other")
                    if owner[f"is_{r}"]
                ]
                described = ", ".join(roles) or "no role"
                if owner["officer_title"]:
                    described += f", {owner['officer_title']}"
                lines.append(f"owner {n}: {owner['name']} (CIK {owner['cik']}; {described})")
        elif isinstance(value, dict):
            lines.extend(f"{key}.{k}: {_cell(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {_cell(value)}")
    shown = [c for c in columns if c not in _TABLE_HIDDEN]
    body = [[_cell(r[c]) for c in shown] for r in rows]
    table = tabulate(body, headers=shown, disable_numparse=True) if rows else "(no rows)"
    return "\n".join(lines) + "\n\n" + table + "\n"
