"""The one retry policy of the source assets: transient failures retry with backoff.

Why ``dg.RetryRequested`` raised by the step, not a ``RetryPolicy`` on the asset: a
retry policy retries every failure, an interrupt (SIGTERM, Ctrl-C) and bad data included,
so a refused partition would be fetched again and again and a stopped run would not
stop. Only what a later attempt can cure is retried: a 429 or 5xx after the client's own
attempts, no answer at all, an Alpha Vantage throttle note. Bad data, a missing document
and EDGAR's not-yet-published daily index (the sensor waits for it) fail at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import dagster as dg

from investor_mimic.settings import get_settings
from investor_mimic.sources.alpaca_bars import AlpacaBarsError
from investor_mimic.sources.alpha_vantage import AlphaVantageThrottled
from investor_mimic.sources.http import RETRY_STATUSES, HttpConnectionError, HttpStatusError

T = TypeVar("T")


@dataclass(frozen=True)
class SourceRetry:
    """Up to ``max_retries`` retries, the first after ``IM_SOURCE_RETRY_SECONDS``, each
    wait ``factor`` times the previous one, capped at ``max_wait`` seconds."""

    max_retries: int = 4
    factor: float = 2.0
    max_wait: float = 900.0

    def wait(self, retry_number: int, first: float) -> float:
        """Seconds before retry ``retry_number + 1`` (``retry_number`` retries so far)."""
        return min(self.max_wait, first * self.factor**retry_number)


SOURCE_RETRY = SourceRetry()


def is_transient(exc: BaseException) -> bool:
    """Whether a later attempt of the same request may succeed."""
    if isinstance(exc, HttpConnectionError | AlphaVantageThrottled):
        return True
    if isinstance(exc, HttpStatusError):
        return exc.status in RETRY_STATUSES
    if isinstance(exc, AlpacaBarsError):
        return exc.transient
    return False


def retrying(context: dg.AssetExecutionContext, fetch: Callable[[], T]) -> T:
    """``fetch()``, turning a transient failure into a retry request with backoff (the
    last allowed attempt raises the failure itself, so the run says what went wrong)."""
    try:
        return fetch()
    except Exception as exc:
        if not is_transient(exc) or context.retry_number >= SOURCE_RETRY.max_retries:
            raise  # the last attempt fails with the source's own message
        wait = SOURCE_RETRY.wait(context.retry_number, get_settings().source_retry_seconds)
        context.log.warning(
            f"transient source failure (retry {context.retry_number + 1} of "
            f"{SOURCE_RETRY.max_retries} in {wait:.0f} s): {exc}"
        )
        raise dg.RetryRequested(max_retries=SOURCE_RETRY.max_retries, seconds_to_wait=wait) from exc
