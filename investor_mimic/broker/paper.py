"""The built-in paper broker: orders, fills, positions and cash kept in the warehouse.

Fill model (:func:`open_fill`, also what the backtest fills with): a market order fills
at the **open of the first session that opens after it was submitted**, at that open
plus slippage for a buy (minus for a sale), paying ``commission_bps`` of its value. The
order stays ``new`` until that session's daily bar is in the warehouse's ``raw_prices``
table; because a daily bar exists only once its session has closed, the order is then
settled for good, like a day order: filled whole, or filled in part (at most
``paper_max_volume_pct`` of the bar's volume; a buy also at most what the cash pays
for) with the rest ``expired``. A ticker without a bar on a session the market traded
(halted, delisted) expires unfilled.

Guarantees: ``client_order_id`` is unique (a second submit raises
:class:`DuplicateClientOrderIdError`, as Alpaca answers 422); buys beyond buying power
(cash, minus open buys, plus what open sales will bring, at last closes with costs) and
sales beyond the position are refused at submission; each order is settled at most once
even with several processes settling at the same time (the settling transaction claims
the order row first); cash never goes below zero.

Out of scope: corporate actions (splits, dividends, symbol changes) are not applied to
positions or cash; prices are whatever ``raw_prices`` holds. Sessions and closes (early
closes included) are the exchange calendar's; the fill is always at the open.

The clock: the wall clock in New York, unless pinned (:meth:`PaperBroker.pin_clock`),
which the demo does so that "now" is the evening of its last scored day.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from investor_mimic.broker.models import (
    Account,
    BrokerError,
    Clock,
    DuplicateClientOrderIdError,
    Fill,
    InsufficientBuyingPowerError,
    Order,
    OrderRequest,
    Position,
    Side,
)
from investor_mimic.broker.paper_tables import (
    paper_account,
    paper_clock,
    paper_fills,
    paper_orders,
    paper_positions,
)
from investor_mimic.core.calendar import is_trading_day, next_trading_day, session_close
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.portfolio import costs
from investor_mimic.settings import TradingSettings

MARKET_OPEN = time(9, 30)
EASTERN = ZoneInfo("America/New_York")
OPEN_STATUSES = ("new", "partially_filled")
#: Fractional quantities are rounded down to this many decimals (Alpaca accepts 9).
QTY_DECIMALS = 6


def wall_clock() -> datetime:
    """Now in New York, naive (the project's exchange-time convention)."""
    return datetime.now(EASTERN).replace(tzinfo=None)


def fill_session(submitted_at: datetime) -> date:
    """The session whose open is the first open strictly after ``submitted_at``."""
    d = submitted_at.date()
    if is_trading_day(d) and submitted_at.time() < MARKET_OPEN:
        return d
    return next_trading_day(d)


def _floor(qty: float, fractional: bool) -> float:
    step = 10.0**QTY_DECIMALS if fractional else 1.0
    return math.floor(qty * step + 1e-7) / step


def open_fill(
    side: Side,
    qty: float,
    bar_open: float,
    bar_volume: float,
    cash: float,
    rules: TradingSettings,
) -> tuple[float, float, float, str | None]:
    """(filled qty, price, commission, why not all) of a market order at a bar's open.

    The quantity is capped by ``paper_max_volume_pct`` of the bar's volume and, for a
    buy, by the cash that pays for it with costs; whole shares unless fractional is on.
    """
    fractional = rules.fractional_shares or qty != int(qty)
    cap = _floor(bar_volume * rules.paper_max_volume_pct, fractional)
    filled, why = qty, None
    if cap < filled:
        filled, why = cap, f"volume cap: {cap:g} of {qty:g} shares ({bar_volume:g} traded)"
    if side == "buy":
        unit = float(costs.buy_cost(1.0, bar_open, rules))
        affordable = _floor(max(cash, 0.0) / unit, fractional)
        if affordable < filled:
            filled, why = affordable, f"cash {cash:,.2f} pays for {affordable:g} shares"
        price = float(costs.buy_price(bar_open, rules))
    else:
        price = float(costs.sell_price(bar_open, rules))
    commission = float(costs.commission(filled * price, rules))
    return filled, price, commission, why


class PaperBroker:
    """The :class:`~investor_mimic.broker.base.Broker` the project trades on by default."""

    name = "paper"

    def __init__(
        self,
        warehouse: Warehouse,
        rules: TradingSettings,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.rules = rules
        self._now_fn = now
        self._ensure_account()

    # --- clock -----------------------------------------------------------------------

    def now(self) -> datetime:
        if self._now_fn is not None:
            return self._now_fn()
        with self.warehouse.engine.connect() as conn:
            pinned = conn.execute(
                sa.select(paper_clock.c.pinned_at).where(paper_clock.c.id == 1)
            ).scalar()
        return pinned or wall_clock()

    def pin_clock(self, at: datetime | None) -> None:
        """Freeze this broker's "now" at ``at`` for every process (None: wall clock again)."""
        with self.warehouse.engine.begin() as conn:
            conn.execute(sa.delete(paper_clock))
            if at is not None:
                conn.execute(sa.insert(paper_clock).values(id=1, pinned_at=at))

    def clock(self) -> Clock:
        now = self.now()
        d = now.date()
        today = is_trading_day(d)
        is_open = today and datetime.combine(d, MARKET_OPEN) <= now < session_close(d)
        next_open = datetime.combine(fill_session(now), MARKET_OPEN)
        close_day = d if today and now < session_close(d) else next_trading_day(d)
        return Clock(now, is_open, next_open, session_close(close_day))

    # --- reads -----------------------------------------------------------------------

    def account(self) -> Account:
        self.settle()
        with self.warehouse.engine.connect() as conn:
            cash = self._cash(conn)
            reserved = self._reserved(conn)
            held = self._positions(conn)
        marks = self._marks([t for t, _, _ in held])
        equity = cash + sum(q * marks[t] for t, q, _ in held)
        return Account(cash=cash, equity=equity, buying_power=cash - reserved)

    def positions(self) -> list[Position]:
        self.settle()
        with self.warehouse.engine.connect() as conn:
            held = self._positions(conn)
        marks = self._marks([t for t, _, _ in held])
        return [Position(t, q, p, q * marks[t]) for t, q, p in held]

    def get_order(self, client_order_id: str) -> Order | None:
        self.settle()
        with self.warehouse.engine.connect() as conn:
            row = conn.execute(
                sa.select(paper_orders).where(paper_orders.c.client_order_id == client_order_id)
            ).first()
        return _order(row._mapping) if row is not None else None

    def fills(self, start: date, end: date) -> list[Fill]:
        self.settle()
        with self.warehouse.engine.connect() as conn:
            rows = conn.execute(
                sa.select(paper_fills)
                .where(paper_fills.c.bar_date >= start, paper_fills.c.bar_date <= end)
                .order_by(paper_fills.c.id)
            ).all()
        return [
            Fill(
                r.client_order_id,
                r.broker_order_id,
                r.ticker,
                r.side,
                r.qty,
                r.price,
                r.commission,
                r.filled_at,
            )
            for r in rows
        ]

    # --- submit ----------------------------------------------------------------------

    def submit(self, order: OrderRequest) -> Order:
        """Accept a market order (it fills at the next open); see the module docstring."""
        if order.side not in ("buy", "sell"):
            raise BrokerError(f"side must be buy or sell, got {order.side!r}")
        if not (order.qty > 0 and math.isfinite(order.qty)):
            raise BrokerError(f"qty must be a positive number, got {order.qty!r}")
        if not self.rules.fractional_shares and order.qty != int(order.qty):
            raise BrokerError(f"fractional qty {order.qty} refused: fractional trading is off")
        if not 0 < len(order.client_order_id) <= 48:
            raise BrokerError("client_order_id must be 1 to 48 characters")
        mark = self._marks([order.ticker], strict=False).get(order.ticker)
        if mark is None:
            raise BrokerError(f"asset {order.ticker} is not tradable: no price on record")
        now = self.now()
        try:
            with self.warehouse.engine.begin() as conn:
                self._lock_account(conn, now)
                if self._find(conn, order.client_order_id) is not None:
                    raise DuplicateClientOrderIdError(order.client_order_id)
                if order.side == "buy":
                    cost = float(costs.buy_cost(order.qty, mark, self.rules))
                    power = self._cash(conn) - self._reserved(conn)
                    if cost > power + 1e-9:
                        raise InsufficientBuyingPowerError(
                            f"insufficient buying power: {order.qty:g} {order.ticker} needs "
                            f"about {cost:,.2f}, {power:,.2f} available"
                        )
                else:
                    held = self._held_qty(conn, order.ticker) - self._open_sells(conn, order.ticker)
                    if order.qty > held + 1e-9:
                        raise BrokerError(
                            f"insufficient qty: selling {order.qty:g} {order.ticker}, "
                            f"{held:g} available (no short selling)"
                        )
                conn.execute(
                    sa.insert(paper_orders).values(
                        broker_order_id=f"paper-{uuid.uuid4().hex}",
                        client_order_id=order.client_order_id,
                        ticker=order.ticker,
                        side=order.side,
                        qty=float(order.qty),
                        filled_qty=0.0,
                        filled_avg_price=None,
                        status="new",
                        submitted_at=now,
                        fill_date=fill_session(now),
                        reason=None,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            # a concurrent submit with the same id won the unique constraint
            raise DuplicateClientOrderIdError(order.client_order_id) from None
        found = self.get_order(order.client_order_id)
        assert found is not None
        return found

    # --- settlement ------------------------------------------------------------------

    def settle(self) -> int:
        """Fill or expire every open order whose fill session's bar is known; returns
        how many were settled by this call."""
        with self.warehouse.engine.connect() as conn:
            pending = conn.execute(
                sa.select(
                    paper_orders.c.broker_order_id,
                    paper_orders.c.fill_date,
                    paper_orders.c.side,
                )
                .where(paper_orders.c.status.in_(OPEN_STATUSES))
                .order_by(paper_orders.c.submitted_at, paper_orders.c.broker_order_id)
            ).all()
        if not pending or not self.warehouse.has_table("raw_prices"):
            return 0
        days = sorted({p.fill_date for p in pending})
        traded = self._sessions_with_bars(days)
        # sales first within a session, so their cash is there for the buys
        settled = 0
        for side in ("sell", "buy"):
            for p in pending:
                if p.side == side and p.fill_date in traded:
                    settled += self._settle_one(p.broker_order_id)
        return settled

    def _settle_one(self, broker_order_id: str) -> int:
        now = self.now()
        with self.warehouse.engine.begin() as conn:
            claim = conn.execute(
                sa.update(paper_orders)
                .where(
                    paper_orders.c.broker_order_id == broker_order_id,
                    paper_orders.c.status.in_(OPEN_STATUSES),
                )
                .values(updated_at=now)
            )
            if claim.rowcount != 1:
                return 0  # another process settled it first
            o = conn.execute(
                sa.select(paper_orders).where(paper_orders.c.broker_order_id == broker_order_id)
            ).one()
            bar = self._bar(o.ticker, o.fill_date)
            if bar is None:
                conn.execute(
                    sa.update(paper_orders)
                    .where(paper_orders.c.broker_order_id == broker_order_id)
                    .values(status="expired", reason=f"no bar for {o.ticker} on {o.fill_date}")
                )
                return 1
            cash = self._cash(conn)
            qty, price, commission, why = open_fill(
                o.side, o.qty, bar["open"], bar["volume"], cash, self.rules
            )
            if o.side == "sell":
                qty = min(qty, self._held_qty(conn, o.ticker))
            status = "filled" if qty >= o.qty - 1e-9 else "expired"
            conn.execute(
                sa.update(paper_orders)
                .where(paper_orders.c.broker_order_id == broker_order_id)
                .values(
                    status=status,
                    filled_qty=qty,
                    filled_avg_price=price if qty > 0 else None,
                    reason=why,
                )
            )
            if qty <= 0:
                return 1
            filled_at = datetime.combine(o.fill_date, MARKET_OPEN)
            conn.execute(
                sa.insert(paper_fills).values(
                    broker_order_id=o.broker_order_id,
                    client_order_id=o.client_order_id,
                    ticker=o.ticker,
                    side=o.side,
                    qty=qty,
                    price=price,
                    commission=commission,
                    bar_date=o.fill_date,
                    filled_at=filled_at,
                )
            )
            signed = qty if o.side == "buy" else -qty
            new_cash = cash - signed * price - commission
            conn.execute(
                sa.update(paper_account)
                .where(paper_account.c.id == 1)
                .values(cash=new_cash, updated_at=now)
            )
            self._move_position(conn, o.ticker, signed, price, now)
            return 1

    # --- helpers ---------------------------------------------------------------------

    def _ensure_account(self) -> None:
        with self.warehouse.engine.begin() as conn:
            if conn.execute(sa.select(paper_account.c.id)).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            sa.insert(paper_account).values(
                                id=1,
                                initial_cash=self.rules.paper_initial_cash,
                                cash=self.rules.paper_initial_cash,
                                updated_at=wall_clock(),
                            )
                        )
                except sa.exc.IntegrityError:
                    pass  # another process created it first

    @staticmethod
    def _lock_account(conn: Connection, now: datetime) -> None:
        """Take the account row's write lock first, so two submits decide in turn."""
        conn.execute(sa.update(paper_account).where(paper_account.c.id == 1).values(updated_at=now))

    @staticmethod
    def _cash(conn: Connection) -> float:
        return float(conn.execute(sa.select(paper_account.c.cash)).scalar_one())

    def _reserved(self, conn: Connection) -> float:
        """Cash promised to open buys minus what open sales will bring, both at the
        ticker's last close with costs: a proposal's sales pay for its buys, and the
        settlement fills sales first (and cuts a buy the cash cannot pay at the open)."""
        rows = conn.execute(
            sa.select(
                paper_orders.c.ticker,
                paper_orders.c.side,
                paper_orders.c.qty,
                paper_orders.c.filled_qty,
            ).where(paper_orders.c.status.in_(OPEN_STATUSES))
        ).all()
        if not rows:
            return 0.0
        marks = self._marks([r.ticker for r in rows], strict=False)
        total = 0.0
        for r in rows:
            left, mark = r.qty - r.filled_qty, marks.get(r.ticker, 0.0)
            if r.side == "buy":
                total += float(costs.buy_cost(left, mark, self.rules))
            else:
                total -= float(costs.sell_proceeds(left, mark, self.rules))
        return total

    @staticmethod
    def _held_qty(conn: Connection, ticker: str) -> float:
        qty = conn.execute(
            sa.select(paper_positions.c.qty).where(paper_positions.c.ticker == ticker)
        ).scalar()
        return float(qty or 0.0)

    @staticmethod
    def _open_sells(conn: Connection, ticker: str) -> float:
        total = conn.execute(
            sa.select(sa.func.sum(paper_orders.c.qty - paper_orders.c.filled_qty)).where(
                paper_orders.c.ticker == ticker,
                paper_orders.c.side == "sell",
                paper_orders.c.status.in_(OPEN_STATUSES),
            )
        ).scalar()
        return float(total or 0.0)

    @staticmethod
    def _positions(conn: Connection) -> list[tuple[str, float, float]]:
        rows = conn.execute(
            sa.select(
                paper_positions.c.ticker, paper_positions.c.qty, paper_positions.c.avg_entry_price
            ).order_by(paper_positions.c.ticker)
        ).all()
        return [(r.ticker, float(r.qty), float(r.avg_entry_price)) for r in rows]

    @staticmethod
    def _find(conn: Connection, client_order_id: str) -> Any:
        return conn.execute(
            sa.select(paper_orders.c.broker_order_id).where(
                paper_orders.c.client_order_id == client_order_id
            )
        ).first()

    @staticmethod
    def _move_position(
        conn: Connection, ticker: str, signed: float, price: float, now: datetime
    ) -> None:
        row = conn.execute(
            sa.select(paper_positions).where(paper_positions.c.ticker == ticker)
        ).first()
        if row is None:
            conn.execute(
                sa.insert(paper_positions).values(
                    ticker=ticker, qty=signed, avg_entry_price=price, updated_at=now
                )
            )
            return
        qty = row.qty + signed
        if qty <= 1e-9:
            conn.execute(sa.delete(paper_positions).where(paper_positions.c.ticker == ticker))
            return
        entry = (row.qty * row.avg_entry_price + signed * price) / qty if signed > 0 else None
        conn.execute(
            sa.update(paper_positions)
            .where(paper_positions.c.ticker == ticker)
            .values(qty=qty, avg_entry_price=entry or row.avg_entry_price, updated_at=now)
        )

    def _marks(self, tickers: list[str], strict: bool = True) -> dict[str, float]:
        """Each ticker's last close on or before the clock's date."""
        if not tickers:
            return {}
        if not self.warehouse.has_table("raw_prices"):
            if strict:
                raise BrokerError("no prices in the warehouse: raw_prices does not exist")
            return {}
        names = ", ".join(f":t{i}" for i in range(len(tickers)))
        params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(tickers)}
        params["day"] = self.now().date()
        frame = self.warehouse.read(
            "SELECT p.ticker, p.close FROM raw_prices p JOIN ("  # nosec B608 # only :t<i> placeholders
            f"  SELECT ticker, MAX(date) AS d FROM raw_prices WHERE ticker IN ({names})"
            "   AND date <= :day GROUP BY ticker"
            ") m ON p.ticker = m.ticker AND p.date = m.d",
            params,
        )
        marks = dict(zip(frame["ticker"], frame["close"].astype(float), strict=True))
        missing = sorted(set(tickers) - set(marks))
        if missing and strict:
            raise BrokerError(f"no close on record for held {missing}")
        return marks

    def _bar(self, ticker: str, day: date) -> dict[str, float] | None:
        frame = self.warehouse.read(
            "SELECT open, volume FROM raw_prices WHERE ticker = :t AND date = :d",
            {"t": ticker, "d": day},
        )
        if frame.empty:
            return None
        return {"open": float(frame["open"].iloc[0]), "volume": float(frame["volume"].iloc[0])}

    def _sessions_with_bars(self, days: list[date]) -> set[date]:
        """Which of ``days`` have any bar in the warehouse (the session has closed)."""
        lo, hi = days[0], days[-1] + timedelta(days=1)
        frame = self.warehouse.read(
            "SELECT DISTINCT date FROM raw_prices WHERE date >= :lo AND date < :hi",
            {"lo": lo, "hi": hi},
        )
        seen = {d.date() for d in frame["date"].map(lambda v: datetime.fromisoformat(str(v)))}
        return seen & set(days)


def _order(row: Any) -> Order:
    return Order(
        client_order_id=row["client_order_id"],
        broker_order_id=row["broker_order_id"],
        ticker=row["ticker"],
        side=row["side"],
        qty=float(row["qty"]),
        filled_qty=float(row["filled_qty"]),
        filled_avg_price=row["filled_avg_price"],
        status=row["status"],
        submitted_at=row["submitted_at"],
    )
