"""Which source failures the steps retry (transient ones only), and the backoff."""

from __future__ import annotations

import pytest

from investor_mimic.defs.sources.retry import SOURCE_RETRY, is_transient
from investor_mimic.sources.alpaca_bars import AlpacaBarsError
from investor_mimic.sources.alpha_vantage import AlphaVantageError, AlphaVantageThrottled
from investor_mimic.sources.edgar import EdgarError, EdgarIndexMissing
from investor_mimic.sources.http import HttpConnectionError, HttpNotFound, HttpStatusError

URL = "http://127.0.0.1/x"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (HttpStatusError("busy", URL, 429), True),
        (HttpStatusError("down", URL, 503), True),
        (HttpConnectionError("no answer", URL), True),
        (AlphaVantageThrottled("Note: 5 calls per minute"), True),
        (AlpacaBarsError("429", transient=True), True),
        (HttpStatusError("forbidden", URL, 403), False),
        (HttpNotFound("gone", URL, 404), False),
        (AlphaVantageError("Invalid API call."), False),
        (AlpacaBarsError("bad key"), False),
        (EdgarIndexMissing("not published yet"), False),  # the sensor waits for it
        (EdgarError("malformed Form 4"), False),
        (ValueError("bad data"), False),
        (KeyboardInterrupt(), False),
    ],
)
def test_only_what_a_later_attempt_can_cure_is_retried(
    error: BaseException, transient: bool
) -> None:
    assert is_transient(error) is transient


def test_backoff_doubles_from_the_setting_and_is_capped() -> None:
    waits = [SOURCE_RETRY.wait(n, 30.0) for n in range(SOURCE_RETRY.max_retries)]
    assert waits == [30.0, 60.0, 120.0, 240.0]
    assert SOURCE_RETRY.wait(20, 30.0) == SOURCE_RETRY.max_wait
