"""The one error type of the parsing layer.

Why a ``ValueError`` subclass: a bad filing is bad input, not a bug; callers (the EDGAR
source, ``investor-mimic filing show``) catch exactly this and report one line saying
what is wrong and where, instead of a traceback or a silently wrong frame.
"""

from __future__ import annotations


class FilingError(ValueError):
    """A filing that cannot be read: malformed, truncated, unknown schema or bad values.

    The message is a single line naming the element or row at fault.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
