"""EdgarClient over real HTTP (loopback) and over a folder, with real SEC filings."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from investor_mimic.core import frames
from investor_mimic.core.calendar import edgar_business_day
from investor_mimic.parsing.extract import typed_frame
from investor_mimic.sources.edgar import (
    EdgarClient,
    EdgarError,
    EdgarIndexMissing,
    FolderEdgarTransport,
    HttpEdgarTransport,
    insider_trade_rows,
    insider_trades,
    issuer_tickers,
    new_13f_filings,
    parse_daily_index,
    thirteenf_holding_rows,
    thirteenf_holdings,
)
from investor_mimic.sources.http import HttpStatusError
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

IDENTITY = "Test Runner tests@example.com"
LTS_CIK = "0001894188"
LTS_ACC = "0001894188-23-000007"
LTS_AMEND = "0001894188-24-000002"  # same document served again as a 13F-HR/A
LTS_OTHER = "0001894188-23-000003"  # another period: must never be fetched
F4_ACC = "0002064133-25-000001"
F4_DAY = date(2025, 5, 2)  # a Friday
WATER_CIK = "933972"


def submissions_block(rows: list[tuple[str, str, str, str, str]]) -> dict[str, list[str]]:
    """(accession, filingDate, reportDate, acceptanceDateTime, form) → column arrays."""
    keys = ("accessionNumber", "filingDate", "reportDate", "acceptanceDateTime", "form")
    block = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
    block["primaryDocument"] = ["primary_doc.xml"] * len(rows)
    return block


def index_text(rows: list[tuple[str, str, str, str, str]]) -> str:
    """A daily form index in EDGAR's fixed-width layout: (form, company, cik, date, path)."""
    head = (
        "Description:           Daily Index of EDGAR Dissemination Feed by Form Type\n"
        "Last Data Received:    May 2, 2025\n"
        "Comments:              webmaster@sec.gov\n"
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/\n\n\n\n\n"
        f"{'Form Type':<12}{'Company Name':<62}{'CIK':<12}{'Date Filed':<12}File Name\n"
        + "-" * 141
        + "\n"
    )
    return head + "".join(f"{f:<12}{c:<62}{k:<12}{d:<12}{p}\n" for f, c, k, d, p in rows)


def form4_submission(xml: bytes, accession: str, accepted: str) -> bytes:
    head = (
        f"<SEC-DOCUMENT>{accession}.txt : 20250502\n"
        f"<SEC-HEADER>{accession}.hdr.sgml : 20250502\n"
        f"<ACCEPTANCE-DATETIME>{accepted}\n"
        f"ACCESSION NUMBER:\t\t{accession}\n"
        "CONFORMED SUBMISSION TYPE:\t4\n"
        "PUBLIC DOCUMENT COUNT:\t\t1\n"
        "FILED AS OF DATE:\t\t20250502\n"
        "</SEC-HEADER>\n<DOCUMENT>\n<TYPE>4\n<SEQUENCE>1\n<FILENAME>form4.xml\n<TEXT>\n<XML>\n"
    ).encode()
    return head + xml.strip() + b"\n</XML>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n"


