"""Daily OHLCV bars: Alpaca market data (alpaca-py), or the demo world's Parquet file.

Both backends answer ``bars(tickers, start, end)`` with a PRICES frame whose ``date`` is
the bar's trading day in US/Eastern. Alpaca stamps a daily bar with its opening time in
UTC (midnight New York, i.e. 04:00 or 05:00Z), so the date must be taken after
converting to US/Eastern, never from the UTC calendar day.

alpaca-py is imported where an :class:`AlpacaBars` is made or queried, not with this
module: processes on the demo world's bars (the code location, the evening's runs)
never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd
import requests
from pydantic import SecretStr

from investor_mimic.core import frames

if TYPE_CHECKING:
    from alpaca.data.enums import Adjustment, DataFeed

EASTERN = ZoneInfo("America/New_York")


class AlpacaBarsError(RuntimeError):
    """Alpaca bars cannot be fetched as configured; ``transient`` when a later attempt
    may succeed (429, 5xx, no answer), never for an answer that is wrong."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _transient(exc: Exception) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    status = getattr(exc, "status_code", None)
    return status is not None and (status == 429 or status >= 500)


def _window(frame: pd.DataFrame, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Rows of ``tickers`` with ``start <= date <= end``, sorted, as a PRICES frame."""
    frame = frames.coerce(frame, frames.PRICES)
    keep = (
        frame["ticker"].isin(list(tickers))
        & (frame["date"] >= pd.Timestamp(start))
        & (frame["date"] <= pd.Timestamp(end))
    )
    return frames.coerce(frame[keep].sort_values(["date", "ticker"]), frames.PRICES)


class AlpacaBars:
    """Split- and dividend-adjusted daily bars from Alpaca's ``/v2/stocks/bars``.

    ``feed`` defaults to IEX, the feed a free Alpaca account may query for recent days.
    Symbols go out in batches of ``symbols_per_request`` to keep query strings short;
    alpaca-py follows ``next_page_token`` pagination within each batch.
    """

    def __init__(
        self,
        api_key: SecretStr | None,
        secret_key: SecretStr | None,
        url: str | None = None,
        *,
        feed: DataFeed | None = None,
        adjustment: Adjustment | None = None,
        symbols_per_request: int = 200,
    ) -> None:
        """``feed`` defaults to IEX, ``adjustment`` to all (splits and dividends)."""
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.historical import StockHistoricalDataClient

        if api_key is None or secret_key is None:
            raise AlpacaBarsError(
                "Alpaca prices need IM_ALPACA_API_KEY and IM_ALPACA_SECRET_KEY "
                "(or set IM_PRICES_SOURCE=demo)"
            )
        self.client = StockHistoricalDataClient(
            api_key.get_secret_value(), secret_key.get_secret_value(), url_override=url
        )
        self.feed = DataFeed.IEX if feed is None else feed
        self.adjustment = Adjustment.ALL if adjustment is None else adjustment
        self.symbols_per_request = symbols_per_request

    def bars(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Daily bars of ``tickers`` for trading days in [start, end] (PRICES)."""
        symbols = sorted(set(tickers))
        rows = [
            row
            for i in range(0, len(symbols), self.symbols_per_request)
            for row in self._rows(symbols[i : i + self.symbols_per_request], start, end)
        ]
        if not rows:
            return frames.PRICES.empty()
        return _window(pd.DataFrame(rows), tickers, start, end)

    def _rows(self, symbols: list[str], start: date, end: date) -> list[dict[str, object]]:
        from alpaca.common.exceptions import APIError
        from alpaca.data.models import BarSet
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame

        request = StockBarsRequest(
            symbol_or_symbols=symbols,
            timeframe=TimeFrame.Day,
            start=datetime.combine(start, time.min, EASTERN),
            end=datetime.combine(end, time.max, EASTERN),
            adjustment=self.adjustment,
            feed=self.feed,
        )
        try:
            barset = self.client.get_stock_bars(request)
        except (APIError, requests.RequestException) as exc:
            raise AlpacaBarsError(
                f"Alpaca bars {symbols[0]}..{symbols[-1]} ({len(symbols)} symbols) "
                f"{start}..{end}: {type(exc).__name__}: {str(exc)[:200]}",
                transient=_transient(exc),
            ) from exc
        assert isinstance(barset, BarSet)  # raw_data=False gives the wrapped model
        return [
            {
                "date": bar.timestamp.astimezone(EASTERN).replace(tzinfo=None),
                "ticker": symbol,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            }
            for symbol, symbol_bars in barset.data.items()
            for bar in symbol_bars
        ]


class DemoBars:
    """The demo world's ``market/bars.parquet`` (benchmark included)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise AlpacaBarsError(f"demo bars not found: {path}")
        self.path = path

    def bars(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Daily bars of ``tickers`` for trading days in [start, end] (PRICES)."""
        if not tickers:
            return frames.PRICES.empty()
        # the days too are filtered in the read (a superset: ``_window`` keeps the exact
        # window), so an evening types one day's rows, not every day of the world
        filters = [
            ("ticker", "in", sorted(set(tickers))),
            ("date", ">=", pd.Timestamp(start)),
            ("date", "<", pd.Timestamp(end) + pd.Timedelta(days=1)),
        ]
        return _window(pd.read_parquet(self.path, filters=filters), tickers, start, end)
