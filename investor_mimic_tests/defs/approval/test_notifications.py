"""From the approval email to one filled order, with every part real and on loopback.

The request is announced by ``approval_notifications_sensor`` (called as the daemon
would) over a real SMTP server (aiosmtpd, STARTTLS + login, configured through the
seed's SMTP_SERVER / SMTP_PORT / SMTP_USERNAME / SMTP_PASSWORD / ALERT_EMAIL names), a
Slack webhook and an apprise ``json://`` target on a loopback HTTP receiver. The test
reads the email, follows its approve link over real HTTP to the app under uvicorn, posts
the decision, and ``execute_approved_requests_sensor`` then asks for exactly one run.

The run is the code location's own ``execute_trades`` job (from ``build_definitions()``,
with the sensor's run config and tags) on the broker settings choose: the built-in paper
broker on the same warehouse, its clock pinned at the proposal day's evening and
``raw_prices`` seeded with the bars it marks and fills at. The orders wait for the next
open; once that session's bars are in, ``investor-mimic approvals execute`` (what a
person runs to see the fills) records each order's one fill.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import pytest
import requests
import sqlalchemy as sa

from investor_mimic import cli
from investor_mimic.approval.store import ApprovalStore
from investor_mimic.approval.web import create_app
from investor_mimic.broker.models import OrderRequest
from investor_mimic.broker.paper import PaperBroker
from investor_mimic.broker.paper_tables import paper_fills, paper_orders
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.definitions import build_definitions
from investor_mimic.defs.approval.sensors import (
    approval_notifications_sensor,
    execute_approved_requests_sensor,
)
from investor_mimic.defs.resources import WarehouseResource
from investor_mimic.portfolio import costs
from investor_mimic.settings import Settings, get_settings
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, DAY, new_request
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer
from investor_mimic_tests.helpers.paper import write_bars
from investor_mimic_tests.helpers.webapp import SmtpSink, parts, running

SMTP_PASSWORD = "e2e-smtp-Secret-5150"
LINK_SECRET = "e2e-link-secret-abcdefghijklmnopqrstuvwxyz-0123"
HOOK = "/services/TE2E0000/BE2E0000/e2eHookSecret777"
ALPACA_KEY, ALPACA_SECRET = "AKE2EKEY0099887766", "e2eAlpacaSecret-qwerty"
SECRETS = (SMTP_PASSWORD, LINK_SECRET, HOOK, "e2eHookSecret777", ALPACA_KEY, ALPACA_SECRET)

# the paper broker's sessions: the seed position is bought at DAY's open; the proposal
# (made at DAY's close) fills at the next session's open, 2025-01-02
SEED_DAY, FILL_DAY = date(2024, 12, 30), date(2025, 1, 2)
BARS = {  # ticker → (open, close, volume)
    SEED_DAY: {"AAA": (9.8, 9.9, 1e6), "BBB": (49.0, 49.5, 1e6), "CCC": (19.5, 19.6, 1e6)},
    DAY: {"AAA": (9.9, 10.0, 1e6), "BBB": (49.6, 50.0, 1e6), "CCC": (19.7, 20.0, 1e6)},
    FILL_DAY: {"AAA": (10.2, 10.4, 1e6), "BBB": (50.5, 51.0, 1e6), "CCC": (20.3, 20.1, 1e6)},
}


def seed_paper(settings: Settings) -> PaperBroker:
    """The paper book the proposal acts on, made through the broker itself: 5 CCC bought
    on SEED_DAY's evening and filled at DAY's open (the proposal sells them); the clock
    then pinned at DAY's evening, when the proposal is made and approved."""
    warehouse = Warehouse(settings.resolved_warehouse_url)
    paper = PaperBroker(warehouse, settings.trading)
    write_bars(warehouse, SEED_DAY, BARS[SEED_DAY])
    paper.pin_clock(datetime(2024, 12, 30, 17, 0))
    paper.submit(OrderRequest("seed-ccc", "CCC", "buy", 5))
    write_bars(warehouse, DAY, BARS[DAY])
    assert paper.settle() == 1
    paper.pin_clock(BEFORE_OPEN)
    return paper


