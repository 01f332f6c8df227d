"""Building the universe from SEC data: company_tickers.json + the filers' 13F rows.

Offline: a loopback server plays www.sec.gov and data.sec.gov, serving the real LTS One
13F-HR in ../shared, a submissions list for it, and company_tickers.json entries of the
companies it holds; the demo world's EDGAR folder is a second, complete source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from investor_mimic.cli import main
from investor_mimic.settings import Settings, get_settings
from investor_mimic.sources.backends import edgar_from_settings
from investor_mimic.sources.edgar import EdgarClient, FolderEdgarTransport, HttpEdgarTransport
from investor_mimic.sources.http import HttpStore
from investor_mimic.sources.universe import (
    UniverseError,
    build_universe,
    load_universe,
    match_cusips,
    name_key,
    read_build,
    sic_sector,
    write_build,
)
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

LTS_ONE = "0001894188"
ACCESSION = "0001894188-23-000007"
FILING = "13F-HR_0001894188-23-000007_full-submission.txt"
IDENTITY = "Test Agent test@example.com"

# company_tickers.json entries (cik, ticker, title) as EDGAR spells the names: mixed case,
# punctuation, legal forms that differ from the 13F's nameOfIssuer
COMPANIES = [
    (1018724, "AMZN", "AMAZON COM INC"),
    (789019, "MSFT", "MICROSOFT CORP"),
    (277948, "CSX", "CSX CORP"),
    (49071, "HUM", "HUMANA INC"),
    (1571949, "ICE", "Intercontinental Exchange, Inc."),
    (896878, "INTU", "INTUIT INC."),
    (51253, "IFF", "INTERNATIONAL FLAVORS & FRAGRANCES INC"),
    (1388658, "IRTC", "iRhythm Technologies, Inc."),
    (89800, "SHW", "SHERWIN WILLIAMS CO"),
    (812011, "MTN", "VAIL RESORTS INC"),
    (1403161, "V", "VISA INC."),
    (1057352, "CSGP", "COSTAR GROUP INC"),
    (1352010, "EPAM", "EPAM Systems, Inc."),  # the 13F says "EPAM SYS INC"
    (1061736, "FMX", "MEXICAN ECONOMIC DEVELOPMENT INC"),  # the 13F: FOMENTO ECONOMICO …
    (1652044, "GOOGL", "Alphabet Inc."),
    (1652044, "GOOG", "Alphabet Inc."),
]
SIC = {"0001018724": "5961", "0000789019": "7372", "0000277948": "4011", "0000089800": "2851"}


def company_tickers(rows: list[tuple[int, str, str]] = COMPANIES) -> dict[str, Any]:
    return {str(i): {"cik_str": c, "ticker": t, "title": n} for i, (c, t, n) in enumerate(rows)}


def submissions(cik: str, name: str, filings: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    keys = ("accessionNumber", "filingDate", "reportDate", "form")
    recent: dict[str, list[str]] = {k: [f[i] for f in filings] for i, k in enumerate(keys)}
    recent["acceptanceDateTime"] = [f"{f[1]}T09:38:54.000Z" for f in filings]
    body: dict[str, Any] = {"cik": str(int(cik)), "name": name}
    body["filings"] = {"recent": recent, "files": []}
    if cik in SIC:
        body["sic"] = SIC[cik]
    return body


def sec_server(edgar_fixtures: Path) -> LoopbackServer:
    server = LoopbackServer()
    server.route("/files/company_tickers.json", lambda r: Answer(200, company_tickers()))
    server.route(
        f"/submissions/CIK{LTS_ONE}.json",
        lambda r: Answer(
            200,
            submissions(
                LTS_ONE,
                "LTS One Management LP",
                [(ACCESSION, "2023-11-14", "2023-09-30", "13F-HR")],
            ),
        ),
    )
    for cik, _, name in COMPANIES:
        c10 = f"{cik:010d}"
        body = submissions(c10, name, [])
        server.route(f"/submissions/CIK{c10}.json", lambda r, body=body: Answer(200, body))
    text = (edgar_fixtures / FILING).read_bytes()
    server.route(
        f"/Archives/edgar/data/{int(LTS_ONE)}/{ACCESSION}.txt", lambda r: Answer(200, text)
    )
    return server


def holdings(rows: list[tuple[str, str, str, str, str | None, str]]) -> pd.DataFrame:
    cols = ["cusip", "issuer", "title_of_class", "share_type", "put_call", "filer_cik"]
    return pd.DataFrame(rows, columns=cols)


def tickers_frame(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"{c:010d}", t, n) for c, t, n in rows], columns=["cik", "ticker", "title"]
    ).astype("string")


def test_names_compare_without_punctuation_case_or_legal_form() -> None:
    assert name_key("Amazon.com, Inc.") == name_key("AMAZON COM INC") == "AMAZON COM"
    assert name_key("BERKSHIRE HATHAWAY INC DEL") == name_key("Berkshire Hathaway Inc")
    assert name_key("The Walt Disney Company") == "WALT DISNEY"
    assert name_key("JPMORGAN CHASE & CO") == "JPMORGAN CHASE"


def test_sic_codes_give_the_sec_division() -> None:
    assert sic_sector("3571") == "Manufacturing"
    assert sic_sector("7372") == "Services"
    assert sic_sector("6022") == "Finance, Insurance and Real Estate"
    assert sic_sector(None) == "Unknown" and sic_sector("") == "Unknown"


def test_every_doubtful_cusip_is_reported_with_its_reason_never_guessed() -> None:
    companies = tickers_frame(
        [
            (320193, "AAPL", "Apple Inc."),
            (1652044, "GOOGL", "Alphabet Inc."),
            (1652044, "GOOG", "Alphabet Inc."),
            (1000001, "ABCX", "ABC Holdings Corp"),
            (1000002, "ABCY", "ABC HOLDINGS LTD"),
            (1000003, "KO", "COCA COLA CO"),
            (1571949, "ICE", "Intercontinental Exchange, Inc."),
            (1000004, "IAC", "INTERCONTINENTAL AIRLINES CORP"),
            (1000005, "INTX", "INTERNATIONAL EXCHANGE HOLDINGS CORP"),
            (1000006, "INTY", "INTERNATIONAL EXCHANGE HOLDINGS GROUP"),
        ]
    )
    rows = holdings(
        [
            ("037833100", "APPLE INC", "COM", "SH", None, "1"),
            ("037833100", "Apple Inc.", "COM", "SH", None, "2"),
            ("02079K305", "ALPHABET INC", "CAP STK CL A", "SH", None, "1"),
            ("000000018", "ABC HOLDINGS", "COM", "SH", None, "1"),  # Corp or Ltd?
            ("191216100", "COCA COLA CO", "COM", "SH", None, "1"),
            ("191216AB6", "COCA COLA CO", "NOTE 1.5% 3/30", "PRN", None, "1"),
            ("19121610A", "COCA COLA CO", "COM", "SH", None, "2"),  # bad check digit
            ("191216118", "COCA COLA CO", "PFD", "SH", None, "1"),
            ("45866F104", "INTERCONTINENTAL EXCHANGE IN", "COM", "SH", None, "1"),
            ("459999991", "INTERNATIONAL EXCHANGE HOLDI", "COM", "SH", None, "1"),
            ("88160R101", "TESLA INC", "COM", "SH", "Call", "1"),
            ("594918104", "MICROSOFT CORP", "COM", "SH", None, "1"),
            ("111111118", "APPLE INC", "COM", "SH", None, "1"),  # 2nd CUSIP for AAPL
            ("222222226", "COCA COLA CO", "COM", "SH", None, "1"),
            ("222222226", "PEPSICO INC", "COM", "SH", None, "2"),
        ]
    )
    mapped, unmapped = match_cusips(rows, companies)
    assert mapped[["cusip", "ticker", "method"]].values.tolist() == [
        ["45866F104", "ICE", "name start (cut short)"],
        ["191216100", "KO", "name"],
    ]
    reasons = dict(zip(unmapped["cusip"], unmapped["reason"], strict=True))
    assert set(reasons) == set(rows["cusip"]) - {"45866F104", "191216100"}
    assert reasons["037833100"].startswith("ticker AAPL is also claimed by CUSIP 111111118")
    assert reasons["111111118"].startswith("ticker AAPL is also claimed by CUSIP 037833100")
    assert "several tickers (GOOGL, GOOG)" in reasons["02079K305"]
    assert reasons["000000018"].startswith("name matches several companies: ABC Holdings Corp")
    assert reasons["191216AB6"] == "no share position, only PRN rows"
    assert reasons["19121610A"] == "invalid CUSIP (check digit)"
    assert reasons["191216118"] == "not common equity (title of class PFD)"
    assert reasons["222222226"] == "filers name it differently: COCA COLA / PEPSICO"
    assert reasons["459999991"].startswith("name matches several companies")
    assert reasons["88160R101"] == "no share position, only Call/SH rows"
    assert reasons["594918104"] == "no SEC company named like 'MICROSOFT CORP'"


def test_a_word_for_word_name_wins_over_a_looser_match() -> None:
    companies = tickers_frame([(1, "ABCX", "ABC Holdings Corp"), (2, "ABCY", "ABC HOLDINGS LTD")])
    mapped, unmapped = match_cusips(
        holdings([("037833100", "ABC HOLDINGS LTD", "COM", "SH", None, "1")]), companies
    )
    assert mapped["ticker"].tolist() == ["ABCY"] and unmapped.empty


def test_build_from_a_real_13f_over_loopback_edgar(edgar_fixtures: Path, tmp_path: Path) -> None:
    with sec_server(edgar_fixtures) as server:
        transport = HttpEdgarTransport(
            IDENTITY, server.url, server.url, 1000.0, store=HttpStore(tmp_path / "http")
        )
        build = build_universe(EdgarClient(transport), [LTS_ONE], source=server.url)
        again = build_universe(EdgarClient(transport), [LTS_ONE], source=server.url)
        archive_hits = len(server.requests_to(f"/Archives/edgar/data/1894188/{ACCESSION}.txt"))
    universe = build.universe.set_index("ticker")
    assert sorted(universe.index) == [
        "AMZN", "CSGP", "CSX", "HUM", "ICE", "IFF", "INTU", "IRTC", "MSFT", "MTN", "SHW", "V",
    ]  # fmt: skip
    assert universe.loc["AMZN", "cusip"] == "023135106"
    assert universe.loc["AMZN", "cik"] == "0001018724"
    assert universe.loc["ICE", "cusip"] == "45866F104"  # "INTERCONTINENTAL EXCHANGE IN"
    assert universe.loc["IFF", "cusip"] == "459506101"  # "INTERNATIONAL FLAVORS&FRAGRA"
    assert universe.loc["AMZN", "sector"] == "Retail Trade"
    assert universe.loc["MSFT", "sector"] == "Services"
    assert universe.loc["SHW", "sector"] == "Manufacturing"
    assert universe.loc["HUM", "sector"] == "Unknown"  # its submissions state no SIC
    reasons = dict(zip(build.unmapped["cusip"], build.unmapped["reason"], strict=True))
    assert reasons == {
        "29414B104": "no SEC company named like 'EPAM SYS INC'",
        "344419106": "no SEC company named like 'FOMENTO ECONOMICO MEXICANO S'",
    }
    assert build.info["filings"] == [ACCESSION] and build.info["cusips"] == 14
    assert again.universe.equals(build.universe)
    assert archive_hits == 1  # the filing itself came from the cache the second time


def test_cli_builds_and_shows_the_universe_the_pipeline_then_reads(
    edgar_fixtures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    with sec_server(edgar_fixtures) as server:
        env = {
            "IM_DATA_DIR": str(tmp_path / "data"),
            "IM_EDGAR_SOURCE": "sec",
            "IM_EDGAR_IDENTITY": IDENTITY,
            "IM_EDGAR_WWW_URL": server.url,
            "IM_EDGAR_DATA_URL": server.url,
            "IM_TRACKED_FILERS": json.dumps([LTS_ONE]),
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        try:
            assert main(["universe", "build"]) == 0
            built = capsys.readouterr().out
            assert main(["universe", "show", "--rows", "3"]) == 0
            shown = capsys.readouterr().out
            assert main(["universe", "show", "--json"]) == 0
            payload = json.loads(capsys.readouterr().out)
        finally:
            get_settings.cache_clear()
    assert "12 tickers from 14 CUSIPs held by 1 filers" in built
    assert "2 CUSIPs unmapped" in built and "EPAM SYS INC" in built
    assert "AMZN" in shown and "… 9 more" in shown and "FOMENTO" in shown
    assert payload["summary"]["mapped"] == 12 and len(payload["universe"]) == 12
    assert {u["cusip"] for u in payload["unmapped"]} == {"29414B104", "344419106"}
    # the pipeline's sources read the built file when no CSV of one's own is set
    settings = Settings(_env_file=None)  # from the environment set above
    universe_path = edgar_from_settings(settings).universe_path
    assert universe_path == tmp_path / "data" / "universe" / "sec" / "universe.csv"
    assert load_universe(universe_path)["ticker"].tolist()[:2] == ["AMZN", "CSGP"]


def test_cli_reports_a_missing_build_and_bad_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IM_EDGAR_SOURCE", "sec")
    monkeypatch.delenv("IM_EDGAR_IDENTITY", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["universe", "show"]) == 2
        assert "investor-mimic universe build" in capsys.readouterr().err
        assert main(["universe", "build"]) == 2
        assert "IM_EDGAR_IDENTITY" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_the_demo_world_universe_is_rebuilt_from_its_edgar_folder(
    tiny_world: Path, tmp_path: Path
) -> None:
    from investor_mimic.demo.manifest import load_manifest

    filers = [f.cik for f in load_manifest(tiny_world).filers]
    client = EdgarClient(FolderEdgarTransport(tiny_world / "edgar"))
    build = build_universe(client, filers, periods=12)
    truth = load_universe(tiny_world / "universe.csv")
    held = pd.read_parquet(tiny_world / "truth" / "thirteenf_holdings.parquet")
    stocks = held[(held["share_type"] == "SH") & held["put_call"].isna()]
    expected = truth[truth["cusip"].isin(stocks["cusip"])]
    cols = ["ticker", "cik", "cusip", "name"]
    # one row per ticker: the built universe has no listing spans (no dates at the SEC)
    expected = expected.drop_duplicates("ticker")
    assert build.universe[cols].equals(expected[cols].reset_index(drop=True))
    assert build.universe[["valid_from", "valid_to"]].isna().all().all()
    # the filers' notes are held as principal amounts: reported, not mapped
    notes = set(held.loc[held["share_type"] == "PRN", "cusip"])
    assert notes and set(build.unmapped["cusip"]) == notes
    assert set(build.unmapped["reason"]) == {"no share position, only PRN rows"}
    # written as a whole and read back; what the pipeline loads is the same frame
    path = write_build(build, tmp_path / "universe")
    assert load_universe(path).equals(build.universe)
    assert (
        read_build(tmp_path / "universe").unmapped["cusip"].tolist()
        == build.unmapped["cusip"].tolist()
    )
    with pytest.raises(UniverseError, match="no tracked filers"):
        build_universe(client, [])
