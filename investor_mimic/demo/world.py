"""Generate a whole demo world into a folder, or reuse the one already there.

Why a partial folder: the world is written next to ``root`` and moved into place only
when complete (``manifest.json`` last), so an interrupted run never leaves a folder
that ``ensure_world`` would mistake for a finished world.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import trading_days
from investor_mimic.core.frames import INSIDER_TRADES, THIRTEENF_HOLDINGS, coerce
from investor_mimic.demo import form4_docs, thirteenf_docs
from investor_mimic.demo.accessions import AccessionBook
from investor_mimic.demo.edgar_folder import (
    Entity,
    Entry,
    write_archives,
    write_company_tickers,
    write_daily_index,
    write_submissions,
)
from investor_mimic.demo.filers import make_filers, plan_thirteenf
from investor_mimic.demo.insiders import insiders_truth, make_insiders, plan_form4
from investor_mimic.demo.listings import listed_bars, plan_listings
from investor_mimic.demo.manifest import (
    MANIFEST,
    FilerInfo,
    PlantedFactor,
    WorldCounts,
    WorldManifest,
    load_manifest,
)
from investor_mimic.demo.market import simulate_bars
from investor_mimic.demo.news import news_truth, plan_news, write_feeds
from investor_mimic.demo.planting import PLANTS, drift_matrix, planted_events
from investor_mimic.demo.spec import (
    BENCHMARK_TICKER,
    GENERATOR_VERSION,
    WorldSize,
    size_spec,
    stream,
)
from investor_mimic.demo.universe import make_universe


def _price_lookup(bars: pd.DataFrame) -> Callable[[str, date], float]:
    closes = bars.pivot(index="date", columns="ticker", values="close")
    days = closes.index.to_numpy()
    col = {t: i for i, t in enumerate(closes.columns)}
    values = closes.to_numpy()

    def price_at(ticker: str, day: date) -> float:
        i = int(days.searchsorted(np.datetime64(day, "ns"), side="right")) - 1
        if i < 0:
            raise ValueError(
                f"no close for {ticker} on or before {day}: the world starts {days[0]}"
            )
        return float(values[i, col[ticker]])

    return price_at


def _prepare(root: Path) -> Path:
    if root.exists() and any(root.iterdir()) and not (root / MANIFEST).is_file():
        raise FileExistsError(
            f"{root} exists, is not empty and is not a demo world; refusing to overwrite it"
        )
    partial = root.parent / f".{root.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def generate_world(root: Path, size: WorldSize, seed: int, null: bool = False) -> WorldManifest:
    """Write the world of ``(size, seed, null)`` to ``root`` (replacing a world there)."""
    spec = size_spec(size)
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"demo world seed must be a non-negative int, got {seed!r}")
    root = Path(root)
    out = _prepare(root)
    edgar = out / "edgar"

    universe = make_universe(stream(seed, "universe"), spec.n_tickers)
    days = trading_days(spec.start, spec.end)
    master = plan_listings(stream(seed, "listings"), universe, days)
    book = AccessionBook()
    filers = make_filers(stream(seed, "filers"), spec)
    thirteenf = plan_thirteenf(
        stream(seed, "thirteenf"), filers, universe, spec, book, stream(seed, "13f-units")
    )
    insiders = make_insiders(stream(seed, "insiders"), universe)
    form4 = plan_form4(stream(seed, "form4"), insiders, universe, spec, book)
    mentions = plan_news(
        stream(seed, "news"), universe, spec.start, spec.end, spec.news_per_ticker_month
    )

    events = planted_events(thirteenf, form4, mentions, null)
    drift = drift_matrix(events, days, list(universe["ticker"]))
    full_bars = simulate_bars(stream(seed, "market"), universe, days, drift, BENCHMARK_TICKER)
    price_at = _price_lookup(full_bars)  # documents may name a ticker outside its listing
    bars = listed_bars(full_bars, master, BENCHMARK_TICKER)
    del full_bars

    r13 = [thirteenf_docs.render_13f(f, price_at) for f in thirteenf]
    r4 = [form4_docs.render_form4(f, price_at) for f in form4]
    entries = [
        Entry(
            r.filing.filer.cik,
            r.filing.filer.name,
            r.filing.form,
            r.filing.accession,
            r.filing.filing_date,
            r.filing.period,
            r.filing.accepted,
            r.submission,
            {"primary_doc.xml": r.primary_doc, "infotable.xml": r.infotable},
        )
        for r in r13
    ] + [
        Entry(
            r.filing.issuer_cik,
            r.filing.issuer_name,
            "4",
            r.filing.accession,
            r.filing.filing_date,
            r.filing.period,
            r.filing.accepted,
            r.submission,
            {"form4.xml": r.xml},
        )
        for r in r4
    ]
    entities = [Entity(f.cik, f.name, (), "other") for f in filers] + [
        Entity(c, n, (t,), "operating")
        for t, c, n in zip(universe["ticker"], universe["cik"], universe["name"], strict=True)
    ]
    write_archives(edgar, entries)
    write_submissions(edgar, entities, entries)
    write_company_tickers(edgar, entities)
    write_daily_index(edgar, entries)

    master.to_csv(out / "universe.csv", index=False, date_format="%Y-%m-%d")
    (out / "market").mkdir()
    bars.to_parquet(out / "market" / "bars.parquet", index=False)
    n_news = write_feeds(mentions, out / "market" / "news")
    truth = out / "truth"
    truth.mkdir()
    holdings = coerce(
        pd.DataFrame([row for r in r13 for row in thirteenf_docs.truth_rows(r)]), THIRTEENF_HOLDINGS
    )
    holdings.to_parquet(truth / "thirteenf_holdings.parquet", index=False)
    trades = coerce(
        pd.DataFrame([row for r in r4 for row in form4_docs.truth_rows(r)]), INSIDER_TRADES
    )
    trades.to_parquet(truth / "insider_trades.parquet", index=False)
    insiders_truth(insiders).to_parquet(truth / "insiders.parquet", index=False)
    news_truth(mentions).to_parquet(truth / "news_sentiment.parquet", index=False)
    events.to_parquet(truth / "planted_events.parquet", index=False)

    manifest = WorldManifest(
        seed=seed,
        size=size,
        null=null,
        generator_version=GENERATOR_VERSION,
        start=spec.start,
        end=spec.end,
        benchmark_ticker=BENCHMARK_TICKER,
        n_tickers=len(universe),
        filers=[FilerInfo(cik=f.cik, name=f.name, style=f.style) for f in filers],
        planted={
            name: PlantedFactor(
                strength=0.0 if null else p.strength,
                horizon_days=p.horizon_days,
                description=p.description,
            )
            for name, p in sorted(PLANTS.items())
        },
        counts=WorldCounts(
            thirteenf_filings=len(thirteenf),
            thirteenf_amendments=sum(f.amendment_type is not None for f in thirteenf),
            form4_filings=len(form4),
            bars=len(bars),
            news_items=n_news,
        ),
    )
    (out / MANIFEST).write_text(manifest.to_json())
    if root.exists():
        shutil.rmtree(root)
    out.rename(root)
    return manifest


def ensure_world(root: Path, size: WorldSize, seed: int, null: bool = False) -> WorldManifest:
    """The world at ``root`` if it was generated with these inputs by this generator
    version, else a freshly generated one."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        try:
            current = load_manifest(root)
        except ValueError:
            current = None
        if current is not None and (
            current.size,
            current.seed,
            current.null,
            current.generator_version,
        ) == (
            size,
            seed,
            null,
            GENERATOR_VERSION,
        ):
            return current
    return generate_world(root, size, seed, null)
