"""The walk-forward backtest: the production portfolio code replayed day by day (pure).

Why a replay of the production functions and not a vectorised return formula: the
number users trust must be what the live system would have done, so each session D runs
exactly what the ``trade_proposals`` asset runs —
:func:`investor_mimic.portfolio.proposal.propose` on D's cross-section (composite
scores of D, closes through D, sectors, return volatility) and the book carried from
D−1, with stops every day and a rebalance when
:func:`investor_mimic.portfolio.schedule.is_rebalance_day` says so — and the orders
fill at D+1's open through the paper broker's own fill rule
(:func:`investor_mimic.broker.paper.open_fill`: slippage, commission, volume cap, cash
cap; sells first so their cash pays for the buys). A ticker without a bar on the fill
session does not fill (as the paper broker expires it). Cash and positions (with
average entry prices, which the stop-loss reads) carry from day to day.

Timing, one row of ``returns`` per session D of the window:

* open of D: D−1's orders fill;
* close of D: a holding whose ticker has its final bar on D (delisted) is closed at that
  close; the book is marked at D's closes (a held name without a close keeps its
  last one); ``strategy`` is equity(D) / equity(D−1) − 1 (the first day against the
  initial cash), ``benchmark`` the benchmark's close-to-close return;
* after the close: D's orders are proposed from data known at D's close.

Look-ahead guard (:class:`LookAheadError`): every score row carries ``refit_date``,
the date of the weights that produced it (``frames.COMPOSITE_SCORE``); the engine
refuses any row whose weights were fitted after the row's date, and only ever reads the
rows dated D on day D. :func:`perturbation_audit` is the stronger, behavioural check: it
re-runs a score producer on data cut after D and requires the scores through D to be
unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from investor_mimic.backtest.metrics import Metrics, compute_metrics, daily_turnover
from investor_mimic.broker.models import Side
from investor_mimic.broker.paper import open_fill
from investor_mimic.portfolio import costs
from investor_mimic.portfolio.cross_section import UNKNOWN_SECTOR, CrossSection
from investor_mimic.portfolio.proposal import propose
from investor_mimic.portfolio.schedule import rebalance_flags
from investor_mimic.portfolio.state import Holding, PortfolioState
from investor_mimic.settings import TradingSettings

DEFAULT_INITIAL_CASH = 1_000_000.0


class LookAheadError(ValueError):
    """A score would be used on a day before the data behind it was known."""


@dataclass(frozen=True)
class BacktestResult:
    """Daily ``returns`` (``date, strategy, benchmark``), the book's ``equity``,
    gross ``exposure`` and one-way ``turnover`` by date, every ``fills`` row, and the
    headline :class:`~investor_mimic.backtest.metrics.Metrics`."""

    returns: pd.DataFrame
    equity: pd.Series
    exposure: pd.Series
    turnover: pd.Series
    fills: pd.DataFrame
    metrics: Metrics


def check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The score rows, or :class:`LookAheadError` if any was produced from weights
    fitted after its own date (``refit_date > date``)."""
    missing = [c for c in ("date", "ticker", "score", "refit_date") if c not in scores.columns]
    if missing:
        raise ValueError(f"backtest scores: missing columns {missing}")
    day = pd.to_datetime(scores["date"])
    refit = pd.to_datetime(scores["refit_date"])
    late = refit > day
    if late.any():
        row = scores.loc[late].iloc[0]
        raise LookAheadError(
            f"score for {row['ticker']} on {day[late].iloc[0]:%Y-%m-%d} uses weights fitted "
            f"on {refit[late].iloc[0]:%Y-%m-%d}, after the day it would trade on"
        )
    out = scores.assign(date=day)
    if out.duplicated(["date", "ticker"]).any():
        raise ValueError("backtest scores: duplicate (date, ticker) rows")
    return out


def _finite_or_zero(x: float) -> float:
    """NaN (no volume recorded) as 0; a scalar test, ``np.nan_to_num`` costs ~20 µs a call."""
    return x if math.isfinite(x) else 0.0


