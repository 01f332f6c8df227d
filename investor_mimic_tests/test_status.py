"""``investor-mimic status`` and :mod:`investor_mimic.status` against real servers.

A healthy development deployment exits 0; a Redis or PostgreSQL port where nothing
listens exits 1 naming the failing check, without the password of its URL. The data
sources are probed over real HTTP on loopback (credentials refused, rate limit left,
throttle notes), and only when a deep check asks for it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from investor_mimic import status
from investor_mimic.cli import main
from investor_mimic.core import migrate
from investor_mimic.defs.instance import prepare_home
from investor_mimic.settings import Settings, get_settings
from investor_mimic_tests.conftest import REDIS_TEST_URL
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

KEY, SECRET, AV_KEY = "PKSTATUSKEY123", "status-secret-456", "av-key-789"


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A development data dir with a Dagster home and a migrated warehouse."""
    for var in [v for v in os.environ if v.startswith(("IM_", "ALPACA_", "REDIS_URL"))]:
        monkeypatch.delenv(var)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("IM_DATA_DIR", str(tmp_path))
    prepare_home(tmp_path / "dagster_home", postgres=False)
    migrate.upgrade(f"sqlite:///{tmp_path / 'warehouse.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str
) -> tuple[int, dict[str, Any]]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    code = main(["status", "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_a_healthy_development_deployment_exits_zero(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, body = run_status(monkeypatch, capsys)
    assert (code, body["status"], body["down"]) == (0, "ok", []), body
    checks = body["checks"]
    assert checks["warehouse"]["revision"] == migrate.head()
    assert checks["dagster"]["status"] == "ok"
    assert checks["broker"]["name"] == "paper"
    assert checks["dagster_daemon"]["required"] is False  # development: no daemon needed
    assert main(["status"]) == 0
    assert "all required parts are up" in capsys.readouterr().out


@pytest.mark.redis
def test_a_down_redis_fails_the_cache_check_without_its_password(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, body = run_status(monkeypatch, capsys, IM_REDIS_URL=REDIS_TEST_URL)
    assert code == 0 and body["checks"]["cache"]["status"] == "ok"  # the real one is up
    down = f"redis://:redis-pw-1@127.0.0.1:{closed_port()}/0"
    code, body = run_status(monkeypatch, capsys, IM_REDIS_URL=down)
    assert (code, body["down"]) == (1, ["cache"])
    assert body["components"]["cache"] == "down"
    assert "redis-pw-1" not in json.dumps(body)


@pytest.mark.postgres
def test_a_down_postgres_fails_the_warehouse_check_without_its_password(
    deployment: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrate.upgrade(pg_url)
    code, body = run_status(monkeypatch, capsys, IM_WAREHOUSE_URL=pg_url)
    assert code == 0 and body["checks"]["warehouse"]["status"] == "ok", body
    down = f"postgresql+psycopg2://postgres:pg-pw-1@127.0.0.1:{closed_port()}/x"
    code, body = run_status(monkeypatch, capsys, IM_WAREHOUSE_URL=down)
    assert code == 1 and "warehouse" in body["down"]
    assert "unreachable" in body["checks"]["warehouse"]["detail"]
    assert "pg-pw-1" not in json.dumps(body)


def test_a_warehouse_from_a_newer_release_is_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    migrate.upgrade(url)
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0999'"))
    engine.dispose()
    check = status.warehouse_check(url)
    assert check.status == "down" and "needs" in check.detail


def real_sources(tmp_path: Path, url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        edgar_source="sec",
        edgar_identity="Status Test status@example.com",
        edgar_data_url=url,
        prices_source="alpaca",
        alpaca_api_key=KEY,
        alpaca_secret_key=SECRET,
        alpaca_data_url=url,
        news_source="alphavantage",
        alphavantage_api_key=AV_KEY,
        alphavantage_url=f"{url}/query",
        tracked_filers=["0001067983"],
    )


def test_data_sources_are_probed_only_when_asked(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        settings = real_sources(tmp_path, server.url)
        shallow = status.run(settings, deep=False)
        assert not server.requests
        for name in ("source_edgar", "source_prices", "source_news"):
            assert shallow.check(name).status == "skipped"
        assert shallow.ok  # skipped is not down

        server.queue("/submissions/CIK0001067983.json", Answer(200, {"cik": "1067983"}))
        server.queue(
            "/v2/stocks/SPY/bars/latest",
            Answer(200, {"bar": {}}, headers={"X-RateLimit-Remaining": "199"}),
        )
        server.queue("/query", Answer(200, {"items": "1", "feed": []}))
        deep = status.run(settings, deep=True)
        assert [deep.check(n).status for n in ("source_edgar", "source_prices", "source_news")] == [
            "ok",
            "ok",
            "ok",
        ]
        assert deep.check("source_prices").info["rate_limit_left"] == 199
        seen = {r.path: r for r in server.requests}
        assert seen["/submissions/CIK0001067983.json"].headers["user-agent"].startswith("Status")
        assert seen["/v2/stocks/SPY/bars/latest"].headers["apca-api-key-id"] == KEY
        assert seen["/query"].query["apikey"] == AV_KEY


def test_refused_credentials_and_spent_rate_limits_are_down(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        settings = real_sources(tmp_path, server.url)
        server.queue("/submissions/CIK0001067983.json", Answer(403, "Undeclared Automated Tool"))
        server.queue("/v2/stocks/SPY/bars/latest", Answer(401, {"message": "unauthorized"}))
        server.queue("/query", Answer(200, {"Information": "rate limit is 25 requests per day"}))
        report = status.run(settings, deep=True)
    assert set(report.down) >= {"source_edgar", "source_prices", "source_news"}
    assert "User-Agent" in report.check("source_edgar").detail
    assert "credentials refused" in report.check("source_prices").detail
    assert "rate limit" in report.check("source_news").detail
    text = json.dumps(report.as_dict())
    for secret in (KEY, SECRET, AV_KEY):
        assert secret not in text

    with LoopbackServer() as server:
        settings = real_sources(tmp_path, server.url)
        server.queue(
            "/v2/stocks/SPY/bars/latest",
            Answer(200, {"bar": {}}, headers={"X-RateLimit-Remaining": "0"}),
        )
        check = status.alpaca_data_check(settings, deep=True)
    assert (check.status, check.info["rate_limit_left"]) == ("down", 0)


def test_unreachable_sources_and_missing_credentials_are_named(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    settings = real_sources(tmp_path, dead)
    report = status.run(settings, deep=True)
    assert report.check("source_prices").detail.startswith("unreachable")
    no_keys = Settings(data_dir=tmp_path, prices_source="alpaca", news_source="alphavantage")
    report = status.run(no_keys, deep=False)  # a missing key needs no call to be known
    assert "ALPACA_API_KEY" in report.check("source_prices").detail
    assert "IM_ALPHAVANTAGE_API_KEY" in report.check("source_news").detail


@pytest.fixture()
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3-compatible server on loopback (moto in server mode) holding bucket ``assets``."""
    import boto3
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="assets")
    try:
        yield endpoint
    finally:
        server.stop()


def test_s3_asset_storage_is_probed_on_a_deep_check(tmp_path: Path, s3_endpoint: str) -> None:
    def storage(url: str) -> Settings:
        return Settings(data_dir=tmp_path, asset_storage_url=url, s3_endpoint_url=s3_endpoint)

    assert status.asset_storage_check(storage("s3://assets/prod"), deep=False).status == "skipped"
    assert status.asset_storage_check(storage("s3://assets/prod"), deep=True).status == "ok"
    missing = status.asset_storage_check(storage("s3://no-such-bucket/x"), deep=True)
    assert missing.status == "down" and "no-such-bucket" in missing.detail
