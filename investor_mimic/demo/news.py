"""News items with per-ticker relevance and sentiment, shaped like Alpha Vantage's feed.

Why a primary ticker: most articles are about one company (high relevance) and mention
a few others in passing (low relevance); only the sentiment of *relevant* mentions
(relevance >= ``RELEVANT``) carries the planted drift. Items are published around the
clock, weekends included, so the after-close rule matters.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from investor_mimic.core.calendar import effective_trading_days
from investor_mimic.core.frames import NEWS_SENTIMENT, coerce

RELEVANT = 0.5
_SOURCES = (
    ("Benzinga", "www.benzinga.com"),
    ("Reuters", "www.reuters.com"),
    ("Motley Fool", "www.fool.com"),
    ("Zacks Commentary", "www.zacks.com"),
    ("GlobeNewswire", "www.globenewswire.com"),
    ("MarketWatch", "www.marketwatch.com"),
)
_PHRASES = {
    -2: ("cuts full-year guidance", "shares slide after earnings miss", "faces regulator probe"),
    -1: ("downgraded to underperform", "warns on margins", "loses key contract"),
    0: ("to present at investor conference", "announces dividend", "files quarterly report"),
    1: ("upgraded to outperform", "wins new contract", "expands buyback"),
    2: ("beats estimates and raises outlook", "surges on record quarter", "announces breakthrough"),
}


def _bucket(x: np.ndarray) -> np.ndarray:
    return np.select([x <= -0.35, x <= -0.15, x < 0.15, x < 0.35], [-2, -1, 0, 1], 2)


def _label(x: float) -> str:
    if x <= -0.35:
        return "Bearish"
    if x <= -0.15:
        return "Somewhat-Bearish"
    if x < 0.15:
        return "Neutral"
    return "Somewhat-Bullish" if x < 0.35 else "Bullish"


def plan_news(
    rng: np.random.Generator,
    universe: pd.DataFrame,
    start: date,
    end: date,
    per_ticker_month: float,
) -> pd.DataFrame:
    """One row per (item, ticker) mention: the ``frames.NEWS_SENTIMENT`` columns plus
    ``item`` (number), ``primary`` and ``overall`` (the item's overall sentiment)."""
    tickers = universe["ticker"].to_numpy()
    names = dict(zip(universe["ticker"], universe["name"], strict=True))
    t0 = datetime.combine(start, time(0))
    span = (datetime.combine(end, time(0)) - t0).total_seconds()
    months = span / (86400 * 30.44)
    n = int(rng.poisson(per_ticker_month * len(tickers) * months))
    published = pd.to_datetime(t0) + pd.to_timedelta(
        np.sort(rng.uniform(0, span, n)).astype("int64"), unit="s"
    )
    primary = rng.choice(tickers, size=n)
    n_extra = rng.choice([0, 1, 2], size=n, p=[0.55, 0.35, 0.10])
    item = np.concatenate([np.arange(n), np.repeat(np.arange(n), n_extra)])
    ticker = np.concatenate([primary, rng.choice(tickers, size=int(n_extra.sum()))])
    is_primary = np.arange(item.size) < n
    relevance = np.where(
        is_primary, rng.uniform(0.25, 1.0, item.size), rng.uniform(0.02, 0.45, item.size)
    )
    sentiment = np.clip(rng.normal(0.08, 0.22, item.size), -1, 1)
    overall = np.clip(0.8 * sentiment[:n] + rng.normal(0, 0.05, n), -1, 1)
    src = rng.integers(len(_SOURCES), size=n)
    phrase = rng.integers(3, size=n)
    mentions = pd.DataFrame(
        {
            "item": item,
            "ticker": ticker,
            "relevance": np.round(relevance, 6),
            "sentiment": np.round(sentiment, 6),
            "primary": is_primary,
        }
    )
    mentions = mentions.drop_duplicates(["item", "ticker"], keep="first")
    buckets = _bucket(overall)
    items = pd.DataFrame(
        {
            "item": np.arange(n),
            "published_at": published,
            "title": [
                f"{names[t]} {_PHRASES[int(b)][int(p)]}"
                for t, b, p in zip(primary, buckets, phrase, strict=True)
            ],
            "source": [_SOURCES[int(s)][0] for s in src],
            "domain": [_SOURCES[int(s)][1] for s in src],
            "overall": np.round(overall, 6),
            "primary_ticker": primary,
        }
    )
    items["id"] = [
        f"https://{dom}/news/{ts:%Y/%m/%d}/{tk.lower()}-{i:07d}"
        for dom, ts, tk, i in zip(
            items["domain"],
            items["published_at"],
            items["primary_ticker"],
            items["item"],
            strict=True,
        )
    ]
    out = mentions.merge(items, on="item", how="left").sort_values(
        ["item", "primary"], ascending=[True, False]
    )
    out["trading_date"] = effective_trading_days(out["published_at"]).to_numpy()
    return out.reset_index(drop=True)


def news_truth(mentions: pd.DataFrame) -> pd.DataFrame:
    return coerce(mentions, NEWS_SENTIMENT).sort_values(
        ["published_at", "id", "ticker"], ignore_index=True
    )


def write_feeds(mentions: pd.DataFrame, folder: Path) -> int:
    """``{YYYY-MM}.json`` feeds; returns the number of items written."""
    folder.mkdir(parents=True, exist_ok=True)
    feed: dict[str, list[dict[str, object]]] = {}
    item_mentions: list[dict[str, str]] = []
    last_item = -1
    cols = [
        "item",
        "ticker",
        "relevance",
        "sentiment",
        "published_at",
        "title",
        "id",
        "source",
        "domain",
        "overall",
    ]
    for item, ticker, rel, sent, ts, title, url, source, domain, overall in zip(
        *(mentions[c].tolist() for c in cols), strict=True
    ):
        if item != last_item:
            last_item = item
            item_mentions = []
            feed.setdefault(f"{ts:%Y-%m}", []).append(
                {
                    "title": title,
                    "url": url,
                    "time_published": f"{ts:%Y%m%dT%H%M%S}",
                    "authors": [],
                    "summary": title + ".",
                    "source": source,
                    "source_domain": domain,
                    "overall_sentiment_score": overall,
                    "overall_sentiment_label": _label(overall),
                    "ticker_sentiment": item_mentions,
                }
            )
        item_mentions.append(
            {
                "ticker": ticker,
                "relevance_score": f"{rel:.6f}",
                "ticker_sentiment_score": f"{sent:.6f}",
                "ticker_sentiment_label": _label(sent),
            }
        )
    for month, items in feed.items():
        body = {"items": str(len(items)), "sentiment_score_definition": _DEFINITION, "feed": items}
        (folder / f"{month}.json").write_text(json.dumps(body, sort_keys=True, indent=1))
    return sum(len(v) for v in feed.values())


_DEFINITION = (
    "x <= -0.35: Bearish; -0.35 < x <= -0.15: Somewhat-Bearish; -0.15 < x < 0.15: Neutral; "
    "0.15 <= x < 0.35: Somewhat_Bullish; x >= 0.35: Bullish"
)
