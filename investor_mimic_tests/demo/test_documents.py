"""The demo world's documents hold every feature the parsers and factors must handle.

Why: value units that follow each filing (with a lagging filer and a late re-filing of
an old period in the other unit), both kinds of 13F amendment, option and
principal-amount rows, every Form 4 code that matters, 10b5-1 plans, all insider roles,
and news after the close — if any of these vanished, the tests downstream would pass
without ever meeting the case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from lxml import etree

from investor_mimic.core.calendar import (
    edgar_business_day,
    effective_trading_days,
    is_early_close,
    is_trading_day,
    next_trading_day,
)

NS_COVER = "{http://www.sec.gov/edgar/thirteenffiler}"
NS_TABLE = "{http://www.sec.gov/edgar/document/thirteenf/informationtable}"


def _doc(world: Path, cik: str, accession: str, name: str) -> etree._Element:
    path = (
        world
        / "edgar"
        / "Archives"
        / "edgar"
        / "data"
        / str(int(cik))
        / accession.replace("-", "")
        / name
    )
    return etree.fromstring(path.read_bytes())


def test_13f_values_follow_each_filing_not_its_period(tiny_world: Path) -> None:
    h = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    filings = h.drop_duplicates("accession")
    new_schema = filings["filed_at"] >= "2023-01-03"
    old_period = filings["period_of_report"] < "2022-12-31"
    # the schema version follows the filing date (X0202 from 2023-01-03)
    assert set(filings.loc[new_schema, "schema_version"]) == {"X0202"}
    assert set(filings.loc[~new_schema, "schema_version"]) == {"X0201"}
    # before the switch everything is in thousands, after it mostly dollars ...
    assert (filings.loc[~new_schema, "value_multiplier"] == 1000).all()
    assert (filings.loc[new_schema, "value_multiplier"] == 1).mean() > 0.8
    # ... but a few filings after 2022-12-31 are still in thousands (a lagging filer)
    lagging = filings[~old_period & (filings["value_multiplier"] == 1000)]
    assert len(lagging) >= 2 and set(lagging["schema_version"]) == {"X0202"}
    assert lagging["filer_cik"].nunique() == 1
    assert pd.Timestamp("2022-12-31") in set(lagging["period_of_report"])
    # ... and a late amendment for an old (2021) period is in dollars
    late = filings[old_period & (filings["value_multiplier"] == 1)]
    assert len(late) >= 1 and set(late["form"]) == {"13F-HR/A"}
    assert (late["period_of_report"].dt.year == 2021).any()
    # the evidence a parser must find: prices for thousands, the schema for dollars
    assert set(filings.loc[filings["value_multiplier"] == 1000, "value_unit_basis"]) == {
        "implied_prices"
    }
    assert set(filings.loc[filings["value_multiplier"] == 1, "value_unit_basis"]) == {
        "schema_version"
    }
    assert filings["value_unit_median_price_usd"].between(5, 2_000).all()
    # every kind of filing states its values in its own unit
    stock = h[(h["share_type"] == "SH") & h["put_call"].isna()]
    bars = pd.read_parquet(tiny_world / "market" / "bars.parquet")
    samples = [
        stock[stock["accession"].isin(kind["accession"])].head(3)
        for kind in (filings[~new_schema], lagging, late, filings[new_schema & ~old_period])
    ]
    for _, row in pd.concat(samples).iterrows():
        table = _doc(tiny_world, row["filer_cik"], row["accession"], "infotable.xml")
        stated = int(
            table.findall(f"{NS_TABLE}infoTable")[row["line"] - 1].findtext(f"{NS_TABLE}value")
        )
        close = bars[(bars["ticker"] == row["ticker"]) & (bars["date"] <= row["period_of_report"])][
            "close"
        ].iloc[-1]
        assert stated == round(row["shares"] * close / row["value_multiplier"])  # units as stated
        assert stated * row["value_multiplier"] == row["value_usd"]


def test_13f_covers_match_their_tables(tiny_world: Path) -> None:
    h = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    for (cik, acc), rows in h.groupby(["filer_cik", "accession"]):
        cover = _doc(tiny_world, str(cik), str(acc), "primary_doc.xml")
        summary = cover.find(f"{NS_COVER}formData/{NS_COVER}summaryPage")
        assert int(summary.findtext(f"{NS_COVER}tableEntryTotal")) == len(rows)
        total = (
            int(summary.findtext(f"{NS_COVER}tableValueTotal")) * rows["value_multiplier"].iloc[0]
        )
        assert total == rows["value_usd"].sum() == rows["cover_value_total_usd"].iloc[0]


def test_every_filer_has_both_amendment_kinds_and_special_rows(tiny_world: Path) -> None:
    h = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    kinds = h.drop_duplicates("accession").groupby("filer_cik")["amendment_type"].apply(set)
    assert all({"RESTATEMENT", "NEW HOLDINGS"} <= k for k in kinds)
    # one of each per filer, plus the planted late re-filing (a RESTATEMENT)
    assert (h.drop_duplicates("accession")["form"] == "13F-HR/A").sum() == 2 * len(kinds) + 1
    for _, amend in h[h["amendment_type"].notna()].drop_duplicates("accession").iterrows():
        original = h[
            (h["filer_cik"] == amend["filer_cik"])
            & (h["period_of_report"] == amend["period_of_report"])
            & (h["form"] == "13F-HR")
        ]
        assert original["filed_at"].iloc[0] < amend["filed_at"]  # filed later
        cover = _doc(tiny_world, amend["filer_cik"], amend["accession"], "primary_doc.xml")
        assert cover.findtext(f".//{NS_COVER}amendmentType") == amend["amendment_type"]
        assert cover.findtext(f".//{NS_COVER}isAmendment") == "true"
    assert set(h["put_call"].dropna()) == {"Put", "Call"}
    prn = h[h["share_type"] == "PRN"]
    assert len(prn) >= 2 and prn["ticker"].isna().all()
    assert (h.loc[h["put_call"].notna(), "ticker"].notna()).all()


def test_form4s_cover_codes_roles_and_10b5_1_plans(tiny_world: Path) -> None:
    t = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    assert {"P", "S", "A", "M"} <= set(t["code"])
    assert (t.loc[t["code"] == "A", "price"] == 0).all()
    exercises = t[t["code"] == "M"]
    assert exercises["is_derivative"].any() and (~exercises["is_derivative"]).any()
    assert set(exercises.groupby("accession")["is_derivative"].apply(frozenset)) == {
        frozenset({True, False})
    }
    assert t["is_director"].any() and t["is_officer"].any() and t["is_ten_percent_owner"].any()
    assert t.loc[t["is_officer"], "officer_title"].notna().all()
    lag = (t["filing_date"] - t["transaction_date"]).dt.days
    assert lag.between(0, 6).all()  # 0–2 business days
    assert (t["filed_at"].dt.hour >= 16).mean() > 0.15
    plan = t[t["is_10b5_1"]].drop_duplicates("accession")
    assert len(plan) >= 5
    for _, row in plan.head(5).iterrows():
        doc = _doc(tiny_world, row["issuer_cik"], row["accession"], "form4.xml")
        assert doc.findtext("aff10b5One") in ("true", "1")
        assert "Rule 10b5-1" in doc.findtext("footnotes/footnote")
    spellings = set()
    for _, row in t.drop_duplicates("accession").head(60).iterrows():
        doc = _doc(tiny_world, row["issuer_cik"], row["accession"], "form4.xml")
        assert doc.findtext("schemaVersion") == "X0508"
        spellings.add(doc.findtext("aff10b5One"))
    assert {"true", "false"} & spellings and {"1", "0"} & spellings


def test_routine_insiders_trade_in_the_same_month_every_year(tiny_world: Path) -> None:
    t = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    market = t[t["code"].isin(["P", "S"]) & ~t["is_derivative"]]
    months = market.groupby("owner_cik").agg(
        years=("transaction_date", lambda d: d.dt.year.nunique()),
        months=("transaction_date", lambda d: d.dt.month.nunique()),
    )
    assert ((months["years"] == 3) & (months["months"] == 1)).sum() >= 5


def test_news_feed_shape_and_after_close_items(tiny_world: Path) -> None:
    items = [
        i
        for p in sorted((tiny_world / "market" / "news").glob("*.json"))
        for i in json.loads(p.read_text())["feed"]
    ]
    urls = [i["url"] for i in items]
    assert len(urls) == len(set(urls))
    for i in items[:200]:
        assert set(i) >= {
            "title",
            "url",
            "time_published",
            "source",
            "overall_sentiment_score",
            "ticker_sentiment",
        }
        for ts in i["ticker_sentiment"]:
            assert (
                0 <= float(ts["relevance_score"]) <= 1
                and -1 <= float(ts["ticker_sentiment_score"]) <= 1
            )
    published = pd.to_datetime(
        pd.Series([i["time_published"] for i in items]), format="%Y%m%dT%H%M%S"
    )
    assert (published.dt.hour >= 16).mean() > 0.2 and (published.dt.weekday >= 5).mean() > 0.2
    truth = pd.read_parquet(tiny_world / "truth" / "news_sentiment.parquet")
    assert len(truth) == sum(len(i["ticker_sentiment"]) for i in items)
    assert (truth["trading_date"] == effective_trading_days(truth["published_at"])).all()
    late = truth[truth["published_at"].dt.hour >= 16]
    assert (late["trading_date"] > late["published_at"].dt.normalize()).all()


def test_news_after_an_early_close_counts_for_the_next_session(tiny_world: Path) -> None:
    truth = pd.read_parquet(tiny_world / "truth" / "news_sentiment.parquet")
    day = truth["published_at"].dt.date
    hour = truth["published_at"].dt.hour
    early = day.map(is_early_close)
    after = truth[early & (hour >= 13) & (hour < 16)]
    before = truth[early & (hour < 13)]
    assert len(after) > 0 and len(before) > 0  # the world holds both kinds
    expected = day[after.index].map(next_trading_day)
    assert (after["trading_date"].dt.date == expected).all()
    assert (before["trading_date"].dt.date == day[before.index]).all()


def test_trades_fall_on_sessions_and_filings_on_edgar_days(tiny_world: Path) -> None:
    trades = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    assert trades["transaction_date"].dt.date.map(is_trading_day).all()
    assert trades["filing_date"].dt.date.map(edgar_business_day).all()
    assert trades["known_date"].dt.date.map(is_trading_day).all()
    holdings = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    assert holdings["known_date"].dt.date.map(is_trading_day).all()
