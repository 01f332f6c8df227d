"""The daily ``portfolio`` and the day's ``trade_proposals``: the graph's link to a broker.

Both are snapshots of the broker *now*, valued at the partition day's close, so each
materializes only for the day whose score may trade at the broker's next open (the
evening of D, or the morning of D+1 before the open); any other partition fails with
that reason instead of mixing today's book with another day's prices. The proposal logic
is :func:`investor_mimic.portfolio.proposal.propose` — the function the backtest runs.

``trade_proposals`` proposes nothing (an empty frame, the reason in its metadata and a
failed ``inputs_fresh_and_checked`` check) when the day has no score, when the score is
stale, or when a blocking check of its inputs failed for that day in an earlier run
(within one run Dagster itself stops downstream of a failed blocking check).
"""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.broker.base import Broker, ReportsFills
from investor_mimic.core import frames
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.metadata import PANDAS, PARQUET, preview
from investor_mimic.defs.partitions import trading_day_partitions
from investor_mimic.defs.resources import BrokerResource, TradingResource, WarehouseResource
from investor_mimic.portfolio import limits
from investor_mimic.portfolio.cross_section import build_cross_section
from investor_mimic.portfolio.plots import target_weights_png
from investor_mimic.portfolio.proposal import Proposal, propose
from investor_mimic.portfolio.schedule import is_rebalance_day, tradable_session
from investor_mimic.portfolio.state import PortfolioState, portfolio_frame, state_from_frame
from investor_mimic.research.data import read_prices
from investor_mimic.research.plots import markdown_image

GROUP = "trading"
PORTFOLIO = dg.AssetKey("portfolio")
TRADE_PROPOSALS = dg.AssetKey("trade_proposals")
#: Assets whose failed blocking checks for day D forbid proposing on D.
CHECKED_INPUTS = (
    dg.AssetKey("composite_score"),
    dg.AssetKey("factor_panel"),
    dg.AssetKey("prices"),
)
#: Calendar days of closes read before D (volatility for sizing, last close of held names).
CLOSE_LOOKBACK_DAYS = 150


def _one_day(context: dg.AssetExecutionContext) -> date:
    keys = context.partition_keys
    if len(keys) != 1:
        raise dg.Failure(
            description=f"{context.asset_key.to_user_string()} runs one trading day at a time "
            f"(the broker is read as it is now); got {len(keys)} partitions"
        )
    return date.fromisoformat(keys[0])


def _require_current(broker: Broker, day: date, what: str) -> None:
    clock = broker.clock()
    session = tradable_session(clock.timestamp, clock.next_open)
    if session != day:
        now = f"{clock.timestamp:%Y-%m-%d %H:%M}"
        current = f"the book of {session}" if session else "a session in progress"
        raise dg.Failure(
            description=f"{what} {day}: the {broker.name} broker's clock says {now} "
            f"({current}); a snapshot of the broker can only stand for the day whose orders "
            f"go to the next open ({clock.next_open:%Y-%m-%d %H:%M})"
        )


def _sectors(factor_panel: pd.DataFrame, day: date) -> dict[str, str]:
    rows = factor_panel[factor_panel["date"] == pd.Timestamp(day)]
    return dict(zip(rows["ticker"], rows["sector"], strict=True))


def _closes(warehouse: Warehouse, day: date) -> pd.DataFrame:
    start = day - timedelta(days=CLOSE_LOOKBACK_DAYS)
    return read_prices(warehouse, start, day, columns=("date", "ticker", "close"))


def _last_closes(closes: pd.DataFrame, tickers: list[str]) -> dict[str, float]:
    held = closes[closes["ticker"].isin(tickers)].sort_values("date")
    last = held.groupby("ticker")["close"].last()
    missing = sorted(set(tickers) - set(last.index))
    if missing:
        raise dg.Failure(description=f"no close on record for held {missing}")
    return {str(t): float(c) for t, c in last.items()}


