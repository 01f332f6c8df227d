"""EDGAR full submissions (``.txt`` / ``.nc``): SGML header + ``<DOCUMENT>`` blocks.

Why a hand-written splitter: the header is line-oriented SGML in two dialects — the
archive ``.txt`` (``ACCESSION NUMBER:\\t...`` inside ``<SEC-HEADER>``) and the feed
``.nc`` (``<ACCESSION-NUMBER>...``) — and all we need from it is a handful of fields and
the ``<XML>`` payloads. A bare XML document is accepted too (empty header), so callers
have one entry point for everything EDGAR serves.

Point in time: ``filed_at`` is ACCEPTANCE-DATETIME, EDGAR's naive US/Eastern acceptance
stamp — the moment the filing became public, which is what ``known_date`` derives from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from investor_mimic.parsing.detect import SGML_START, prepare
from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.xmltools import Element, pad_cik, read_xml, strptime


@dataclass(frozen=True)
class Party:
    """A filer, issuer or reporting owner named in the header."""

    cik: str
    name: str | None


@dataclass(frozen=True)
class SubmissionHeader:
    """Fields of the SGML header; all ``None`` for a bare XML document."""

    accession: str | None = None
    form_type: str | None = None
    filed_at: datetime | None = None
    filing_date: date | None = None
    period_of_report: date | None = None
    filer: Party | None = None
    issuer: Party | None = None
    reporting_owners: tuple[Party, ...] = ()


@dataclass(frozen=True)
class XmlDocument:
    """One ``<XML>`` payload of a submission (or the whole input when it is bare XML)."""

    xml: bytes
    type: str | None = None
    sequence: str | None = None
    filename: str | None = None

    @property
    def label(self) -> str:
        parts = [p for p in (self.type, self.filename) if p]
        return f"document {self.sequence} ({', '.join(parts)})" if self.sequence else "XML document"

    def describe(self, kind: str) -> str:
        """``kind`` located in this document, for error messages."""
        return f"{kind} in {self.label}" if self.sequence else kind

    def root(self) -> Element:
        return read_xml(self.xml, self.label)


@dataclass(frozen=True)
class Submission:
    header: SubmissionHeader
    documents: tuple[XmlDocument, ...]


_ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}")
_TAG_LINE = re.compile(r"<(/?)([A-Z0-9-]+)>(.*)")  # a header line of the .nc dialect
# header sections whose COMPANY/OWNER data name a party
_SECTIONS = {"FILER", "ISSUER", "REPORTING OWNER", "SUBJECT COMPANY", "FILED BY"}


def split_submission(data: bytes) -> Submission:
    """Split a full submission into header and XML documents; bare XML passes through.

    The bytes go through :func:`~investor_mimic.parsing.detect.prepare` first: line
    endings, a byte-order mark and a PEM envelope are undone, and a file that is not a
    submission or XML (HTML, PDF, gzip, ...) is refused with its kind named.
    """
    text = prepare(data)
    if not SGML_START.match(text):
        return Submission(SubmissionHeader(), (XmlDocument(text),))
    head_end = text.find(b"<DOCUMENT>")
    if head_end < 0:
        raise FilingError("submission has a header but no <DOCUMENT> (truncated?)")
    header = _parse_header(text[:head_end].decode("utf-8", errors="replace"))
    return Submission(header, tuple(_xml_documents(text[head_end:])))


def _xml_documents(body: bytes) -> list[XmlDocument]:
    docs: list[XmlDocument] = []
    blocks = body.split(b"<DOCUMENT>")[1:]
    for n, block in enumerate(blocks, start=1):
        end = block.find(b"</DOCUMENT>")
        if end < 0:
            raise FilingError(f"submission truncated: <DOCUMENT> {n} has no </DOCUMENT>")
        block = block[:end]
        start = block.find(b"<XML>")
        if start < 0:
            continue  # HTML, text or graphics: nothing to parse
        stop = block.find(b"</XML>", start)
        if stop < 0:
            raise FilingError(f"submission truncated: <XML> of <DOCUMENT> {n} has no </XML>")
        meta = block[:start].decode("utf-8", errors="replace")
        docs.append(
            XmlDocument(
                xml=block[start + len(b"<XML>") : stop],
                type=_tag_value(meta, "TYPE"),
                sequence=_tag_value(meta, "SEQUENCE") or str(n),
                filename=_tag_value(meta, "FILENAME"),
            )
        )
    return docs


def _tag_value(meta: str, tag: str) -> str | None:
    m = re.search(rf"^<{tag}>([^\r\n<]*)", meta, re.MULTILINE)
    if m is None:
        return None
    return m.group(1).strip() or None


def _header_lines(head: str) -> list[tuple[str, str]]:
    """(KEY, value) pairs of both dialects, section openers as (SECTION, "") / ("/", "")."""
    pairs: list[tuple[str, str]] = []
    for raw in head.splitlines():
        line = raw.strip()
        if not line:
            continue
        tag = _TAG_LINE.fullmatch(line)
        if tag:
            closing, key, value = tag.groups()
            key = key.replace("-", " ")
            if closing:
                if key in _SECTIONS:
                    pairs.append(("/", ""))
                continue
            pairs.append((key, value.strip()))
            continue
        key, sep, value = line.partition(":")
        if sep:
            key = key.strip().upper().replace("-", " ")
            # a top-level section opener ("FILER:") is written without indentation
            if not value.strip() and key in _SECTIONS and not raw[:1].isspace():
                pairs.append(("/", ""))
            pairs.append((key, value.strip()))
    return pairs


def _parse_header(head: str) -> SubmissionHeader:
    top: dict[str, str] = {}
    parties: list[tuple[str, dict[str, str]]] = []
    section: dict[str, str] | None = None
    for key, value in _header_lines(head):
        if key == "/":
            section = None
        elif key in _SECTIONS and not value:
            section = {}
            parties.append((key, section))
        elif section is not None:
            section.setdefault(key, value)
        else:
            top.setdefault(key, value)

    accession = top.get("ACCESSION NUMBER")
    if accession is not None and not _ACCESSION.fullmatch(accession):
        raise FilingError(f"header: ACCESSION NUMBER {accession!r} is not ##########-##-######")

    def party(kind: str) -> list[Party]:
        out = []
        for name, fields in parties:
            cik = fields.get("CENTRAL INDEX KEY") or fields.get("CIK")
            if name == kind and cik:
                company = fields.get("COMPANY CONFORMED NAME") or fields.get("CONFORMED NAME")
                out.append(Party(pad_cik(cik, f"header {kind} CIK"), company))
        return out

    filers, issuers = party("FILER"), party("ISSUER")
    return SubmissionHeader(
        accession=accession,
        form_type=top.get("CONFORMED SUBMISSION TYPE") or top.get("TYPE"),
        filed_at=_stamp(top.get("ACCEPTANCE DATETIME"), "%Y%m%d%H%M%S", "ACCEPTANCE-DATETIME"),
        filing_date=_day(top.get("FILED AS OF DATE") or top.get("FILING DATE"), "FILED AS OF DATE"),
        period_of_report=_day(
            top.get("CONFORMED PERIOD OF REPORT") or top.get("PERIOD"), "PERIOD OF REPORT"
        ),
        filer=filers[0] if filers else None,
        issuer=issuers[0] if issuers else None,
        reporting_owners=tuple(party("REPORTING OWNER")),
    )


def _stamp(raw: str | None, fmt: str, what: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return strptime(raw, fmt)
    except ValueError:
        raise FilingError(f"header: {what} {raw!r} is not {fmt}") from None


def _day(raw: str | None, what: str) -> date | None:
    stamp = _stamp(raw, "%Y%m%d", what)
    return stamp.date() if stamp else None
