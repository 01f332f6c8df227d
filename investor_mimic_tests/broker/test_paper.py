"""The paper broker on a real warehouse (SQLite file; PostgreSQL where marked)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from investor_mimic.broker.base import ReportsFills
from investor_mimic.broker.models import (
    BrokerError,
    DuplicateClientOrderIdError,
    InsufficientBuyingPowerError,
    OrderRequest,
    client_order_id,
)
from investor_mimic.broker.paper import PaperBroker, fill_session
from investor_mimic.broker.paper_tables import paper_fills, paper_orders
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.settings import TradingSettings
from investor_mimic_tests.helpers.paper import fixed, race_settle, race_submit, write_bars

D0, D1, D2 = date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)  # Mon, Tue, Wed
EVENING = datetime(2024, 6, 3, 20, 0)
RULES = TradingSettings(commission_bps=10.0, slippage_bps=20.0, paper_initial_cash=100_000.0)
BARS_D0 = {"AAA": (99.0, 100.0, 1e6), "BBB": (49.0, 50.0, 1e6), "MKT": (10.0, 10.0, 1e8)}
BARS_D1 = {"AAA": (102.0, 104.0, 1e6), "BBB": (51.0, 52.0, 1e6), "MKT": (10.0, 10.0, 1e8)}


def make(url: str, now: datetime = EVENING, rules: TradingSettings = RULES) -> PaperBroker:
    return PaperBroker(Warehouse(url), rules, now=fixed(now))


@pytest.fixture()
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    write_bars(Warehouse(url), D0, BARS_D0)
    return url


def buy(ticker: str, qty: float, request: str = "req-1") -> OrderRequest:
    return OrderRequest(client_order_id(request, ticker, "buy"), ticker, "buy", qty)


def test_it_reports_fills_for_the_portfolio_asset(url: str) -> None:
    assert isinstance(make(url), ReportsFills)


def test_a_market_order_waits_for_the_next_open_then_fills_with_costs(url: str) -> None:
    broker = make(url)
    order = broker.submit(buy("AAA", 10))
    assert (order.status, order.filled_qty, order.filled_avg_price) == ("new", 0.0, None)
    assert broker.positions() == [] and broker.account().cash == 100_000.0
    assert broker.account().buying_power < 100_000.0 - 1_000.0  # reserved at the last close

    write_bars(Warehouse(url), D1, BARS_D1)  # the next session happened
    filled = broker.get_order(order.client_order_id)
    assert filled is not None and filled.status == "filled" and filled.filled_qty == 10
    price = 102.0 * 1.002  # D1's open plus 20 bps
    assert filled.filled_avg_price == pytest.approx(price)
    account = broker.account()
    assert account.cash == pytest.approx(100_000 - 10 * price * 1.001)  # 10 bps commission
    [position] = broker.positions()
    assert (position.ticker, position.qty) == ("AAA", 10)
    assert position.avg_entry_price == pytest.approx(price)
    assert position.market_value == pytest.approx(10 * 100.0)  # marked at the clock's day
    [fill] = broker.fills(D1, D1)
    assert fill.filled_at == datetime(2024, 6, 4, 9, 30) and fill.qty == 10


@pytest.mark.parametrize(
    ("submitted", "session"),
    [
        (datetime(2024, 6, 3, 20, 0), D1),  # evening: next morning
        (datetime(2024, 6, 4, 8, 0), D1),  # before the open: that open
        (datetime(2024, 6, 4, 10, 0), D2),  # during the session: the next open
        (datetime(2024, 6, 1, 12, 0), D0),  # Saturday: Monday
    ],
)
def test_the_fill_session_is_the_first_open_after_submission(
    submitted: datetime, session: date
) -> None:
    assert fill_session(submitted) == session


def test_an_order_submitted_in_session_does_not_fill_at_that_days_open(url: str) -> None:
    write_bars(Warehouse(url), D1, BARS_D1)
    broker = make(url, now=datetime(2024, 6, 4, 10, 0))
    order = broker.submit(buy("AAA", 5))
    assert broker.get_order(order.client_order_id).status == "new"  # type: ignore[union-attr]
    write_bars(Warehouse(url), D2, {"AAA": (110.0, 111.0, 1e6)})
    filled = broker.get_order(order.client_order_id)
    assert filled is not None and filled.filled_avg_price == pytest.approx(110.0 * 1.002)


def test_a_second_submit_with_the_same_id_is_refused_and_changes_nothing(url: str) -> None:
    broker = make(url)
    first = broker.submit(buy("AAA", 10))
    with pytest.raises(DuplicateClientOrderIdError) as refused:
        broker.submit(buy("AAA", 10))
    assert not refused.value.retryable
    assert broker.get_order(first.client_order_id) == first
    with Warehouse(url).engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(paper_orders)).scalar() == 1


def test_state_persists_across_broker_instances_and_the_pinned_clock_is_shared(
    url: str,
) -> None:
    PaperBroker(Warehouse(url), RULES).pin_clock(EVENING)
    other = PaperBroker(Warehouse(url), RULES)
    assert other.now() == EVENING
    clock = other.clock()
    assert not clock.is_open and clock.next_open == datetime(2024, 6, 4, 9, 30)
    assert clock.next_close == datetime(2024, 6, 4, 16, 0)
    order = other.submit(buy("BBB", 100))
    write_bars(Warehouse(url), D1, BARS_D1)
    third = PaperBroker(Warehouse(url), RULES)
    assert third.get_order(order.client_order_id).status == "filled"  # type: ignore[union-attr]
    assert [p.ticker for p in third.positions()] == ["BBB"]
    third.pin_clock(None)
    assert third.now() > datetime(2025, 1, 1)


def test_buys_beyond_buying_power_are_refused_before_anything_is_recorded(url: str) -> None:
    broker = make(url)
    broker.submit(buy("AAA", 600))  # ~60,000 reserved
    with pytest.raises(InsufficientBuyingPowerError, match="insufficient buying power"):
        broker.submit(buy("BBB", 900, request="req-2"))  # ~45,000 more
    with Warehouse(url).engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(paper_orders)).scalar() == 1


def test_sales_beyond_the_position_are_refused(url: str) -> None:
    broker = make(url)
    with pytest.raises(BrokerError, match="no short selling"):
        broker.submit(OrderRequest("s-1", "AAA", "sell", 1))


def test_fractional_orders_and_unknown_tickers_are_refused(url: str) -> None:
    broker = make(url)
    with pytest.raises(BrokerError, match="fractional"):
        broker.submit(buy("AAA", 1.5))
    with pytest.raises(BrokerError, match="not tradable"):
        broker.submit(buy("ZZZ", 1))
    frac = make(url, rules=RULES.model_copy(update={"fractional_shares": True}))
    assert frac.submit(buy("AAA", 1.5)).qty == 1.5


def test_a_fill_is_capped_by_the_bars_volume_and_the_rest_expires(url: str) -> None:
    broker = make(url)
    order = broker.submit(buy("AAA", 500))
    write_bars(Warehouse(url), D1, {**BARS_D1, "AAA": (102.0, 104.0, 4_000.0)})
    done = broker.get_order(order.client_order_id)
    assert done is not None
    assert (done.status, done.filled_qty) == ("expired", 200.0)  # 5 % of 4,000
    assert broker.positions()[0].qty == 200.0


def test_a_ticker_without_a_bar_on_a_traded_session_expires_unfilled(url: str) -> None:
    broker = make(url)
    order = broker.submit(buy("BBB", 10))
    write_bars(Warehouse(url), D1, {"AAA": BARS_D1["AAA"]})  # BBB halted
    done = broker.get_order(order.client_order_id)
    assert done is not None and (done.status, done.filled_qty) == ("expired", 0.0)
    assert broker.account().cash == 100_000.0 and broker.positions() == []


def test_sales_settle_before_buys_and_cash_never_goes_negative(url: str) -> None:
    broker = make(url)
    broker.submit(buy("AAA", 900))
    write_bars(Warehouse(url), D1, BARS_D1)
    assert broker.positions()[0].qty == 900
    cash = broker.account().cash
    later = make(url, now=datetime(2024, 6, 4, 20, 0))
    later.submit(OrderRequest("s-1", "AAA", "sell", 900))
    later.submit(buy("BBB", int((cash + 900 * 100) / 53), request="req-2"))
    # the open gaps up: the buy cannot be paid for whole; it is cut, never overdrawn
    write_bars(Warehouse(url), D2, {"AAA": (104.0, 104.0, 1e6), "BBB": (60.0, 60.0, 1e6)})
    account = later.account()
    assert account.cash >= 0
    assert later.get_order(client_order_id("req-2", "BBB", "buy")).status == "expired"  # type: ignore[union-attr]
    assert {p.ticker for p in later.positions()} == {"BBB"}


def _racing(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    # one pool for both races: each spawned process costs its imports once, not twice
    with ProcessPoolExecutor(max_workers=4, mp_context=ctx) as pool:
        results = list(pool.map(race_submit, [(url, "same-id", "AAA", 10.0)] * 4))
        assert sorted(results) == ["DuplicateClientOrderIdError"] * 3 + ["accepted"]
        write_bars(Warehouse(url), D1, BARS_D1)
        settled = list(pool.map(race_settle, [url] * 4))
    assert sum(settled) == 1
    with Warehouse(url).engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(paper_orders)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(paper_fills)).scalar() == 1
    broker = PaperBroker(Warehouse(url), TradingSettings())
    assert broker.positions()[0].qty == 10


def test_racing_processes_make_one_order_and_one_fill(url: str) -> None:
    PaperBroker(Warehouse(url), TradingSettings()).pin_clock(EVENING)
    _racing(url)


@pytest.mark.postgres
def test_racing_processes_make_one_order_and_one_fill_on_postgres(pg_url: str) -> None:
    write_bars(Warehouse(pg_url), D0, BARS_D0)
    PaperBroker(Warehouse(pg_url), TradingSettings()).pin_clock(EVENING)
    _racing(pg_url)