def _previous_equity(instance: dg.DagsterInstance, day: date) -> float | None:
    prev = trading_day_partitions.get_prev_partition_window(
        pd.Timestamp(day).tz_localize("America/New_York").to_pydatetime()
    )
    if prev is None:
        return None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(PORTFOLIO, asset_partitions=[prev.start.strftime("%Y-%m-%d")]),
        limit=1,
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("equity")
    return float(value.value) if value is not None else None  # type: ignore[arg-type]


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, PARQUET},
    partitions_def=trading_day_partitions,
    metadata={"partition_expr": "date"},
    ins={"factor_panel": dg.AssetIn()},
    deps=[dg.AssetKey("prices")],
    description="The broker's book at the day's close: positions (shares, entry price, close, "
    "value, weight, sector) and a cash row; equity, cash, daily P&L, exposure, positions and "
    "trades as numeric metadata, so the UI plots them over time.",
)
def portfolio(
    context: dg.AssetExecutionContext,
    factor_panel: pd.DataFrame,
    broker: BrokerResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    day = _one_day(context)
    b = broker.broker()
    _require_current(b, day, "portfolio")
    account = b.account()
    state = PortfolioState.from_positions(account.cash, b.positions())
    closes = _last_closes(_closes(warehouse.warehouse(), day), sorted(state.holdings))
    frame = portfolio_frame(day, state, closes, _sectors(factor_panel, day))
    equity = state.equity(closes)
    invested = equity - state.cash
    previous = _previous_equity(context.instance, day)
    trades = len(b.fills(day, day)) if isinstance(b, ReportsFills) else None
    meta: dict[str, Any] = {
        "dagster/row_count": len(frame),
        "equity": equity,
        "cash": state.cash,
        "invested": invested,
        "exposure": invested / equity if equity else 0.0,
        "positions": len(state.holdings),
        "daily_pnl": equity - previous if previous is not None else 0.0,
        "daily_return": equity / previous - 1 if previous else 0.0,
        "broker": b.name,
        "preview": preview(frame, rows=30),
    }
    if trades is not None:
        meta["trades"] = trades
    context.log.info(
        f"portfolio {day}: equity {equity:,.2f}, cash {state.cash:,.2f}, "
        f"{len(state.holdings)} positions"
    )
    return dg.Output(frame, metadata=meta)


def _failed_input_checks(instance: dg.DagsterInstance, day: date) -> list[str]:
    """Blocking checks of the inputs whose latest evaluation covering ``day`` did not pass."""
    from investor_mimic.defs.trading.checks import blocking_check_keys, check_outcomes

    outcomes = check_outcomes(instance, blocking_check_keys(CHECKED_INPUTS), day.isoformat())
    return sorted(
        f"{key.to_user_string()} ({outcome})"
        for key, outcome in outcomes.items()
        if outcome not in ("passed", "never run")
    )


def proposal_blockers(
    instance: dg.DagsterInstance, broker: Broker, day: date, scores: pd.DataFrame
) -> list[str]:
    """Why nothing may be proposed for ``day`` (empty: go ahead)."""
    blockers = []
    if not (scores["date"] == pd.Timestamp(day)).any():
        blockers.append(f"no composite score for {day}")
    clock = broker.clock()
    session = tradable_session(clock.timestamp, clock.next_open)
    if session != day:
        blockers.append(
            f"stale score: at {clock.timestamp:%Y-%m-%d %H:%M} orders reach the open of "
            f"{clock.next_open:%Y-%m-%d}, which trades the score of {session or 'no closed day'}"
            f", not of {day}"
        )
    failed = _failed_input_checks(instance, day)
    if failed:
        blockers.append(f"blocking input checks failed for {day}: {', '.join(failed)}")
    return blockers


def _orders_table(orders: pd.DataFrame) -> str:
    if orders.empty:
        return "_no orders_"
    shown = orders[["side", "ticker", "shares", "ref_price", "notional", "target_weight"]]
    shown = shown.assign(reason=orders["reason"], sector=orders["sector"], score=orders["score"])
    return shown.to_markdown(index=False, floatfmt=",.4g")


def _proposal_metadata(proposal: Proposal, orders: pd.DataFrame, rules: Any) -> dict[str, Any]:
    results = limits.check_all(proposal.book, rules)
    book = proposal.book
    buys = orders[orders["side"] == "buy"]
    sells = orders[orders["side"] == "sell"]
    table = pd.DataFrame(
        [
            {"limit": n, "passed": r.passed, "value": r.value, "limit value": r.limit}
            for n, r in results.items()
        ]
    )
    return {
        "dagster/row_count": len(orders),
        "orders": dg.MetadataValue.md(_orders_table(orders)),
        "target_weights": dg.MetadataValue.md(
            markdown_image(
                target_weights_png(book, f"Target weights, {proposal.date}"), "target weights"
            )
        ),
        "limits": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4g")),
        "rebalance": proposal.rebalance,
        "buys": len(buys),
        "sells": len(sells),
        "buy_notional": float(buys["notional"].sum()),
        "sell_notional": float(sells["notional"].sum()),
        "equity": book.equity,
        "cash_after": limits.cash_after_trades(book, rules),
        "turnover": results["turnover"].value,
        "positions_after": int((book.after > 0).sum()),
    }


@dg.asset(
    group_name=GROUP,
    kinds={PANDAS, PARQUET},
    partitions_def=trading_day_partitions,
    metadata={"partition_expr": "date"},
    ins={
        "composite_score": dg.AssetIn(),
        "factor_panel": dg.AssetIn(),
        "portfolio": dg.AssetIn(),
    },
    deps=[dg.AssetKey("prices")],
    description="The orders that move the book toward the target portfolio of the day's "
    "composite (top names above the signal threshold, sized, capped by every limit, cash "
    "buffer kept; stop-loss and take-profit exits): sells first, then buys, each sized at "
    "the day's close and meant for the next session's open. Every limit is a blocking check.",
)
def trade_proposals(
    context: dg.AssetExecutionContext,
    composite_score: pd.DataFrame,
    factor_panel: pd.DataFrame,
    portfolio: pd.DataFrame,
    broker: BrokerResource,
    trading: TradingResource,
    warehouse: WarehouseResource,
) -> dg.Output[pd.DataFrame]:
    day = _one_day(context)
    rules = trading.rules()
    blockers = proposal_blockers(context.instance, broker.broker(), day, composite_score)
    if blockers:
        for reason in blockers:
            context.log.error(f"trade_proposals {day}: nothing proposed: {reason}")
        empty = frames.TRADE_PROPOSALS.empty()
        return dg.Output(
            empty,
            metadata={
                "dagster/row_count": 0,
                "refused": "; ".join(blockers),
                "buys": 0,
                "sells": 0,
            },
        )
    state = state_from_frame(portfolio)
    scores = composite_score[composite_score["date"] == pd.Timestamp(day)]
    cs = build_cross_section(
        day,
        scores[["date", "ticker", "score"]],
        _closes(warehouse.warehouse(), day),
        _sectors(factor_panel, day),
        held=list(state.holdings),
        volatility_days=rules.volatility_days,
    )
    proposal = propose(cs, state, rules, is_rebalance_day(day, rules.rebalance_frequency))
    orders = proposal.orders()
    context.log.info(
        f"trade_proposals {day}: {len(orders)} orders "
        f"({'rebalance' if proposal.rebalance else 'stops only'})"
    )
    return dg.Output(orders, metadata=_proposal_metadata(proposal, orders, rules))


trading_job = dg.define_asset_job(
    "trading_job",
    selection=dg.AssetSelection.assets(portfolio, trade_proposals),
    description="One trading day: the broker's book at the close, then the orders that move it "
    "toward the day's target portfolio, under blocking risk-limit checks.",
    partitions_def=trading_day_partitions,
)
