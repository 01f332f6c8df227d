"""EDGAR accession numbers: ``{filer id:10}-{yy}-{sequence:06d}``, unique per world.

Why a book: the filer-id prefix is the submitting entity (a 13F manager, a Form 4
reporting owner), the sequence counts its submissions within a year; handing them out
from one place guarantees uniqueness without scanning what was written.
"""

from __future__ import annotations

from collections import defaultdict


class AccessionBook:
    """Hands out the next accession number for a submitter in a year."""

    def __init__(self) -> None:
        self._next: defaultdict[tuple[str, int], int] = defaultdict(lambda: 1)

    def issue(self, submitter_cik: str, year: int) -> str:
        key = (submitter_cik, year % 100)
        seq = self._next[key]
        self._next[key] = seq + 1
        return f"{submitter_cik}-{year % 100:02d}-{seq:06d}"


def nodash(accession: str) -> str:
    return accession.replace("-", "")
