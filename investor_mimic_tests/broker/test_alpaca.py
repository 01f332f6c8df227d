"""Alpaca through the real alpaca-py TradingClient against a loopback fake of the trading API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from pydantic import SecretStr

from investor_mimic.broker.alpaca import AlpacaBroker
from investor_mimic.broker.models import (
    BrokerError,
    DuplicateClientOrderIdError,
    InsufficientBuyingPowerError,
    LiveTradingRefusedError,
    MarketClosedError,
    OrderOutcomeUnknownError,
    OrderRequest,
    RateLimitedError,
    client_order_id,
)
from investor_mimic.settings import Settings
from investor_mimic_tests.helpers.alpaca_fake import ORDERS, FakeAlpaca, Fault

KEY, SECRET = "AKFAKEKEY0123456789", "fakeSecretValue-abcdefghijklmnop"


@pytest.fixture()
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca(KEY, SECRET, prices={"AAA": 10.0, "BBB": 50.0}, cash=1_000.0) as server:
        yield server


def broker(fake: FakeAlpaca, **kw: object) -> AlpacaBroker:
    return AlpacaBroker(SecretStr(KEY), SecretStr(SECRET), url=fake.url, **kw)  # type: ignore[arg-type]


def buy(ticker: str = "AAA", qty: float = 3, request_id: str = "20241231-abcdef") -> OrderRequest:
    return OrderRequest(client_order_id(request_id, ticker, "buy"), ticker, "buy", qty)


def test_account_clock_positions_and_orders_in_our_types(fake: FakeAlpaca) -> None:
    b = broker(fake)
    assert b.account().cash == 1_000.0
    clock = b.clock()
    assert clock.timestamp == datetime(2024, 12, 31, 17, 0) and clock.timestamp.tzinfo is None
    assert clock.is_open is False
    order = b.submit(buy(qty=3))
    assert (order.ticker, order.side, order.qty, order.status) == ("AAA", "buy", 3.0, "filled")
    assert order.filled_qty == 3.0 and order.filled_avg_price == 10.0
    assert b.get_order(order.client_order_id) == order
    assert b.get_order(client_order_id("other", "AAA", "buy")) is None
    [pos] = b.positions()
    assert (pos.ticker, pos.qty, pos.avg_entry_price, pos.market_value) == ("AAA", 3.0, 10.0, 30.0)
    assert b.account().cash == 970.0
    sent = fake.calls("POST", ORDERS)
    assert len(sent) == 1 and len(fake.accepted) == 1


def test_duplicate_client_order_id_is_the_brokers_422(fake: FakeAlpaca) -> None:
    b = broker(fake)
    b.submit(buy())
    with pytest.raises(DuplicateClientOrderIdError, match="already exists") as caught:
        b.submit(buy())
    assert caught.value.client_order_id == buy().client_order_id
    assert len(fake.accepted) == 1


def test_429_is_not_retried_by_alpaca_py_and_carries_retry_after(fake: FakeAlpaca) -> None:
    fake.fault(
        "POST",
        ORDERS,
        Fault(status=429, headers={"Retry-After": "7"}, body={"message": "too many requests"}),
    )
    with pytest.raises(RateLimitedError) as caught:
        broker(fake).submit(buy())
    assert caught.value.retry_after == 7.0
    # alpaca-py on its own would have slept 3 s and resent: one POST proves it did not
    assert len(fake.calls("POST", ORDERS)) == 1 and fake.accepted == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_on_submit_is_outcome_unknown_and_never_resent(fake: FakeAlpaca, status: int) -> None:
    fake.fault("POST", ORDERS, Fault(status=status, accept=True))
    with pytest.raises(OrderOutcomeUnknownError):
        broker(fake).submit(buy())
    assert len(fake.calls("POST", ORDERS)) == 1
    assert len(fake.accepted) == 1  # the broker has it: only a lookup can tell


def test_5xx_on_a_read_is_retryable(fake: FakeAlpaca) -> None:
    fake.fault("GET", "/v2/account", Fault(status=503))
    with pytest.raises(BrokerError) as caught:
        broker(fake).account()
    assert caught.value.retryable and not isinstance(caught.value, OrderOutcomeUnknownError)


def test_a_timed_out_submission_is_outcome_unknown(fake: FakeAlpaca) -> None:
    fake.fault("POST", ORDERS, Fault(accept=True, delay=1.5))
    with pytest.raises(OrderOutcomeUnknownError, match="timed out"):
        broker(fake, timeout=0.3).submit(buy())
    assert len(fake.accepted) == 1 and len(fake.calls("POST", ORDERS)) == 1


def test_a_timed_out_lookup_is_retryable(fake: FakeAlpaca) -> None:
    fake.fault("GET", "/v2/orders:by_client_order_id", Fault(delay=1.5))
    with pytest.raises(BrokerError) as caught:
        broker(fake, timeout=0.3).get_order(buy().client_order_id)
    assert caught.value.retryable


def test_refusals_are_typed(fake: FakeAlpaca) -> None:
    b = broker(fake)
    with pytest.raises(InsufficientBuyingPowerError, match="insufficient buying power"):
        b.submit(buy("BBB", qty=100))  # 5,000 > 1,000 cash
    fake.fault(
        "POST", ORDERS, Fault(status=403, body={"code": 40310000, "message": "market is closed"})
    )
    with pytest.raises(MarketClosedError):
        b.submit(buy())
    with pytest.raises(BrokerError, match="not found") as caught:
        b.submit(buy("ZZZ"))
    assert not caught.value.retryable
    assert fake.accepted == []


def test_wrong_keys_are_refused_without_echoing_them(fake: FakeAlpaca) -> None:
    wrong = AlpacaBroker(SecretStr("AKWRONG"), SecretStr("wrong-secret-xyz"), url=fake.url)
    with pytest.raises(BrokerError, match="keys were refused") as caught:
        wrong.account()
    assert "wrong-secret-xyz" not in str(caught.value) and "AKWRONG" not in str(caught.value)


def test_live_trading_needs_the_second_opt_in_before_any_request(fake: FakeAlpaca) -> None:
    with pytest.raises(LiveTradingRefusedError, match="IM_ALPACA_LIVE_TRADING_CONFIRMED"):
        broker(fake, paper=False)
    assert fake.seen == []
    live = broker(fake, paper=False, live_confirmed=True)
    assert live.paper is False and live.account().equity == 1_000.0


def test_settings_accept_the_alpaca_names_and_refuse_live_alone(
    fake: FakeAlpaca, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("IM_ALPACA_API_KEY", "IM_ALPACA_SECRET_KEY", "IM_ALPACA_PAPER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    monkeypatch.setenv("IM_ALPACA_TRADING_URL", fake.url)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.alpaca_api_key is not None
    assert settings.alpaca_api_key.get_secret_value() == KEY
    assert KEY not in repr(settings) and SECRET not in repr(settings)
    b = AlpacaBroker.from_settings(settings)
    assert b.paper and b.account().cash == 1_000.0
    assert KEY not in repr(b) and SECRET not in repr(b)

    monkeypatch.setenv("ALPACA_PAPER", "false")
    seen = len(fake.seen)
    with pytest.raises(LiveTradingRefusedError):
        AlpacaBroker.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert len(fake.seen) == seen
    monkeypatch.setenv("IM_ALPACA_LIVE_TRADING_CONFIRMED", "true")
    assert AlpacaBroker.from_settings(Settings(_env_file=None)).paper is False  # type: ignore[call-arg]


def test_missing_keys_are_a_clear_error() -> None:
    with pytest.raises(BrokerError, match="IM_ALPACA_API_KEY"):
        AlpacaBroker(None, None)