@pytest.fixture()
def edgar_dir(tmp_path: Path, edgar_fixtures: Path) -> Path:
    """An EDGAR-shaped folder: submissions with older pages, a daily index, filings."""
    root = tmp_path / "edgar"
    subs = root / "submissions"
    subs.mkdir(parents=True)
    recent = submissions_block(
        [
            (LTS_AMEND, "2024-01-10", "2023-09-30", "2024-01-10T10:00:00.000Z", "13F-HR/A"),
            (LTS_OTHER, "2023-08-14", "2023-06-30", "2023-08-14T16:30:00.000Z", "13F-HR"),
            ("0001894188-23-000001", "2023-02-01", "", "2023-02-01T09:00:00.000Z", "SC 13G"),
        ]
    )
    doc = {
        "cik": "1894188",
        "name": "LTS One Management LP",
        "filings": {
            "recent": recent,
            "files": [
                {"name": "CIK0001894188-submissions-001.json", "filingTo": "2023-12-31"},
                {"name": "CIK0001894188-submissions-002.json", "filingTo": "2019-12-31"},
            ],
        },
    }
    (subs / f"CIK{LTS_CIK}.json").write_text(json.dumps(doc))
    page = submissions_block(
        [(LTS_ACC, "2023-11-14", "2023-09-30", "2023-11-14T09:38:54.000Z", "13F-HR")]
    )
    (subs / "CIK0001894188-submissions-001.json").write_text(json.dumps(page))
    # -002 deliberately absent: a filed_since of 2023 must not ask for it

    filing = (edgar_fixtures / f"13F-HR_{LTS_ACC}_full-submission.txt").read_bytes()
    data = root / "Archives" / "edgar" / "data"
    (data / "1894188").mkdir(parents=True)
    (data / "1894188" / f"{LTS_ACC}.txt").write_bytes(filing)
    (data / "1894188" / f"{LTS_AMEND}.txt").write_bytes(filing)

    xml = (edgar_fixtures / "form4_374water_X0508.xml").read_bytes()
    (data / WATER_CIK).mkdir(parents=True)
    (data / WATER_CIK / f"{F4_ACC}.txt").write_bytes(
        form4_submission(xml, F4_ACC, "20250502170102")
    )
    path = f"edgar/data/{WATER_CIK}/{F4_ACC}.txt"
    index = index_text(
        [
            ("4", "374Water Inc.", WATER_CIK, "20250502", path),
            ("4", "Melkote Rajesh Ramaswamy", "2064133", "20250502", path),
            ("4", "Not In Universe Corp", "1111111", "20250502", "edgar/data/1111111/x.txt"),
            ("SC 13G/A", "Double  Space  Holdings", "2222222", "20250502", "edgar/data/2/y.txt"),
        ]
    )
    qtr = root / "Archives" / "edgar" / "daily-index" / "2025" / "QTR2"
    qtr.mkdir(parents=True)
    (qtr / "form.20250502.idx").write_text(index)
    return root


def http_client(
    server: LoopbackServer, max_rps: float = 1000.0, max_attempts: int = 5
) -> EdgarClient:
    transport = HttpEdgarTransport(
        IDENTITY, server.url, server.url, max_rps, max_attempts=max_attempts, backoff=0.01
    )
    return EdgarClient(transport)


def test_identity_is_required_before_any_request() -> None:
    with LoopbackServer() as server:
        for identity in (None, "", "no email here"):
            with pytest.raises(EdgarError, match="IM_EDGAR_IDENTITY"):
                HttpEdgarTransport(identity, server.url, server.url)
        assert server.requests == []


def test_user_agent_is_the_identity(edgar_dir: Path) -> None:
    with LoopbackServer(edgar_dir) as server:
        http_client(server).submissions(LTS_CIK)
        assert {r.headers["user-agent"] for r in server.requests} == {IDENTITY}


def test_request_rate_stays_under_the_ceiling(edgar_dir: Path) -> None:
    with LoopbackServer(edgar_dir) as server:
        client = http_client(server, max_rps=10)
        for _ in range(12):
            client.filing_text(LTS_CIK, LTS_ACC)
        stamps = sorted(r.at for r in server.requests)
    # server arrival times carry scheduling jitter: allow 50 ms of it
    assert stamps[-1] - stamps[0] >= 11 * 0.1 - 0.05
    assert max(sum(1 for t in stamps if s <= t < s + 1.0 - 0.05) for s in stamps) <= 10


def test_throttled_then_served_and_persistent_5xx_fails_clearly(edgar_dir: Path) -> None:
    path = f"/Archives/edgar/data/1894188/{LTS_ACC}.txt"
    with LoopbackServer(edgar_dir) as server:
        server.queue(path, Answer(429, "", {"Retry-After": "0"}), Answer(503, "busy"))
        text = http_client(server).filing_text(LTS_CIK, LTS_ACC)
        assert len(server.requests_to(path)) == 3
        server.route("/submissions/CIK0000000001.json", lambda r: Answer(500, "down"))
        with pytest.raises(HttpStatusError, match=r"CIK0000000001\.json: HTTP 500 .*3 attempts"):
            http_client(server, max_attempts=3).submissions("1")
    assert text.startswith(b"<SEC-DOCUMENT>")


def test_full_submission_fetched_over_http_is_byte_identical(
    edgar_dir: Path, edgar_fixtures: Path
) -> None:
    with LoopbackServer(edgar_dir) as server:
        text = http_client(server).filing_text("1894188", LTS_ACC)
    assert text == (edgar_fixtures / f"13F-HR_{LTS_ACC}_full-submission.txt").read_bytes()