class _Grid:
    """Where each row of a (date, ticker) frame sits on the session × ticker grid.

    Index arithmetic rather than ``pivot_table``: ten years of 500 tickers take
    milliseconds instead of seconds. Built once per frame and shared by its columns,
    since locating a million string tickers is the expensive part."""

    def __init__(self, rows: pd.DataFrame, days: pd.DatetimeIndex, tickers: list[str]) -> None:
        i = days.get_indexer(pd.DatetimeIndex(rows["date"]))
        j = pd.Index(tickers).get_indexer(pd.Index(rows["ticker"].astype(str)))
        keep = (i >= 0) & (j >= 0)
        self.rows, self.shape = rows, (len(days), len(tickers))
        self.i, self.j, self.keep = i[keep], j[keep], keep

    def wide(self, column: str) -> np.ndarray:
        """Session × ticker matrix of ``column`` (NaN where no row; rows off the grid
        dropped; the last row wins a duplicate)."""
        out = np.full(self.shape, np.nan)
        out[self.i, self.j] = self.rows[column].to_numpy(dtype=float)[self.keep]
        return out


def run_backtest(
    scores: pd.DataFrame,
    prices: pd.DataFrame,
    sectors: Mapping[str, str] | pd.DataFrame,
    benchmark: str,
    rules: TradingSettings,
    *,
    start: date | None = None,
    end: date | None = None,
    initial_cash: float = DEFAULT_INITIAL_CASH,
    delisted: Mapping[str, date] | None = None,
) -> BacktestResult:
    """Replay the strategy over the sessions in [start, end] (module docstring).

    ``scores``: ``frames.COMPOSITE_SCORE`` rows (``date, ticker, score, refit_date``);
    ``prices``: ``frames.PRICES`` bars, including history before ``start`` for the
    volatility of inverse-volatility sizing; ``sectors``: ticker → sector, or rows of
    ``date, ticker, sector`` (each ticker's sector as of each date, carried forward until
    it changes, so a sector change reaches no earlier day); the
    benchmark must have a bar on every session of the window (its return is the
    comparison). Defaults: ``start`` the first scored date, ``end`` the last bar.

    ``delisted``: ticker → its last listed session (its final bar). On that session the
    ticker is no longer proposed, and a holding in it is closed at the final bar's close
    (commission charged, recorded as a sell fill) — it could not be sold at any later open.
    """
    scores = check_scores(scores)
    prices = prices.assign(date=pd.to_datetime(prices["date"]))
    if benchmark not in set(prices["ticker"].unique()):
        raise ValueError(f"backtest: no bars for the benchmark {benchmark}")
    if scores.empty:
        raise ValueError("backtest: no scores (no weights fitted before the window?)")
    first = pd.Timestamp(start) if start else scores["date"].min()
    last = pd.Timestamp(end) if end else prices["date"].max()
    bench = prices[prices["ticker"] == benchmark].set_index("date")["close"].sort_index()
    all_days = pd.DatetimeIndex(sorted(prices["date"].unique()))
    days = all_days[(all_days >= first) & (all_days <= last)]
    if len(days) < 2:
        raise ValueError(
            f"backtest: fewer than two sessions in [{first:%Y-%m-%d}, {last:%Y-%m-%d}]"
        )
    if bench.reindex(days).isna().any():
        gap = days[bench.reindex(days).isna().to_numpy()][0]
        raise ValueError(f"backtest: benchmark {benchmark} has no bar on {gap:%Y-%m-%d}")

    market = Market.build(
        scores, prices, sectors, benchmark, all_days[all_days <= last], rules, delisted or {}
    )
    opens, volume, col = market.open, market.volume, market.col
    row_of = {d: i for i, d in enumerate(market.days)}

    state = PortfolioState(float(initial_cash))
    pending: list[tuple[str, float]] = []  # (ticker, signed shares) for the next open
    out_equity, out_exposure, out_traded, fills = [], [], [], []
    rebalance = rebalance_flags(days, rules.rebalance_frequency)
    for k, d in enumerate(days):
        i = row_of[d]
        state, traded, day_fills = _fill(state, pending, opens[i], volume[i], col, rules, d)
        fills.extend(day_fills)
        state, closed, day_fills = _close_delisted(state, market, i, rules)
        traded += closed
        fills.extend(day_fills)
        mark = {t: float(market.last_close[i, col[t]]) for t in state.holdings}
        equity = state.equity(mark)
        gross = sum(h.shares * mark[t] for t, h in state.holdings.items())
        out_equity.append(equity)
        out_exposure.append(gross / equity if equity > 0 else 0.0)
        out_traded.append(traded)
        cs = market.cross_section(i, state)
        proposal = propose(cs, state, rules, bool(rebalance[k]))
        book = proposal.book
        pending = [
            (str(t), float(q)) for t, q in zip(book.tickers, book.trade, strict=True) if q != 0
        ]

    equity_s = pd.Series(out_equity, index=days, name="equity")
    before = equity_s.shift(1).fillna(float(initial_cash))
    returns = pd.DataFrame(
        {
            "date": days,
            "strategy": (equity_s / before - 1.0).to_numpy(),
            # the first session's return needs the close before it (0 without one)
            "benchmark": bench.pct_change().reindex(days).fillna(0.0).to_numpy(),
        }
    )
    exposure = pd.Series(out_exposure, index=days, name="exposure")
    turnover = daily_turnover(pd.Series(out_traded, index=days), before)
    metrics = compute_metrics(returns, exposure=exposure, turnover=turnover)
    fill_frame = pd.DataFrame(
        fills, columns=["date", "ticker", "side", "shares", "price", "commission"]
    )
    return BacktestResult(returns, equity_s, exposure, turnover, fill_frame, metrics)


