"""The planted signal: which documents are followed by drift, how much and how long.

Why from the documents: every planted event is tied to something a point-in-time
pipeline can see — a skilled filer's 13F disclosing a new or larger position, an
opportunistic insider's open-market purchase, a relevant news mention — and starts
*after* that document's known date (the drift accrues over the ``horizon_days``
trading days following it). In a null world the same events are listed with size 0,
so event studies can compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from investor_mimic.demo.filers import ThirteenFFiling
from investor_mimic.demo.insiders import Form4Filing
from investor_mimic.demo.news import RELEVANT


@dataclass(frozen=True)
class PlantSpec:
    strength: float  # total log-return drift over the horizon (news: per unit of sentiment)
    horizon_days: int
    description: str


PLANTS: dict[str, PlantSpec] = {
    "flow_13f": PlantSpec(
        0.06,
        40,
        "each new or increased position a skilled filer discloses drifts up by `strength` "
        "over the `horizon_days` trading days after the filing's known_date",
    ),
    "insider_net_buying": PlantSpec(
        0.035,
        20,
        "each open-market purchase (P) filing by an opportunistic insider drifts up by "
        "`strength` over the `horizon_days` trading days after its known_date",
    ),
    "news_sentiment": PlantSpec(
        0.05,
        5,
        f"each mention with relevance >= {RELEVANT} drifts by `strength` x its ticker "
        "sentiment over the `horizon_days` trading days after its trading_date",
    ),
}

EVENT_COLUMNS = ["ticker", "factor", "known_date", "horizon_days", "size", "source"]


def planted_events(
    thirteenf: list[ThirteenFFiling], form4: list[Form4Filing], mentions: pd.DataFrame, null: bool
) -> pd.DataFrame:
    """One row per planted drift (sizes 0 in a null world)."""
    scale = 0.0 if null else 1.0
    flow, insider, news = PLANTS["flow_13f"], PLANTS["insider_net_buying"], PLANTS["news_sentiment"]
    rows: list[tuple[str, str, object, int, float, str]] = [
        (t, "flow_13f", f.known_date, flow.horizon_days, scale * flow.strength, f.accession)
        for f in thirteenf
        if f.filer.style == "skilled"
        for t in f.adds
    ]
    rows += [
        (
            f.ticker,
            "insider_net_buying",
            f.known_date,
            insider.horizon_days,
            scale * insider.strength,
            f.accession,
        )
        for f in form4
        if f.opportunistic_purchase
    ]
    relevant = mentions[mentions["relevance"] >= RELEVANT]
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    news_frame = pd.DataFrame(
        {
            "ticker": relevant["ticker"].to_numpy(),
            "factor": "news_sentiment",
            "known_date": relevant["trading_date"].to_numpy(),
            "horizon_days": news.horizon_days,
            "size": scale * news.strength * relevant["sentiment"].to_numpy(),
            "source": relevant["id"].to_numpy(),
        }
    )
    out = pd.concat([frame, news_frame], ignore_index=True)
    out["known_date"] = pd.to_datetime(out["known_date"]).astype("datetime64[ns]")
    out["horizon_days"] = out["horizon_days"].astype("int64")
    out["size"] = out["size"].astype("float64")
    return out.sort_values(["known_date", "factor", "ticker", "source"], ignore_index=True)


def drift_matrix(events: pd.DataFrame, days: pd.DatetimeIndex, tickers: list[str]) -> np.ndarray:
    """Daily log-return drift (days x tickers): size/horizon on each of the horizon days
    after the known date, cut at the end of the history."""
    n_days = len(days)
    col = pd.Index(tickers).get_indexer(pd.Index(events["ticker"]))
    if (col < 0).any():
        raise ValueError("planted event for a ticker outside the universe")
    first = days.searchsorted(events["known_date"].to_numpy(), side="right")
    last = np.minimum(first + events["horizon_days"].to_numpy(), n_days)
    daily = events["size"].to_numpy() / events["horizon_days"].to_numpy()
    diff = np.zeros((n_days + 1, len(tickers)))
    keep = first < n_days
    np.add.at(diff, (first[keep], col[keep]), daily[keep])
    np.add.at(diff, (last[keep], col[keep]), -daily[keep])
    return np.cumsum(diff, axis=0)[:n_days]