def test_submissions_read_older_pages_only_when_they_reach_the_date(edgar_dir: Path) -> None:
    with LoopbackServer(edgar_dir) as server:
        client = http_client(server)
        recent = client.submissions(LTS_CIK)
        full = client.submissions(LTS_CIK, filed_since=date(2023, 9, 30))
        asked = [r.path for r in server.requests]
    assert full.name == "LTS One Management LP"
    assert LTS_ACC not in {f.accession for f in recent.filings}
    original = next(f for f in full.filings if f.accession == LTS_ACC)
    assert original.form == "13F-HR" and original.cik == LTS_CIK
    assert original.report_date == date(2023, 9, 30)
    assert original.accepted_at == datetime(2023, 11, 14, 9, 38, 54)
    assert next(f for f in full.filings if f.form == "SC 13G").report_date is None
    assert "/submissions/CIK0001894188-submissions-002.json" not in asked


def test_thirteenf_holdings_collects_original_and_amendment_of_the_period(
    edgar_dir: Path,
) -> None:
    with LoopbackServer(edgar_dir) as server:
        frame = thirteenf_holdings(http_client(server), LTS_CIK, date(2023, 9, 30), {})
        asked = {r.path for r in server.requests}
    assert not any(LTS_OTHER in p for p in asked)
    assert sorted(frame["accession"].unique()) == sorted([LTS_ACC, LTS_AMEND])
    for _, filing in frame.groupby("accession"):
        assert len(filing) == 14
        assert filing["value_usd"].sum() == pytest.approx(454_926_000)
    original = frame[frame["accession"] == LTS_ACC]
    assert (original["filed_at"] == pd.Timestamp("2023-11-14 09:38:54")).all()
    assert (original["filer_name"] == "LTS One Management LP").all()


def test_new_13f_filings_skips_seen_and_other_forms(edgar_dir: Path) -> None:
    client = EdgarClient(FolderEdgarTransport(edgar_dir))
    fresh = new_13f_filings(client, [LTS_CIK], seen={LTS_OTHER})
    assert [f.accession for f in fresh] == [LTS_AMEND]
    assert new_13f_filings(client, [LTS_CIK], seen={LTS_OTHER, LTS_AMEND}) == []


def test_daily_index_rows_read_from_the_right() -> None:
    text = index_text(
        [
            ("SC 13G/A", "Double  Space  Holdings", "2222222", "20250502", "edgar/data/2/a.txt"),
            ("4", "Acme 1999 Trust", "42", "2025-05-02", "edgar/data/42/0000000042-25-000001.txt"),
        ]
    )
    first, second = parse_daily_index(text)
    assert (first.form, first.company, first.cik) == (
        "SC 13G/A",
        "Double  Space  Holdings",
        "0002222222",
    )
    assert (second.form, second.company, second.date_filed) == ("4", "Acme 1999 Trust", F4_DAY)
    assert second.accession == "0000000042-25-000001"
    with pytest.raises(EdgarError, match="line 13"):
        parse_daily_index(text + "garbage without columns\n", "form.20250502.idx")
    with pytest.raises(EdgarError, match="not a daily index"):
        parse_daily_index("<html>rate limited</html>")


def test_insider_trades_over_http_keeps_universe_issuers_once(edgar_dir: Path) -> None:
    with LoopbackServer(edgar_dir) as server:
        trades = insider_trades(http_client(server), F4_DAY, {WATER_CIK: "H2O"})
        fetched = [r.path for r in server.requests if "/data/" in r.path]
        assert insider_trades(http_client(server), F4_DAY, {"1": "X"}).empty
    assert fetched == [f"/Archives/edgar/data/{WATER_CIK}/{F4_ACC}.txt"]
    assert len(trades) == 2  # one non-derivative and one derivative award
    assert set(trades["ticker"]) == {"H2O"}  # the universe's ticker, not the filing's
    assert set(trades["issuer_cik"]) == {"0000933972"}
    assert set(trades["accession"]) == {F4_ACC}
    # accepted 17:01 on a Friday: known on Monday
    assert set(trades["known_date"]) == {pd.Timestamp("2025-05-05")}


