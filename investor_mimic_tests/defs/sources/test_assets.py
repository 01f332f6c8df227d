"""Source assets on bad input: a clear one-line error, and nothing written.

Each test corrupts one thing in a copy of the tiny world, materializes the affected
partition with the project's assets and resources (temp data dir, temp SQLite
warehouse), and compares the Parquet files and the ``raw_<asset>`` table before and
after: a refused partition must leave earlier good content byte-for-byte intact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.defs.sources.retry import SOURCE_RETRY
from investor_mimic.defs.sql.assets import sql_model_defs
from investor_mimic_tests.helpers.dagster import (
    SOURCE_PARTS,
    Sandbox,
    failure_message,
    make_sandbox,
    materialized,
    original_13f,
    snapshot,
    table,
    use_settings,
)
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

INFO_TABLE_NS = "http://www.sec.gov/edgar/document/thirteenf/informationtable"
DAY = "2022-03-01"
RANGE = ("2022-03-07", "2022-03-11")  # Mon..Fri, all trading days


@pytest.fixture()
def box(request: pytest.FixtureRequest) -> Sandbox:
    """A writable copy of the tiny world with the universe already materialized."""
    box = make_sandbox(request, copy=True)
    assert box.materialize("universe").success
    return box


def filing_text(world: Path, cik: str, accession: str) -> Path:
    return world / "edgar" / "Archives" / "edgar" / "data" / str(int(cik)) / f"{accession}.txt"


def corrupt(path: Path, edit: Callable[[str], str]) -> None:
    text = path.read_text()
    changed = edit(text)
    assert changed != text, f"corruption did not change {path}"
    path.write_text(changed)


def holdings_key(cik: str, period: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"quarter": period, "filer": cik})


def assert_refused(result: dg.ExecuteInProcessResult, asset: str, *phrases: str) -> str:
    """The run failed in ``asset`` before materializing it, with a one-line message
    holding every phrase; returns the message."""
    assert not result.success
    assert asset not in materialized(result)
    message = failure_message(result)
    assert "\n" not in message, message
    for phrase in phrases:
        assert phrase in message, message
    return message


def bump(match: re.Match[str]) -> str:
    return f"{match[1]}{int(match[2]) + 1}<"


THIRTEENF_CORRUPTIONS: dict[str, tuple[Callable[[str], str], str]] = {
    "truncated": (lambda t: t[: len(t) * 3 // 4], "truncated"),
    "unknown_namespace": (
        lambda t: t.replace(INFO_TABLE_NS, "http://example.com/not-a-13f-table"),
        "unknown namespace",
    ),
    "negative_value": (
        lambda t: re.sub(r"<((?:\w+:)?value)>(\d+)<", r"<\1>-\2<", t, count=1),
        "negative value",
    ),
    "cover_total_mismatch": (
        lambda t: re.sub(r"(<tableEntryTotal>)(\d+)<", bump, t, count=1),
        "cover says",
    ),
}


@pytest.mark.parametrize("kind", sorted(THIRTEENF_CORRUPTIONS))
def test_corrupt_13f_is_refused_and_the_partition_keeps_its_good_content(
    box: Sandbox, kind: str
) -> None:
    cik, period, accession = original_13f(box.world)
    key = holdings_key(cik, period)
    box.add_filers(cik)
    assert box.materialize("thirteenf_holdings", partition=key).success
    files, rows = snapshot(box.assets_dir), table(box.warehouse(), "raw_thirteenf_holdings")
    assert accession in set(rows["accession"])

    edit, phrase = THIRTEENF_CORRUPTIONS[kind]
    corrupt(filing_text(box.world, cik, accession), edit)
    result = box.materialize("thirteenf_holdings", partition=key)

    assert_refused(result, "thirteenf_holdings", accession, phrase)
    assert snapshot(box.assets_dir) == files
    pd.testing.assert_frame_equal(table(box.warehouse(), "raw_thirteenf_holdings"), rows)


def test_corrupt_13f_in_a_new_partition_leaves_no_file_and_no_rows(box: Sandbox) -> None:
    good_cik, good_period, _ = original_13f(box.world, filer_index=1)
    cik, period, accession = original_13f(box.world, filer_index=0)
    box.add_filers(good_cik, cik)
    assert box.materialize(
        "thirteenf_holdings", partition=holdings_key(good_cik, good_period)
    ).success
    files = snapshot(box.assets_dir)

    corrupt(filing_text(box.world, cik, accession), lambda t: t[: len(t) // 2])
    result = box.materialize("thirteenf_holdings", partition=holdings_key(cik, period))

    assert_refused(result, "thirteenf_holdings", accession)
    assert snapshot(box.assets_dir) == files
    rows = table(box.warehouse(), "raw_thirteenf_holdings")
    assert set(rows["filer_cik"]) == {good_cik}


def test_a_refused_partition_never_reaches_a_later_sql_model_run(box: Sandbox) -> None:
    """The SQL models read the raw tables in runs of their own, where no source check
    runs: a partition is kept out of them only by never being written."""
    models = sql_model_defs()
    parts = [*SOURCE_PARTS, *(models.assets or []), *(models.asset_checks or [])]
    good_cik, good_period, _ = original_13f(box.world, filer_index=1)
    cik, period, accession = original_13f(box.world, filer_index=0)
    box.add_filers(good_cik, cik)
    assert box.materialize(
        "thirteenf_holdings", partition=holdings_key(good_cik, good_period)
    ).success
    edit, _ = THIRTEENF_CORRUPTIONS["cover_total_mismatch"]
    corrupt(filing_text(box.world, cik, accession), edit)
    assert not box.materialize("thirteenf_holdings", partition=holdings_key(cik, period)).success

    later = box.materialize("stg_thirteenf_holdings_pit", parts=parts)

    assert later.success
    stg = table(box.warehouse(), "stg_thirteenf_holdings_pit")
    assert set(stg["filer_cik"]) == {good_cik}


def duplicate_a_bar(bars: pd.DataFrame) -> pd.DataFrame:
    day = bars[bars["date"] == pd.Timestamp(RANGE[0]) + pd.Timedelta(days=2)]
    return pd.concat([bars, day.head(1)], ignore_index=True)


def negative_close(bars: pd.DataFrame) -> pd.DataFrame:
    out = bars.copy()
    hit = out.index[out["date"] == pd.Timestamp(RANGE[1])][0]
    out.loc[hit, ["open", "low", "close"]] = -1.0
    return out


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [(duplicate_a_bar, "share a key"), (negative_close, "non-positive prices")],
    ids=["duplicate_row", "negative_price"],
)
def test_bad_bars_fail_the_whole_range_and_write_nothing(
    box: Sandbox, edit: Callable[[pd.DataFrame], pd.DataFrame], phrase: str
) -> None:
    assert box.materialize("prices", partition=DAY).success
    files, rows = snapshot(box.assets_dir), table(box.warehouse(), "raw_prices")
    bars_path = box.world / "market" / "bars.parquet"
    edit(pd.read_parquet(bars_path)).to_parquet(bars_path, index=False)

    result = box.materialize("prices", day_range=RANGE)

    assert_refused(result, "prices", "refusing to write", phrase)
    assert snapshot(box.assets_dir) == files  # no file for any day of the range
    pd.testing.assert_frame_equal(table(box.warehouse(), "raw_prices"), rows)
    assert set(rows["date"].astype(str).str[:10]) == {DAY}


@pytest.mark.parametrize("identity", [None, "Jane Doe"], ids=["unset", "no_email"])
def test_sec_without_identity_fails_before_any_request(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, identity: str | None
) -> None:
    files, rows = snapshot(box.assets_dir), table(box.warehouse(), "raw_universe")
    with LoopbackServer(box.world / "edgar") as sec:
        use_settings(
            monkeypatch,
            edgar_source="sec",
            edgar_identity=identity,
            edgar_www_url=sec.url,
            edgar_data_url=sec.url,
            universe_path=str(box.world / "universe.csv"),
            tracked_filers=json.dumps([original_13f(box.world)[0]]),
        )
        result = box.materialize("universe")
        assert_refused(result, "universe", "IM_EDGAR_IDENTITY", repr(identity))
        assert sec.requests == []
    assert snapshot(box.assets_dir) == files
    pd.testing.assert_frame_equal(table(box.warehouse(), "raw_universe"), rows)


def test_alpha_vantage_throttle_note_fails_news_and_writes_nothing(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert box.materialize("news_sentiment", partition=DAY).success
    files, rows = snapshot(box.assets_dir), table(box.warehouse(), "raw_news_sentiment")
    assert len(rows)
    note = (
        "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."
    )
    with LoopbackServer() as av:
        av.route("/query", lambda request: Answer(200, {"Note": note}))
        use_settings(
            monkeypatch,
            news_source="alphavantage",
            alphavantage_url=f"{av.url}/query",
            alphavantage_api_key="secret-key-123",
            alphavantage_rpm="6000",
            source_retry_seconds="0.01",
        )
        result = box.materialize("news_sentiment", partition=DAY)
        message = assert_refused(result, "news_sentiment", "throttled 1 times", note)
        assert "secret-key-123" not in message
        # the step is retried with backoff, then fails: one request per attempt
        assert len(av.requests_to("/query")) == 1 + SOURCE_RETRY.max_retries
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert len(retries) == SOURCE_RETRY.max_retries
    assert snapshot(box.assets_dir) == files
    pd.testing.assert_frame_equal(table(box.warehouse(), "raw_news_sentiment"), rows)


def test_insider_trades_of_a_range_are_exactly_the_worlds_truth(box: Sandbox) -> None:
    """Over Veterans Day 2022-11-11 (NYSE open, EDGAR closed): a world filing on a day the
    EDGAR client skips would lose trades silently, with every check passing."""
    start, end = "2022-11-07", "2022-11-18"
    assert box.materialize("insider_trades", day_range=(start, end)).success

    loaded = table(box.warehouse(), "raw_insider_trades")
    truth = pd.read_parquet(box.world / "truth" / "insider_trades.parquet")
    truth = truth[truth["known_date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    assert len(truth)
    assert sorted(loaded["accession"]) == sorted(truth["accession"])


def test_each_day_of_a_range_run_shows_its_own_rows(box: Sandbox) -> None:
    """A single-run backfill's metadata is copied onto every day: the days must each show
    their own row count, and the run's figures must say they are the run's."""
    result = box.materialize("prices", day_range=RANGE)
    assert result.success
    loaded = table(box.warehouse(), "raw_prices")
    per_day = loaded.groupby(loaded["date"].astype(str).str[:10]).size()
    mats = {
        e.step_materialization_data.materialization.partition: (
            e.step_materialization_data.materialization.metadata
        )
        for e in result.get_asset_materialization_events()
    }
    assert sorted(mats) == sorted(per_day.index) and len(mats) == 5
    for day, meta in mats.items():
        assert meta["dagster/row_count"].value == per_day[day]
        assert meta["run_rows"].value == len(loaded) and meta["partitions_in_run"].value == 5
        # nothing else: the run's own figures are in its log, once
        assert set(meta) == {"dagster/row_count", "run_rows", "partitions_in_run"}
    logged = [
        e.user_message
        for e in box.instance.all_logs(result.run_id)
        if e.user_message.startswith("prices over the run: ")
    ]
    assert len(logged) == 1 and "coverage" in logged[0] and "first_date" in logged[0]
    passed = [c for c in result.get_asset_check_evaluations() if c.passed]
    assert len(passed) == 10 and {c.partition for c in passed} == set(per_day.index)  # 2 checks
    assert [{k: v.value for k, v in c.metadata.items()} for c in passed] == [
        {"partitions_in_run": 5}
    ] * 10
    one = box.materialize("prices", partition=DAY)
    [meta] = [
        e.step_materialization_data.materialization.metadata
        for e in one.get_asset_materialization_events()
    ]
    assert "preview" in meta and "coverage" in meta and "run_rows" not in meta
