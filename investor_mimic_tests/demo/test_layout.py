"""The demo world's folder is laid out as the source layer and the loopback EDGAR expect.

Why: a real HTTP client is pointed at ``edgar/``; every path it can discover (daily
index, submissions JSON) must exist and agree with the documents and the truth tables.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from investor_mimic.core.calendar import trading_days
from investor_mimic.core.frames import FACTOR_NAMES, UNIVERSE, schema_problems
from investor_mimic.core.security_master import listed_mask
from investor_mimic.demo import (
    ensure_world,
    generate_world,
    load_manifest,
)
from investor_mimic.sources.universe import cusip_check_digit, load_universe

ARCHIVES = ("edgar", "Archives", "edgar", "data")


def test_cusip_check_digit_matches_real_cusips() -> None:
    # public CUSIPs: Amazon, CoStar, Visa (from the real 13F in ../shared/fixtures)
    for cusip in ("023135106", "22160N109", "92826C839", "91879Q109"):
        assert cusip_check_digit(cusip[:8]) == cusip[8]


def test_universe_has_valid_distinct_identifiers(tiny_world: Path) -> None:
    spans = load_universe(tiny_world / "universe.csv")
    assert schema_problems(spans, UNIVERSE) == []
    # one row per ticker and listing span: two IPOs, two delistings, one sector change
    assert spans["valid_from"].notna().sum() == 3 and spans["valid_to"].notna().sum() == 3
    moved = spans[spans["ticker"].duplicated(keep=False)]
    assert len(moved) == 2 and moved["sector"].nunique() == 2
    universe = spans.drop_duplicates("ticker")
    assert 35 <= len(universe) <= 45
    assert universe["cik"].is_unique and universe["cusip"].is_unique
    assert all(len(c) == 9 and cusip_check_digit(c[:8]) == c[8] for c in universe["cusip"])
    assert all(re.fullmatch(r"\d{10}", c) for c in universe["cik"])
    assert universe["sector"].nunique() == 10


def test_manifest_describes_the_world(tiny_world: Path) -> None:
    m = load_manifest(tiny_world)
    assert (m.size, m.seed, m.null) == ("tiny", 3, False)
    assert str(m.start) == "2021-01-04" and str(m.end) == "2023-12-29"
    assert len(m.filers) == 4 and {"skilled", "index", "noise"} <= {f.style for f in m.filers}
    assert (
        set(m.planted) == {"flow_13f", "insider_net_buying", "news_sentiment"} <= set(FACTOR_NAMES)
    )
    assert all(p.strength > 0 and p.horizon_days > 0 for p in m.planted.values())
    bars = pd.read_parquet(tiny_world / "market" / "bars.parquet")
    holdings = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    trades = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    assert m.counts.bars == len(bars)
    assert m.counts.thirteenf_filings == holdings["accession"].nunique()
    assert (
        m.counts.thirteenf_amendments
        == holdings.loc[holdings["form"] == "13F-HR/A", "accession"].nunique()
    )
    assert m.counts.form4_filings == trades["accession"].nunique()
    feeds = [json.loads(p.read_text()) for p in (tiny_world / "market" / "news").glob("*.json")]
    assert (
        m.counts.news_items
        == sum(int(f["items"]) for f in feeds)
        == sum(len(f["feed"]) for f in feeds)
    )


def _entries(world: Path) -> dict[str, dict[str, str]]:
    """accession -> fields, from every submissions JSON."""
    out: dict[str, dict[str, str]] = {}
    for path in (world / "edgar" / "submissions").glob("CIK*.json"):
        body = json.loads(path.read_text())
        assert path.name == f"CIK{int(body['cik']):010d}.json"
        recent = body["filings"]["recent"]
        for i, acc in enumerate(recent["accessionNumber"]):
            out[acc] = {k: v[i] for k, v in recent.items()} | {"cik": body["cik"]}
    return out


def test_submissions_json_agrees_with_the_documents(tiny_world: Path) -> None:
    entries = _entries(tiny_world)
    holdings = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    trades = pd.read_parquet(tiny_world / "truth" / "insider_trades.parquet")
    assert set(entries) == set(holdings["accession"]) | set(trades["accession"])
    universe = pd.read_csv(tiny_world / "universe.csv", dtype=str)
    for cik in universe["cik"]:
        assert (tiny_world / "edgar" / "submissions" / f"CIK{cik}.json").is_file()
    filed = {
        **dict(zip(holdings["accession"], holdings["filed_at"], strict=False)),
        **dict(zip(trades["accession"], trades["filed_at"], strict=False)),
    }
    for acc, e in entries.items():
        folder = tiny_world.joinpath(*ARCHIVES, e["cik"])
        text = (folder / f"{acc}.txt").read_text()
        assert f"ACCESSION NUMBER:\t\t{acc}" in text
        assert f"CONFORMED SUBMISSION TYPE:\t{e['form']}\n" in text
        assert f"FILED AS OF DATE:\t\t{e['filingDate'].replace('-', '')}" in text
        accepted = datetime.strptime(e["acceptanceDateTime"], "%Y-%m-%dT%H:%M:%S.000Z")
        assert accepted == filed[acc].to_pydatetime()
        assert f"<ACCEPTANCE-DATETIME>{accepted:%Y%m%d%H%M%S}" in text
        docs = folder / acc.replace("-", "")
        names = (
            ["primary_doc.xml", "infotable.xml"] if e["form"].startswith("13F") else ["form4.xml"]
        )
        assert e["primaryDocument"] == names[0]
        for name in names:
            doc = (docs / name).read_text()
            assert f"<XML>\n{doc}</XML>" in text  # the same XML as inside the full submission
            etree.fromstring(doc.encode())  # well-formed


def test_daily_index_lists_every_filing_on_its_filing_date(tiny_world: Path) -> None:
    entries = _entries(tiny_world)
    listed: dict[str, tuple[str, str, str]] = {}
    for idx in tiny_world.joinpath("edgar", "Archives", "edgar", "daily-index").rglob("form.*.idx"):
        day = idx.name[5:13]
        assert (
            idx.parent.name == f"QTR{(int(day[4:6]) - 1) // 3 + 1}"
            and idx.parent.parent.name == day[:4]
        )
        lines = idx.read_text().splitlines()
        rule = next(i for i, line in enumerate(lines) if line.startswith("-----"))
        assert lines[rule - 1].startswith("Form Type   Company Name")
        for line in lines[rule + 1 :]:
            form, cik, date_filed, path = (
                line[:12].strip(),
                line[74:86].strip(),
                line[86:98].strip(),
                line[98:],
            )
            assert date_filed == day
            listed[path.rsplit("/", 1)[1].removesuffix(".txt")] = (form, cik, date_filed)
            assert tiny_world.joinpath("edgar", "Archives", *path.split("/")).is_file()
    assert set(listed) == set(entries)
    for acc, (form, cik, day) in listed.items():
        e = entries[acc]
        assert (form, cik, day) == (e["form"], e["cik"], e["filingDate"].replace("-", ""))


def test_bars_cover_every_trading_day_and_are_sane(tiny_world: Path) -> None:
    bars = pd.read_parquet(tiny_world / "market" / "bars.parquet")
    master = load_universe(tiny_world / "universe.csv")
    days = trading_days(pd.Timestamp("2021-01-04").date(), pd.Timestamp("2023-12-29").date())
    tickers = sorted(set(master["ticker"]))
    assert set(bars["ticker"]) == set(tickers) | {"MKT"}
    # a bar on every session a ticker is listed (IPOs start, delistings end with a final bar)
    listed = listed_mask(master, days, tickers)
    assert len(bars) == len(days) + int(listed.sum())
    for j, t in enumerate(tickers):
        own = pd.DatetimeIndex(bars.loc[bars["ticker"] == t, "date"].sort_values())
        assert own.equals(days[listed[:, j]]), t
    assert bars.loc[bars["ticker"] == "MKT", "date"].sort_values().tolist() == list(days)
    assert (bars[["open", "high", "low", "close", "volume"]] > 0).all().all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    stocks = bars[bars["ticker"] != "MKT"].sort_values(["ticker", "date"])
    vol = stocks.groupby("ticker")["close"].apply(lambda c: c.pct_change().std()).median()
    assert 0.015 <= vol <= 0.025
    assert stocks.groupby("ticker")["volume"].std().gt(0).all()


def test_ensure_world_reuses_a_matching_world_and_regenerates_otherwise(tmp_path: Path) -> None:
    root = tmp_path / "w"
    generate_world(root, "tiny", 5)
    marker = root / "market" / "bars.parquet"
    stamp = marker.stat().st_mtime_ns
    assert ensure_world(root, "tiny", 5).seed == 5
    assert marker.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert ensure_world(root, "tiny", 5, null=True).null is True
    assert load_manifest(root).null is True


def test_bad_inputs_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size 'huge'"):
        generate_world(tmp_path / "x", "huge", 1)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match=r"manifest\.json is missing"):
        load_manifest(tmp_path)
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a demo world"):
        generate_world(tmp_path, "tiny", 1)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
