"""From the approval email to one filled order, with every part real and on loopback.

The request is announced by ``approval_notifications_sensor`` (called as the daemon
would) over a real SMTP server (aiosmtpd, STARTTLS + login, configured through the
seed's SMTP_SERVER / SMTP_PORT / SMTP_USERNAME / SMTP_PASSWORD / ALERT_EMAIL names), a
Slack webhook and an apprise ``json://`` target on a loopback HTTP receiver. The test
reads the email, follows its approve link over real HTTP to the app under uvicorn, posts
the decision, and ``execute_approved_requests_sensor`` then asks for exactly one run.

The execution itself runs the project's Executor on the in-memory broker of
helpers/brokers.py: the paper broker is not on main yet (``make_broker`` refuses
``paper`` in this build), so ``execute_trades``' own broker cannot be used here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest
import requests
import sqlalchemy as sa

from investor_mimic.approval.execution import Executor
from investor_mimic.approval.store import ApprovalStore
from investor_mimic.approval.web import create_app
from investor_mimic.defs.approval.sensors import (
    approval_notifications_sensor,
    execute_approved_requests_sensor,
)
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.settings import get_settings
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, new_request
from investor_mimic_tests.helpers.brokers import MemoryBroker
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer
from investor_mimic_tests.helpers.webapp import SmtpSink, parts, running

SMTP_PASSWORD = "e2e-smtp-Secret-5150"
LINK_SECRET = "e2e-link-secret-abcdefghijklmnopqrstuvwxyz-0123"
HOOK = "/services/TE2E0000/BE2E0000/e2eHookSecret777"
ALPACA_KEY, ALPACA_SECRET = "AKE2EKEY0099887766", "e2eAlpacaSecret-qwerty"
SECRETS = (SMTP_PASSWORD, LINK_SECRET, HOOK, "e2eHookSecret777", ALPACA_KEY, ALPACA_SECRET)


@dataclass
class Setup:
    store: ApprovalStore
    smtp: SmtpSink
    hooks: LoopbackServer
    web_url: str
    broker: MemoryBroker
    warehouse_url: str
    cursor: str | None = None
    said: tuple[str, ...] = ()

    def notify(self) -> str:
        context = dg.build_sensor_context(
            cursor=self.cursor,
            resources={"warehouse": WarehouseResource(url=self.warehouse_url)},
        )
        result = approval_notifications_sensor(context)
        self.cursor = context.cursor
        self.said += (result.skip_message or "",)
        return result.skip_message or ""

    def slack(self) -> list[dict[str, object]]:
        return [r.json() for r in self.hooks.requests_to(HOOK)]


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    with (
        SmtpSink(tmp_path, user="im-bot", password=SMTP_PASSWORD) as smtp,
        LoopbackServer() as hooks,
    ):
        hooks.route(HOOK, lambda r: Answer(200, "ok"))
        hooks.route("/telegram", lambda r: Answer(200, {}))
        port = urlsplit(hooks.url).port
        env = {
            "IM_DATA_DIR": str(tmp_path),
            "IM_LINK_SECRET": LINK_SECRET,
            "SMTP_SERVER": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_USERNAME": "im-bot",
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "ALERT_EMAIL": "pm@example.com",
            "IM_SMTP_CA_FILE": str(smtp.cert),
            "SLACK_WEBHOOK_URL": hooks.url + HOOK,
            "IM_APPRISE_URLS": json.dumps({"trade": [f"json://127.0.0.1:{port}/telegram"]}),
            "IM_NOTIFY_BACKOFF_SECONDS": "0",
            "ALPACA_API_KEY": ALPACA_KEY,
            "ALPACA_SECRET_KEY": ALPACA_SECRET,
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        url = get_settings().resolved_warehouse_url
        store = ApprovalStore(url)
        broker = MemoryBroker(prices={"AAA": 10.0, "BBB": 50.0, "CCC": 20.0}, now=BEFORE_OPEN)
        broker.held["CCC"] = 5.0
        app = create_app(get_settings(), store=store, broker=lambda: broker)
        with running(app) as web_url:
            monkeypatch.setenv("IM_PUBLIC_URL", web_url)
            get_settings.cache_clear()
            yield Setup(store, smtp, hooks, web_url, broker, url)
        store.dispose()
    get_settings.cache_clear()


def test_approve_from_the_email_link_and_the_order_fills_exactly_once(
    setup: Setup, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    req = new_request(setup.store)
    assert "Approve trades 2024-12-31?" in setup.notify()
    [mail] = setup.smtp.wait_for(1)
    assert setup.smtp.tls == [True] and setup.smtp.logins == [("im-bot", True)]
    text, html = parts(mail)
    approve = next(w for w in text.split() if "/approvals/" in w and "token=" in w)
    assert approve.startswith(f"{setup.web_url}/approvals/{req.id}?token=") and approve in html
    [announced] = setup.slack()
    assert {
        e["action_id"]
        for b in announced["blocks"]
        if b["type"] == "actions"  # type: ignore[index,union-attr]
        for e in b["elements"]
    } == {"im_approve", "im_reject"}

    # follow the link as a browser would, then decide with the token in the form body
    page = requests.get(approve, timeout=10)
    assert page.status_code == 200 and "Approve all 3 orders" in page.text
    assert setup.store.get(req.id).status == "pending"  # GET decided nothing
    token = urlsplit(approve).query.removeprefix("token=")
    done = requests.post(
        f"{setup.web_url}/approvals/{req.id}/decision",
        data={"token": token, "decision": "approve_all"},
        timeout=10,
    )
    assert done.status_code == 200 and "What happens next" in done.text
    assert (
        requests.post(
            f"{setup.web_url}/approvals/{req.id}/decision",
            data={"token": token, "decision": "approve_all"},
            timeout=10,
        ).status_code
        == 410
    )
    assert "approved" in setup.notify()
    assert any("approved" in str(s["text"]) for s in setup.slack())

    # the execution sensor asks for one run per request; executing fills once
    launch = execute_approved_requests_sensor(
        dg.build_sensor_context(resources={"warehouse": WarehouseResource(url=setup.warehouse_url)})
    )
    [run] = launch.run_requests  # type: ignore[union-attr]
    assert run.run_key == req.id
    executor = Executor(setup.store, setup.broker, actor="execute_trades", channel="dagster")
    assert executor.execute(req.id).ok
    assert executor.execute(req.id).outcome == "refused"  # a second launch sends nothing
    assert len(setup.broker.orders) == 3 and setup.broker.calls.count("submit") == 3
    done_req = setup.store.get(req.id)
    assert done_req.status == "executed" and len(done_req.fills) == 3

    # the trade confirmation: Slack and the apprise "trade" route (the Telegram stand-in)
    assert "executed" in setup.notify()
    [confirmation] = [r.json() for r in setup.hooks.requests_to("/telegram")]
    assert confirmation["title"].startswith("Trades 2024-12-31 executed")
    posts = len(setup.hooks.requests)
    assert setup.notify() == "nothing to announce"  # only its own "notified" audit rows
    assert setup.notify() == "no new approval transitions"
    assert len(setup.hooks.requests) == posts  # each transition announced once
    assert len(setup.smtp.messages) == 1  # email routes: approvals, critical, summary

    # no secret anywhere: responses, emails (headers included), posts, logs, output,
    # sensor messages, the warehouse
    out = capsys.readouterr()
    places = {
        "responses": page.text + done.text + json.dumps(dict(page.headers)),
        "email": b"".join(setup.smtp.raw).decode(errors="replace"),
        "posts": "".join(r.body.decode() for r in setup.hooks.requests),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "output": out.out + out.err,
        "sensor": "\n".join(setup.said),
    }
    engine = sa.create_engine(setup.warehouse_url)
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).fetchall()
            places[f"table {table}"] = repr(rows)
    engine.dispose()
    leaks = [(where, s) for where, text_ in places.items() for s in SECRETS if s in text_]
    assert leaks == []


def test_a_dead_smtp_server_does_not_hold_back_slack_or_the_sensor(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PORT", "1")
    get_settings.cache_clear()
    req = new_request(setup.store)
    said = setup.notify()
    assert "failed: email" in said and "slack" in said
    assert len(setup.slack()) == 1 and setup.smtp.messages == []
    log = setup.store.audit_log(req.id)
    assert log.loc[log.action == "notify_failed", "channel"].tolist() == ["email"]
    assert setup.cursor is not None  # it moved on: a dead channel never blocks the sensor