def _sector_matrix(
    sectors: Mapping[str, str] | pd.DataFrame, days: pd.DatetimeIndex, tickers: list[str]
) -> np.ndarray:
    """Session × ticker sectors: a fixed mapping, or dated rows carried forward."""
    if isinstance(sectors, pd.DataFrame):
        dated = sectors.assign(date=pd.to_datetime(sectors["date"]))
        wide = dated.pivot_table(index="date", columns="ticker", values="sector", aggfunc="last")
        wide = wide.reindex(index=wide.index.union(days), columns=tickers).ffill()
        out = wide.reindex(index=days).to_numpy(dtype=object)
        return np.where(pd.isna(out), UNKNOWN_SECTOR, out).astype(object)
    row = np.array([sectors.get(t) or UNKNOWN_SECTOR for t in tickers], dtype=object)
    return np.tile(row, (len(days), 1))


@dataclass(frozen=True)
class Market:
    """Session × ticker matrices (the benchmark excluded) built once for the replay."""

    days: pd.DatetimeIndex
    tickers: list[str]
    col: dict[str, int]
    open: np.ndarray
    close: np.ndarray
    last_close: np.ndarray
    volume: np.ndarray
    volatility: np.ndarray
    score: np.ndarray
    sector: np.ndarray  # session × ticker, object
    final: np.ndarray  # session × ticker, bool: the ticker's last listed session

    @classmethod
    def build(
        cls,
        scores: pd.DataFrame,
        prices: pd.DataFrame,
        sectors: Mapping[str, str] | pd.DataFrame,
        benchmark: str,
        days: pd.DatetimeIndex,
        rules: TradingSettings,
        delisted: Mapping[str, date] | None = None,
    ) -> Market:
        tickers = sorted(set(prices["ticker"].unique()) - {benchmark})
        bars = _Grid(prices, days, tickers)
        close = bars.wide("close")
        score = _Grid(scores, days, tickers).wide("score")
        final = np.zeros((len(days), len(tickers)), dtype=bool)
        for t, last in (delisted or {}).items():
            j = tickers.index(t) if t in tickers else -1
            at = int(days.searchsorted(pd.Timestamp(last)))
            if j >= 0 and at < len(days) and days[at] == pd.Timestamp(last):
                final[at, j] = True
                score[at:, j] = np.nan  # not proposed on its last session or after
        # the volatility build_cross_section measures: std of the last `volatility_days`
        # log returns, NaN with fewer than max(5, days // 2) (rows after D never enter)
        vd = rules.volatility_days
        logret = pd.DataFrame(np.log(close)).diff()
        return cls(
            days=days,
            tickers=tickers,
            col={t: j for j, t in enumerate(tickers)},
            open=bars.wide("open"),
            close=close,
            last_close=pd.DataFrame(close).ffill().to_numpy(),
            volume=bars.wide("volume"),
            volatility=logret.rolling(vd, min_periods=max(5, vd // 2)).std().to_numpy(),
            score=score,
            sector=_sector_matrix(sectors, days, tickers),
            final=final,
        )

    def cross_section(self, i: int, state: PortfolioState) -> CrossSection:
        """What :func:`~investor_mimic.portfolio.cross_section.build_cross_section` builds
        for session ``i``: scored names priced at its close, held names at their last."""
        held = np.zeros(len(self.tickers), dtype=bool)
        held[[self.col[t] for t in state.holdings]] = True
        take = np.isfinite(self.score[i]) | held
        price = np.where(held & ~np.isfinite(self.close[i]), self.last_close[i], self.close[i])
        return CrossSection(
            date=self.days[i].date(),
            tickers=np.array(self.tickers, dtype=object)[take],
            score=self.score[i][take],
            price=price[take],
            sector=self.sector[i][take],
            volatility=self.volatility[i][take],
        )


def _close_delisted(
    state: PortfolioState, market: Market, i: int, rules: TradingSettings
) -> tuple[PortfolioState, float, list[tuple[object, ...]]]:
    """Close every holding whose ticker has its final bar on session ``i`` at that close
    (no slippage: the delisting price is what holders receive; commission charged)."""
    gone = [t for t in state.holdings if market.final[i, market.col[t]]]
    if not gone:
        return state, 0.0, []
    cash, holdings = state.cash, dict(state.holdings)
    traded = 0.0
    fills: list[tuple[object, ...]] = []
    for t in gone:
        held = holdings.pop(t)
        price = float(market.last_close[i, market.col[t]])
        value = held.shares * price
        fee = float(costs.commission(value, rules))
        cash += value - fee
        traded += value
        fills.append((market.days[i], t, "sell", held.shares, price, fee))
    return PortfolioState(cash, holdings), traded, fills


def _fill(
    state: PortfolioState,
    pending: list[tuple[str, float]],
    bar_open: np.ndarray,
    bar_volume: np.ndarray,
    col: Mapping[str, int],
    rules: TradingSettings,
    day: pd.Timestamp,
) -> tuple[PortfolioState, float, list[tuple[object, ...]]]:
    """Fill yesterday's orders at today's open, sells first (the paper broker's order)."""
    if not pending:
        return state, 0.0, []
    cash = state.cash
    holdings = dict(state.holdings)
    traded = 0.0
    fills: list[tuple[object, ...]] = []
    for sell in (True, False):
        for ticker, signed in pending:
            if (signed < 0) != sell:
                continue
            j = col[ticker]
            if not (np.isfinite(bar_open[j]) and bar_open[j] > 0):
                continue  # no bar on the fill session: the order expires unfilled
            side: Side = "sell" if sell else "buy"
            qty, price, fee, _why = open_fill(
                side,
                abs(signed),
                float(bar_open[j]),
                _finite_or_zero(float(bar_volume[j])),
                cash,
                rules,
            )
            held = holdings.get(ticker)
            if sell:
                qty = min(qty, held.shares if held else 0.0)
            if qty <= 0:
                continue
            cash += (-qty if not sell else qty) * price - fee
            traded += qty * price
            fills.append((day, ticker, side, qty, price, fee))
            if sell:
                assert held is not None
                left = held.shares - qty
                if left <= 1e-9:
                    del holdings[ticker]
                else:
                    holdings[ticker] = Holding(left, held.entry_price)
            else:
                old_q = held.shares if held else 0.0
                old_e = held.entry_price if held else 0.0
                new_q = old_q + qty
                holdings[ticker] = Holding(new_q, (old_q * old_e + qty * price) / new_q)
    return PortfolioState(cash, holdings), traded, fills


ScoreProducer = Callable[[pd.Timestamp], pd.DataFrame]


def perturbation_audit(produce: ScoreProducer, cut_dates: Iterable[date]) -> None:
    """Raise :class:`LookAheadError` unless every score through each cut date D is the
    same whether the producer sees all its data (``produce(None)``-style: ``produce``
    with the last cut far in the future) or only data through D (``produce(D)``).

    ``produce(cutoff)`` must return score rows (``date, ticker, score``) computed from
    inputs truncated after ``cutoff``; a producer that lets a later day reach an earlier
    score fails here.
    """
    full = produce(pd.Timestamp.max.normalize())
    full = full.assign(date=pd.to_datetime(full["date"]))
    for cut in cut_dates:
        ts = pd.Timestamp(cut)
        part = produce(ts)
        part = part.assign(date=pd.to_datetime(part["date"]))
        a = full[full["date"] <= ts].set_index(["date", "ticker"])["score"].sort_index()
        b = part[part["date"] <= ts].set_index(["date", "ticker"])["score"].sort_index()
        if not a.index.equals(b.index) or not np.allclose(
            a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-12, equal_nan=True
        ):
            raise LookAheadError(
                f"scores through {ts:%Y-%m-%d} change when data after that day is removed"
            )
