"""Settings → the backend of every source: the demo world folder or the real service.

Why one factory: the Dagster layer asks for :class:`Sources` and talks only to the
protocols below, so switching a source between the demo world and the real service is
one setting (``IM_EDGAR_SOURCE``, ``IM_PRICES_SOURCE``, ``IM_NEWS_SOURCE``), never code.
Which world a mixed configuration uses: the universe and tracked filers follow EDGAR
(the demo world's filings only name demo issuers), the benchmark follows prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pandas as pd

from investor_mimic.core.frames import cik10
from investor_mimic.demo.manifest import load_manifest
from investor_mimic.settings import Settings
from investor_mimic.sources.alpaca_bars import AlpacaBars, DemoBars
from investor_mimic.sources.alpha_vantage import AlphaVantageNews, DemoNews, NewsFetch
from investor_mimic.sources.edgar import (
    EdgarClient,
    FolderEdgarTransport,
    HttpEdgarTransport,
)
from investor_mimic.sources.http import HttpStore
from investor_mimic.sources.universe import UNIVERSE_FILE


class PriceSource(Protocol):
    def bars(self, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
        """Daily bars of ``tickers`` for trading days in [start, end] (frames.PRICES)."""
        ...


class NewsSource(Protocol):
    def fetch(self, tickers: Sequence[str], start: date, end: date) -> NewsFetch:
        """Items whose trading_date is in [start, end] (frames.NEWS_SENTIMENT), with the
        requests it took and whether the budget covered the whole window."""
        ...


@dataclass(frozen=True)
class Sources:
    """Everything the source assets need; ``edgar`` wraps either EDGAR transport."""

    edgar: EdgarClient
    bars: PriceSource
    news: NewsSource
    universe_path: Path
    benchmark: str
    filer_ciks: tuple[str, ...]


@dataclass(frozen=True)
class EdgarSource:
    """The EDGAR side of the settings: a client, the tracked 13F filers, and where the
    universe file is (the demo world's own, or a CSV built from SEC data)."""

    client: EdgarClient
    filer_ciks: tuple[str, ...]
    universe_path: Path
    description: str  # the world folder or the EDGAR URLs, for logs and records


def edgar_from_settings(settings: Settings) -> EdgarSource:
    """The demo world's EDGAR folder, or live EDGAR (identity required, cache and the
    shared SEC rate limit from :class:`HttpStore`)."""
    if settings.edgar_source == "demo":
        world = settings.world_dir
        manifest = load_manifest(world)
        return EdgarSource(
            EdgarClient(FolderEdgarTransport(world / "edgar")),
            tuple(cik10(f.cik) for f in manifest.filers),
            world / "universe.csv",
            str(world),
        )
    transport = HttpEdgarTransport(
        settings.edgar_identity,
        settings.edgar_www_url,
        settings.edgar_data_url,
        settings.edgar_max_rps,
        store=HttpStore.from_settings(settings),
    )
    return EdgarSource(
        EdgarClient(transport),
        tuple(cik10(c) for c in settings.tracked_filers),
        settings.universe_path or settings.universe_dir / UNIVERSE_FILE,
        f"{settings.edgar_www_url} + {settings.edgar_data_url}",
    )


def sources_from_settings(settings: Settings) -> Sources:
    """Build every backend the settings select; real services fail here on missing keys."""
    world = settings.world_dir
    manifest = (
        load_manifest(world) if "demo" in (settings.edgar_source, settings.prices_source) else None
    )
    edgar = edgar_from_settings(settings)

    bars: PriceSource
    if manifest is not None and settings.prices_source == "demo":
        bars = DemoBars(world / "market" / "bars.parquet")
        benchmark = manifest.benchmark_ticker
    else:
        bars = AlpacaBars(
            settings.alpaca_api_key, settings.alpaca_secret_key, settings.alpaca_data_url
        )
        benchmark = settings.benchmark_ticker

    news: NewsSource
    if settings.news_source == "demo":
        news = DemoNews(world / "market" / "news")
    else:
        news = AlphaVantageNews(
            settings.alphavantage_api_key,
            settings.alphavantage_url,
            settings.alphavantage_rpm,
            requests_per_run=settings.alphavantage_rpd,
            # one retry policy: a throttle note or a 429 fails the attempt at once and the
            # Dagster step retries it with backoff (defs/sources/retry.py)
            throttle_attempts=1,
            max_attempts=1,
            store=HttpStore.from_settings(settings),
        )

    return Sources(
        edgar=edgar.client,
        bars=bars,
        news=news,
        universe_path=edgar.universe_path,
        benchmark=benchmark,
        filer_ciks=edgar.filer_ciks,
    )
