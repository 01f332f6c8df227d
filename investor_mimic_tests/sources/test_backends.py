"""Settings → backends, and the demo backends end to end against the tiny world's truth.

The demo world writes, next to its EDGAR folder and market files, the frames it meant
to publish (``truth/*.parquet``); fetching and parsing must give them back exactly,
through the folder and through real HTTP alike.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from investor_mimic.core import frames
from investor_mimic.core.calendar import trading_days
from investor_mimic.settings import Settings
from investor_mimic.sources.alpaca_bars import AlpacaBars, AlpacaBarsError, DemoBars
from investor_mimic.sources.alpha_vantage import AlphaVantageError, AlphaVantageNews, DemoNews
from investor_mimic.sources.backends import Sources, sources_from_settings
from investor_mimic.sources.edgar import (
    EdgarClient,
    EdgarError,
    FolderEdgarTransport,
    HttpEdgarTransport,
    edgar_business_day,
    insider_trades,
    thirteenf_holdings,
)
from investor_mimic.sources.universe import load_universe
from investor_mimic_tests.helpers.loopback import LoopbackServer


def settings(data_dir: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, world_size="tiny", world_seed=3, **kw)


@pytest.fixture(scope="module")
def demo(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Sources]:
    """Sources built from settings whose world_dir is the session's tiny world."""
    data_dir = tmp_path_factory.mktemp("data")
    (data_dir / "worlds").mkdir()
    (data_dir / "worlds" / "tiny-3").symlink_to(tiny_world, target_is_directory=True)
    s = settings(data_dir)
    return s, sources_from_settings(s)


def truth(world: Path, name: str, spec: frames.FrameSpec) -> pd.DataFrame:
    return frames.coerce(pd.read_parquet(world / "truth" / f"{name}.parquet"), spec)


def same(got: pd.DataFrame, want: pd.DataFrame, key: list[str]) -> None:
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    )


def test_demo_settings_select_the_folder_backends(
    demo: tuple[Settings, Sources], tiny_world: Path
) -> None:
    _, src = demo
    assert isinstance(src.edgar.transport, FolderEdgarTransport)
    assert isinstance(src.bars, DemoBars) and isinstance(src.news, DemoNews)
    assert src.benchmark == "MKT"  # from the manifest, not the SPY default
    assert len(src.filer_ciks) == 4 and all(len(c) == 10 for c in src.filer_ciks)
    universe = load_universe(src.universe_path)
    assert src.benchmark in set(
        src.bars.bars([src.benchmark], date(2021, 1, 4), date(2021, 1, 8))["ticker"]
    )
    assert len(universe) > 10


def test_thirteenf_holdings_give_back_the_worlds_filings(
    demo: tuple[Settings, Sources], tiny_world: Path
) -> None:
    _, src = demo
    universe = load_universe(src.universe_path)
    cusips = dict(zip(universe["cusip"], universe["ticker"], strict=True))
    want_all = truth(tiny_world, "thirteenf_holdings", frames.THIRTEENF_HOLDINGS)
    amended = want_all[want_all["form"] == "13F-HR/A"].iloc[0]
    filer, period = amended["filer_cik"], amended["period_of_report"].date()
    want = want_all[
        (want_all["filer_cik"] == filer) & (want_all["period_of_report"] == pd.Timestamp(period))
    ]
    got = thirteenf_holdings(src.edgar, filer, period, cusips)
    assert set(got["form"]) == {"13F-HR", "13F-HR/A"}
    same(got, want, ["accession", "line"])
    with LoopbackServer(tiny_world / "edgar") as server:
        over_http = EdgarClient(HttpEdgarTransport("T t@example.com", server.url, server.url, 1000))
        same(thirteenf_holdings(over_http, filer, period, cusips), want, ["accession", "line"])


def test_insider_trades_give_back_a_month_of_the_worlds_form4s(
    demo: tuple[Settings, Sources], tiny_world: Path
) -> None:
    _, src = demo
    universe = load_universe(src.universe_path)
    issuers = dict(zip(universe["cik"], universe["ticker"], strict=True))
    days = [d for d in pd.date_range("2022-03-01", "2022-03-31") if edgar_business_day(d.date())]
    got = pd.concat([insider_trades(src.edgar, d.date(), issuers) for d in days], ignore_index=True)
    want = truth(tiny_world, "insider_trades", frames.INSIDER_TRADES)
    want = want[want["accession"].isin(set(got["accession"]))]
    assert len(got) > 0
    same(frames.coerce(got, frames.INSIDER_TRADES), want, ["accession", "line"])


def test_news_gives_back_the_worlds_items_by_trading_day(
    demo: tuple[Settings, Sources], tiny_world: Path
) -> None:
    _, src = demo
    tickers = list(load_universe(src.universe_path)["ticker"])
    start, end = date(2022, 2, 28), date(2022, 3, 4)  # spans a month boundary
    got = src.news.news(tickers, start, end)
    want = truth(tiny_world, "news_sentiment", frames.NEWS_SENTIMENT)
    want = want[want["trading_date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    assert len(got) > 0
    same(got, want, ["id", "ticker"])
    assert set(got["trading_date"]) <= set(trading_days(start, end))


def test_real_sources_need_their_settings(tmp_path: Path) -> None:
    real: dict[str, Any] = {
        "edgar_source": "sec",
        "edgar_identity": "A a@b.co",
        "universe_path": tmp_path / "u.csv",
        "tracked_filers": ["1894188"],
        "prices_source": "alpaca",
        "alpaca_api_key": SecretStr("k"),
        "alpaca_secret_key": SecretStr("s"),
        "news_source": "alphavantage",
        "alphavantage_api_key": SecretStr("av"),
    }
    src = sources_from_settings(settings(tmp_path, **real))  # no demo world needed
    assert isinstance(src.edgar.transport, HttpEdgarTransport)
    assert isinstance(src.bars, AlpacaBars) and isinstance(src.news, AlphaVantageNews)
    assert src.filer_ciks == ("0001894188",) and src.benchmark == "SPY"
    assert src.universe_path == tmp_path / "u.csv"
    # without a CSV of one's own: the universe `investor-mimic universe build` writes
    built = sources_from_settings(
        settings(tmp_path, **{k: v for k, v in real.items() if k != "universe_path"})
    )
    assert built.universe_path == tmp_path / "universe" / "sec" / "universe.csv"
    for missing, error, message in [
        ("edgar_identity", EdgarError, "IM_EDGAR_IDENTITY"),
        ("alpaca_secret_key", AlpacaBarsError, "IM_ALPACA_SECRET_KEY"),
        ("alphavantage_api_key", AlphaVantageError, "IM_ALPHAVANTAGE_API_KEY"),
    ]:
        without = {k: v for k, v in real.items() if k != missing}
        with pytest.raises(error, match=message):
            sources_from_settings(settings(tmp_path, **without))


def test_demo_settings_without_a_world_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no demo world"):
        sources_from_settings(settings(tmp_path))
