"""The SQL runner's one error type and how a database error becomes one line."""

from __future__ import annotations


class SqlModelError(Exception):
    """A problem in the SQL project or while running it; the message says where."""


def one_line(exc: BaseException) -> str:
    """The database's own message on one line (SQLAlchemy wraps it in ``orig``)."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())[:500]