def test_missing_index_on_a_business_day_fails_live_but_not_for_a_snapshot(
    edgar_dir: Path,
) -> None:
    monday = date(2025, 5, 5)
    with LoopbackServer(edgar_dir) as server:
        with pytest.raises(EdgarIndexMissing, match="2025-05-05"):
            insider_trades(http_client(server), monday, {WATER_CIK: "H2O"})
        assert len(server.requests) == 1
    folder = EdgarClient(FolderEdgarTransport(edgar_dir))
    assert insider_trades(folder, monday, {WATER_CIK: "H2O"}).empty
    assert len(insider_trades(folder, F4_DAY, {WATER_CIK: "H2O"})) == 2


def test_closed_edgar_days_are_empty_without_a_request(edgar_dir: Path) -> None:
    with LoopbackServer(edgar_dir) as server:
        client = http_client(server)
        for day in (date(2025, 5, 3), date(2024, 10, 14), date(2024, 11, 11)):
            assert insider_trades(client, day, {WATER_CIK: "H2O"}).empty
        assert server.requests == []


def test_rows_of_many_days_typed_once_equal_the_frames_of_each_day(edgar_dir: Path) -> None:
    """What the insider_trades asset does over a range: the rows of every day (closed,
    missing-index and filing days alike), typed once, are the per-day frames stacked."""
    client = EdgarClient(FolderEdgarTransport(edgar_dir))
    days = [date(2025, 5, 1), F4_DAY, date(2025, 5, 3), date(2025, 5, 5)]
    issuers = {WATER_CIK: "H2O", "42": "QUIET"}
    tickers = issuer_tickers(issuers)
    assert tickers == {"0000933972": "H2O", "0000000042": "QUIET"}
    rows = [row for day in days for row in insider_trade_rows(client, day, tickers)]
    stacked = pd.concat([insider_trades(client, day, issuers) for day in days])
    expected = frames.coerce(stacked, frames.INSIDER_TRADES)
    pd.testing.assert_frame_equal(typed_frame(rows, frames.INSIDER_TRADES), expected)
    assert len(rows) == 2
    assert insider_trade_rows(client, date(2025, 5, 3), tickers) == []  # Saturday


def test_live_missing_index_fails_the_rows_too(edgar_dir: Path) -> None:
    with (
        LoopbackServer(edgar_dir) as server,
        pytest.raises(EdgarIndexMissing, match="2025-05-05"),
    ):
        insider_trade_rows(http_client(server), date(2025, 5, 5), {"0000933972": "H2O"})


def test_thirteenf_rows_typed_once_equal_the_partition_frame(edgar_dir: Path) -> None:
    client = EdgarClient(FolderEdgarTransport(edgar_dir))
    period = date(2023, 9, 30)
    rows = thirteenf_holding_rows(client, LTS_CIK, period, {"023135106": "AMZN"})
    pd.testing.assert_frame_equal(
        typed_frame(rows, frames.THIRTEENF_HOLDINGS),
        thirteenf_holdings(client, LTS_CIK, period, {"023135106": "AMZN"}),
    )
    assert len(rows) == 28  # the original and its amendment, 14 rows each
    assert thirteenf_holding_rows(client, LTS_CIK, date(2020, 3, 31), {}) == []


def test_edgar_business_days_follow_the_federal_calendar() -> None:
    assert edgar_business_day(date(2024, 3, 29))  # Good Friday: NYSE closed, EDGAR open
    assert not edgar_business_day(date(2024, 10, 14))  # Columbus Day
    assert not edgar_business_day(date(2023, 11, 10))  # Veterans Day (Sat) observed Friday
    assert not edgar_business_day(date(2021, 12, 31))  # New Year 2022 (Sat) observed
    assert not edgar_business_day(date(2021, 6, 18))  # first Juneteenth, observed
    assert edgar_business_day(date(2020, 6, 19))  # before Juneteenth was a holiday


def test_malformed_submissions_name_the_document(tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    subs.mkdir()
    bad: dict[str, Any] = {"name": "X", "filings": {"recent": submissions_block([])}}
    bad["filings"]["recent"]["form"] = ["13F-HR"]
    (subs / "CIK0000000007.json").write_text(json.dumps(bad))
    client = EdgarClient(FolderEdgarTransport(tmp_path))
    with pytest.raises(EdgarError, match=r"CIK0000000007\.json: submissions arrays differ"):
        client.submissions("7")
    with pytest.raises(EdgarError, match=r"not found: submissions/CIK0000000008\.json"):
        client.submissions("8")
