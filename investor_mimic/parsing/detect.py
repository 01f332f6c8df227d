"""What a file handed to the parsers actually is, before anyone parses it as XML.

Why a separate first step: EDGAR and the people who save its files produce the same
submission in several wrappings — CRLF or CR-only line endings, a UTF-8 byte-order mark,
the ``-----BEGIN PRIVACY-ENHANCED MESSAGE-----`` envelope of older archive ``.txt``
files — and a path may just as well hold an HTML index page, a PDF or a gzip archive.
Without this step the wrappings hide the submission and every wrong file reads as
"malformed XML". :func:`prepare` unwraps what it can and names what it cannot read.

Binary formats are named by ``puremagic`` (a maintained, pure-Python magic-number
table) rather than by a hand-kept list; the text kinds (SGML submission, XML, HTML)
are told apart here because only this project knows which of them it can read.
"""

from __future__ import annotations

import re

import puremagic

from investor_mimic.parsing.errors import FilingError

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_PEM_BEGIN = b"-----BEGIN PRIVACY-ENHANCED MESSAGE-----"
_PEM_END = b"-----END PRIVACY-ENHANCED MESSAGE-----"
# the openers of EDGAR's two SGML dialects (archive .txt and feed .nc)
SGML_START = re.compile(rb"<(SEC-DOCUMENT|SEC-HEADER|SUBMISSION|IMS-DOCUMENT)>")
# an HTML page: a doctype or <html> root, possibly after an XML prolog and comments
_HTML = re.compile(
    rb"\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE\s+html\b|<html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_SNIFF = 4096  # bytes looked at to tell text from binary
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")
# byte classes counted by deleting them (bytes.translate runs in C; a Python loop over
# 4 KiB per filing was a tenth of the time of reading a Form 4)
_CONTROLS = bytes(b for b in range(32) if b not in _TEXT_CONTROLS)
_HIGH = bytes(range(0x80, 0x100))


def normalise_newlines(data: bytes) -> bytes:
    """CRLF and CR-only line endings to LF (the SGML labels are line-oriented)."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def strip_bom(data: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark (and whitespace before it) from the start."""
    stripped = data.lstrip()
    return stripped[len(_BOM) :] if stripped.startswith(_BOM) else data


def prepare(data: bytes) -> bytes:
    """The submission or XML document inside ``data``, normalised; ``FilingError`` naming
    the kind of file otherwise (HTML, PDF, gzip, other binary or plain text)."""
    head = data[:_SNIFF]
    if head.startswith(_UTF16_BOMS):
        raise FilingError(
            "the file is UTF-16 text; EDGAR filings are ASCII/UTF-8 (re-save it as UTF-8)"
        )
    binary = _binary_kind(head)
    if binary is not None:
        raise FilingError(f"the file is {binary}, not an SEC filing")
    text = normalise_newlines(strip_bom(data)).lstrip()
    if text.startswith(_PEM_BEGIN):
        text = _unwrap_pem(text)
    if _HTML.match(text[:_SNIFF]):
        raise FilingError(
            "the file is an HTML page, not a 13F or Form 4 filing "
            "(an EDGAR index or viewer page? fetch the .txt submission or the .xml document)"
        )
    if not text:
        return text
    if not text.startswith(b"<"):
        raise FilingError(
            "the file is plain text, not an EDGAR submission or XML document "
            f"(it starts with {text[:40].decode('utf-8', errors='replace')!r})"
        )
    return text


def _unwrap_pem(text: bytes) -> bytes:
    """The SGML submission inside a privacy-enhanced-message envelope."""
    start = SGML_START.search(text)
    if start is None:
        raise FilingError("a PRIVACY-ENHANCED MESSAGE envelope with no EDGAR submission inside")
    end = text.find(_PEM_END, start.start())
    return text[start.start() : end if end >= 0 else len(text)].rstrip() + b"\n"


def _binary_kind(head: bytes) -> str | None:
    """A name for a non-text file (``None`` for text): puremagic's, else a generic one.

    PDF and PostScript begin with readable ASCII, so their signature decides; anything
    else is binary when it has NUL bytes or mostly control characters (so a Latin-1
    filing with accented names still counts as text).
    """
    pdf_like = head.startswith((b"%PDF-", b"%!PS"))
    if not (pdf_like or _looks_binary(head)):
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    # among equally confident signatures, the most generic MIME type (zip, not docx)
    named = [m for m in matches if m.mime_type and not _is_text_mime(m.mime_type)]
    if not named:
        return "binary data (no known file signature)"
    best = max(named, key=lambda m: (m.confidence, -len(m.mime_type)))
    return f"{_article(best.name)} {best.name} ({best.mime_type})"


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime.endswith(("/xml", "+xml"))


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, more than 10% control characters other than whitespace, or invalid
    UTF-8 that is more than 30% non-ASCII (Latin-1 text has a few such bytes, not that)."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = len(head) - len(head.translate(None, _CONTROLS))
    if control > len(head) // 10:
        return True
    high = len(head) - len(head.translate(None, _HIGH))
    if high * 10 <= len(head) * 3:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not merely a character cut at the sniff boundary
    return False


def _article(name: str) -> str:
    return "an" if name[:1].upper() in "AEIOU" else "a"
