"""Alerts on a real (ephemeral) Dagster instance, delivered to a loopback HTTP receiver.

Routes as the seed wants them: Slack (``SLACK_WEBHOOK_URL``) for real-time alerts, an
apprise ``critical`` URL standing in for SMS, and an apprise ``summary`` URL receiving the
daily summary (email's default route, tested over SMTP elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from investor_mimic.approval.store import ApprovalStore
from investor_mimic.defs.ops.alerts import (
    check_failure_alerts,
    daily_summary_job,
    run_failure_alerts,
)
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.alpaca_fake import FakeAlpaca
from investor_mimic_tests.helpers.approval import new_request
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer

HOOK = "/services/TALERT/BALERT/alertHookSecret42"
KEY, SECRET = "AKALERTKEY0000111", "alertSecret-mnbvcxz"


@dataclass
class Alerts:
    hooks: LoopbackServer
    instance: dg.DagsterInstance

    def posts(self, path: str) -> list[dict[str, object]]:
        return [r.json() for r in self.hooks.requests_to(path)]


@pytest.fixture()
def alerts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Alerts]:
    with LoopbackServer() as hooks:
        for path in (HOOK, "/sms", "/daily"):
            hooks.route(path, lambda r: Answer(200, {}))
        port = urlsplit(hooks.url).port
        monkeypatch.setenv("IM_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hooks.url + HOOK)
        monkeypatch.setenv(
            "IM_APPRISE_URLS",
            json.dumps(
                {
                    "critical": [f"json://127.0.0.1:{port}/sms"],
                    "summary": [f"json://127.0.0.1:{port}/daily"],
                }
            ),
        )
        monkeypatch.setenv("IM_NOTIFY_BACKOFF_SECONDS", "0")
        get_settings.cache_clear()
        with dg.instance_for_test() as instance:
            yield Alerts(hooks, instance)
    get_settings.cache_clear()


@dg.op
def boom() -> None:
    raise RuntimeError("disk full on the warehouse volume")


@dg.job
def failing_job() -> None:
    boom()


@dg.asset
def prices_stand_in() -> int:
    return 1


@dg.asset_check(asset=prices_stand_in, blocking=True)
def no_negative_prices() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="3 negative closes")


@dg.asset_check(asset=prices_stand_in)
def fresh_enough() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description="2 days late"
    )


def test_a_failed_run_alerts_slack_and_the_critical_route(alerts: Alerts) -> None:
    result = failing_job.execute_in_process(instance=alerts.instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_instance=alerts.instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    run_failure_alerts(context)
    [slack] = alerts.posts(HOOK)
    assert slack["blocks"][0]["text"]["text"] == "Run failed: failing_job"  # type: ignore[index]
    [sms] = alerts.posts("/sms")
    assert sms["title"] == "Run failed: failing_job" and sms["type"] == "failure"
    assert alerts.posts("/daily") == []


def test_failed_checks_alert_by_severity_once(alerts: Alerts) -> None:
    dg.materialize(
        [prices_stand_in, no_negative_prices, fresh_enough],
        instance=alerts.instance,
        raise_on_error=False,
    )
    context = dg.build_sensor_context(instance=alerts.instance)
    said = check_failure_alerts(context).skip_message or ""
    assert "(blocking)" in said
    titles = sorted(str(p["text"]).split(":")[0] for p in alerts.posts(HOOK))
    assert titles == ["1 asset check(s) failed", "1 asset check(s) failed (blocking)"]
    [sms] = alerts.posts("/sms")  # only the blocking one is critical
    assert "no_negative_prices" in str(sms["message"]) and "fresh_enough" not in str(sms["message"])
    again = check_failure_alerts(
        dg.build_sensor_context(instance=alerts.instance, cursor=context.cursor)
    )
    assert "no new" in (again.skip_message or "") and len(alerts.posts(HOOK)) == 2


def test_the_daily_summary_reports_equity_positions_pending_and_failed_checks(
    alerts: Alerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    dg.materialize(
        [prices_stand_in, no_negative_prices, fresh_enough],
        instance=alerts.instance,
        raise_on_error=False,
    )
    with FakeAlpaca(KEY, SECRET, prices={"AAA": 10.0, "CCC": 20.0}, cash=9_000.0) as fake:
        fake.positions["CCC"] = {"qty": 50.0, "avg": 18.0}
        monkeypatch.setenv("IM_BROKER", "alpaca")
        monkeypatch.setenv("IM_ALPACA_TRADING_URL", fake.url)
        monkeypatch.setenv("ALPACA_API_KEY", KEY)
        monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
        get_settings.cache_clear()
        url = get_settings().resolved_warehouse_url
        store = ApprovalStore(url)
        req = new_request(store)
        store.dispose()
        result = daily_summary_job.execute_in_process(
            instance=alerts.instance, resources={"warehouse": WarehouseResource(url=url)}
        )
    assert result.success
    [summary] = alerts.posts("/daily")
    message = str(summary["message"])
    assert str(summary["title"]).startswith("Daily summary")
    assert "Equity $10,000.00" in message and "cash $9,000.00" in message
    assert "unrealized $100.00" in message and "CCC 50" in message
    assert req.id in message and "no_negative_prices" in message
    assert alerts.posts(HOOK) == [] and alerts.posts("/sms") == []  # summary route only
    assert KEY not in message and SECRET not in message