def at_paper(url: str, client_order_ids: set[str]) -> tuple[list[Any], list[Any]]:
    """The paper broker's order and fill rows of these client order ids."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        orders = conn.execute(
            sa.select(paper_orders).where(paper_orders.c.client_order_id.in_(client_order_ids))
        ).all()
        fills = conn.execute(
            sa.select(paper_fills).where(paper_fills.c.client_order_id.in_(client_order_ids))
        ).all()
    engine.dispose()
    return list(orders), list(fills)


@dataclass
class Setup:
    store: ApprovalStore
    smtp: SmtpSink
    hooks: LoopbackServer
    web_url: str
    paper: PaperBroker
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

    def launch(self) -> Any:
        """One evaluation of execute_approved_requests_sensor, as the daemon makes it."""
        context = dg.build_sensor_context(
            resources={"warehouse": WarehouseResource(url=self.warehouse_url)}
        )
        return execute_approved_requests_sensor(context)

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
        monkeypatch.delenv("IM_BROKER", raising=False)  # the default: the paper broker
        get_settings.cache_clear()
        settings = get_settings()
        url = settings.resolved_warehouse_url
        store = ApprovalStore(url)
        paper = seed_paper(settings)
        app = create_app(settings, store=store)  # its broker: make_broker(settings), paper
        with running(app) as web_url:
            monkeypatch.setenv("IM_PUBLIC_URL", web_url)
            get_settings.cache_clear()
            yield Setup(store, smtp, hooks, web_url, paper, url)
        store.dispose()
    get_settings.cache_clear()


def test_approve_from_the_email_link_and_the_paper_broker_fills_each_order_exactly_once(
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
    cash = setup.paper.account().cash
    assert cash < 100_000.0 and f"{cash:,.0f}" in page.text  # the paper book, after the seed
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

    # the execution sensor asks for one run per request, with the same run key on every
    # tick; the code location's execute_trades sends the orders to the paper broker. Both
    # requested runs execute (as a re-executed run would): the second sends nothing.
    launches = [setup.launch(), setup.launch()]
    runs = [r for launch in launches for r in launch.run_requests]
    assert [r.run_key for r in runs] == [req.id, req.id]
    job = build_definitions().resolve_job_def("execute_trades")
    for run in runs:
        result = job.execute_in_process(
            run_config=run.run_config, tags={**run.tags, "dagster/run_key": run.run_key}
        )
        assert result.success
        assert result.dagster_run.tags["approval_request"] == req.id
    assert "no approved requests waiting" in setup.launch().skip_message
    sent = {o.client_order_id for o in setup.store.get(req.id).orders}
    orders, fills = at_paper(setup.warehouse_url, sent)
    assert sorted(o.client_order_id for o in orders) == sorted(sent)  # each once
    assert {o.status for o in orders} == {"new"} and fills == []  # waiting for the open
    executed = setup.store.get(req.id)
    assert executed.status == "executed" and executed.broker == "paper"

    # the next session happens: its bars are in, the clock is after its close. Another
    # run of the job sends nothing; `approvals execute` (twice) records the fills once.
    write_bars(Warehouse(setup.warehouse_url), FILL_DAY, BARS[FILL_DAY])
    setup.paper.pin_clock(datetime(2025, 1, 2, 17, 0))
    assert job.execute_in_process(run_config=runs[0].run_config, tags=runs[0].tags).success
    assert cli.main(["approvals", "execute", req.id]) == 0
    assert cli.main(["approvals", "execute", req.id]) == 0
    orders, fills = at_paper(setup.warehouse_url, sent)
    assert len(orders) == 3 and {o.status for o in orders} == {"filled"}
    assert sorted(f.client_order_id for f in fills) == sorted(sent)  # one fill per order
    rules = get_settings().trading
    expected = {
        t: float((costs.buy_price if side == "buy" else costs.sell_price)(o, rules))
        for t, side, o in [
            ("AAA", "buy", BARS[FILL_DAY]["AAA"][0]),
            ("BBB", "buy", BARS[FILL_DAY]["BBB"][0]),
            ("CCC", "sell", BARS[FILL_DAY]["CCC"][0]),
        ]
    }
    assert {f.ticker: f.price for f in fills} == pytest.approx(expected)  # at that open
    assert {(f.ticker, f.qty, f.bar_date) for f in fills} == {
        ("AAA", 10.0, FILL_DAY),
        ("BBB", 4.0, FILL_DAY),
        ("CCC", 5.0, FILL_DAY),
    }
    done_req = setup.store.get(req.id)
    assert done_req.status == "executed"
    assert sorted((f.ticker, f.qty) for f in done_req.fills) == [
        ("AAA", 10.0),
        ("BBB", 4.0),
        ("CCC", 5.0),
    ]
    assert {f.ticker: f.price for f in done_req.fills} == pytest.approx(expected)
    assert {p.ticker: p.qty for p in setup.paper.positions()} == {"AAA": 10.0, "BBB": 4.0}

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
