"""Test helpers moved out of test_submission.py: shared by several test modules."""

from __future__ import annotations


def _documents_part(full: bytes) -> bytes:
    """The <DOCUMENT> blocks of a real submission, for re-wrapping under another header."""
    return full[full.index(b"<DOCUMENT>") : full.rindex(b"</DOCUMENT>") + len(b"</DOCUMENT>")]


def form4_submission(xml: bytes) -> bytes:
    """The real Form 4 XML wrapped as an archive .txt submission (ISSUER / REPORTING-OWNER)."""
    header = (
        "<SEC-DOCUMENT>0002064133-25-000001.txt : 20250502\n"
        "<SEC-HEADER>0002064133-25-000001.hdr.sgml : 20250502\n"
        "<ACCEPTANCE-DATETIME>20250502170500\n"
        "ACCESSION NUMBER:\t\t0002064133-25-000001\n"
        "CONFORMED SUBMISSION TYPE:\t4\n"
        "PUBLIC DOCUMENT COUNT:\t\t1\n"
        "CONFORMED PERIOD OF REPORT:\t20250430\n"
        "FILED AS OF DATE:\t\t20250502\n\n"
        "REPORTING-OWNER:\t\n\n"
        "\tOWNER DATA:\t\n"
        "\t\tCOMPANY CONFORMED NAME:\t\t\tMelkote Rajesh Ramaswamy\n"
        "\t\tCENTRAL INDEX KEY:\t\t\t0002064133\n\n"
        "\tFILING VALUES:\n"
        "\t\tFORM TYPE:\t\t4\n\n"
        "ISSUER:\t\t\n\n"
        "\tCOMPANY DATA:\t\n"
        "\t\tCOMPANY CONFORMED NAME:\t\t\t374Water Inc.\n"
        "\t\tCENTRAL INDEX KEY:\t\t\t0000933972\n"
        "</SEC-HEADER>\n"
        "<DOCUMENT>\n<TYPE>4\n<SEQUENCE>1\n<FILENAME>form4.xml\n<TEXT>\n<XML>\n"
    )
    return header.encode() + xml + b"\n</XML>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n"
