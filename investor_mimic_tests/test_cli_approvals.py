"""``investor-mimic approvals`` and ``kill-switch``: in-process for the conversation, in a
subprocess for the crash (SIGKILL between submit and record, then run again)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from investor_mimic.approval.store import ApprovalStore, RequestRow
from investor_mimic.cli import main
from investor_mimic_tests.helpers.alpaca_fake import ORDERS, FakeAlpaca, Fault
from investor_mimic_tests.helpers.approval import AFTER_OPEN, BEFORE_OPEN, new_request
from investor_mimic_tests.helpers.dagster import use_settings
from investor_mimic_tests.helpers.paths import REPO

KEY, SECRET = "AKCLIKEY0042abcd", "cliSecret-9876-hgfedcba"
PRICES = {"AAA": 10.0, "BBB": 50.0, "CCC": 20.0}


@dataclass
class Env:
    store: ApprovalStore
    fake: FakeAlpaca
    url: str
    tmp: Path

    def vars(self) -> dict[str, str]:
        """The environment a user would set for Alpaca paper trading."""
        return {
            "IM_DATA_DIR": str(self.tmp / "data"),
            "IM_WAREHOUSE_URL": self.url,
            "IM_BROKER": "alpaca",
            "IM_ALPACA_TRADING_URL": self.fake.url,
            "ALPACA_API_KEY": KEY,
            "ALPACA_SECRET_KEY": SECRET,
        }


def _env(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with FakeAlpaca(KEY, SECRET, prices=PRICES, cash=10_000.0) as fake:
        fake.positions["CCC"] = {"qty": 5.0, "avg": 18.0}
        env = Env(ApprovalStore(url), fake, url, tmp_path)
        monkeypatch.chdir(tmp_path)
        for var in [v for v in os.environ if v.startswith(("IM_", "ALPACA_"))]:
            monkeypatch.delenv(var)
        for name, value in env.vars().items():
            monkeypatch.setenv(name, value)
        use_settings(monkeypatch)
        yield env
        env.store.dispose()


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    yield from _env(tmp_path, f"sqlite:///{tmp_path / 'warehouse.db'}", monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err and SECRET not in captured.out + captured.err
    return code, captured.out, captured.err


def test_list_and_show_as_tables_and_json(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    req = new_request(env.store)
    code, out, _ = run(capsys, "approvals", "list")
    assert code == 0 and req.id in out and "pending" in out
    code, out, _ = run(capsys, "approvals", "list", "--json")
    payload = json.loads(out)
    [item] = payload["requests"]
    assert (item["id"], item["status"]) == (req.id, "pending")
    assert [(o["ticker"], o["side"], o["shares"]) for o in item["orders"]] == [
        ("CCC", "sell", 5.0),
        ("AAA", "buy", 10.0),
        ("BBB", "buy", 4.0),
    ]
    assert item["fills"] == [] and payload["kill_switch"] == "kill switch off"
    code, out, _ = run(capsys, "approvals", "show", req.id, "--json")
    shown = json.loads(out)
    assert shown["id"] == req.id and shown["audit"][0]["action"] == "create"
    code, out, _ = run(capsys, "approvals", "show", req.id)
    assert code == 0 and "client id" in out and req.orders[0].client_order_id in out


def test_approve_executes_on_the_broker_and_prints_the_fills(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    req = new_request(env.store)
    code, out, err = run(capsys, "approvals", "approve", req.id, "--by", "alice")
    assert code == 0, out + err
    assert f"request {req.id} approved" in out and "3 order(s) at alpaca" in out
    for ticker, price in (("CCC", "20.0000"), ("AAA", "10.0000"), ("BBB", "50.0000")):
        assert any(line.split()[:1] == [ticker] and price in line for line in out.splitlines()), out
    assert len(env.fake.accepted) == 3
    code, out, _ = run(capsys, "approvals", "show", req.id, "--json")
    shown = json.loads(out)
    assert shown["status"] == "executed" and shown["decided_by"] == "alice"
    assert len(shown["fills"]) == 3
    assert {a["channel"] for a in shown["audit"] if a["action"] == "approve"} == {"cli"}


def test_approve_only_some_tickers(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    req = new_request(env.store)
    code, _, _ = run(capsys, "approvals", "approve", req.id, "--only", "AAA", "ccc")
    assert code == 0
    assert sorted(o["symbol"] for o in env.fake.accepted) == ["AAA", "CCC"]


def test_rejected_and_expired_requests_are_not_executed(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    req = new_request(env.store)
    code, out, _ = run(capsys, "approvals", "reject", req.id, "--reason", "not today")
    assert code == 0 and "rejected" in out
    code, out, _ = run(capsys, "approvals", "approve", req.id)
    assert code == 1 and "is rejected, not pending" in out
    code, out, _ = run(capsys, "approvals", "execute", req.id)
    assert code == 1 and "rejected" in out

    late = new_request(env.store, source="second")
    env.fake.now = AFTER_OPEN.replace(tzinfo=env.fake.now.tzinfo)
    code, out, _ = run(capsys, "approvals", "approve", late.id)
    assert code == 1 and "expired" in out
    assert env.fake.calls("POST", ORDERS) == [] and env.fake.accepted == []
    assert env.store.get(late.id).status == "expired"


def test_kill_switch_from_the_cli(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    req = new_request(env.store)
    code, out, _ = run(capsys, "kill-switch", "on", "--reason", "broker incident", "--by", "ops")
    assert code == 0 and "kill switch ON" in out and "broker incident" in out
    code, out, _ = run(capsys, "kill-switch", "status")
    assert "kill switch ON" in out and "by ops" in out
    code, out, _ = run(capsys, "approvals", "approve", req.id)
    assert code == 1 and "nothing is approved or executed" in out
    assert env.fake.seen == [] and env.store.get(req.id).status == "pending"
    code, out, _ = run(capsys, "kill-switch", "off")
    assert code == 0 and out.strip() == "kill switch off"
    code, _, _ = run(capsys, "approvals", "approve", req.id)
    assert code == 0 and len(env.fake.accepted) == 3


def test_unknown_id_is_one_line_on_stderr(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "approvals", "approve", "nope")
    assert code == 2 and out == "" and err.strip() == "error: no approval request 'nope'"


def test_approve_without_keys_is_a_clear_error(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    req = new_request(env.store)
    monkeypatch.delenv("ALPACA_API_KEY")
    use_settings(monkeypatch)
    code, _, err = run(capsys, "approvals", "approve", req.id)
    assert code == 2 and "IM_ALPACA_API_KEY" in err
    assert env.store.get(req.id).status == "pending"


# ------------------------------------------------------------------- the crash
def cli(env: Env, *argv: str) -> subprocess.Popen[str]:
    vars_ = {k: v for k, v in os.environ.items() if not k.startswith(("IM_", "ALPACA_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "investor_mimic.cli", *argv],
        env=vars_ | env.vars() | {"PYTHONPATH": str(REPO)},
        cwd=env.tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def killed_then_rerun(env: Env) -> tuple[RequestRow, str]:
    req = new_request(env.store)
    env.store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN)
    # the broker accepts the first order (CCC) and then holds its answer back
    env.fake.fault("POST", ORDERS, Fault(accept=True, hold=True))
    first = cli(env, "approvals", "execute", req.id)
    try:
        assert env.fake.held.wait(timeout=60), first.communicate(timeout=5)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        out1, err1 = first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    env.fake.release()
    # between submit and record: the broker has the order, the warehouse says "submitting"
    mid = env.store.get(req.id)
    assert mid.status == "executing" and mid.order(0).status == "submitting"
    assert mid.order(0).broker_order_id is None and len(env.fake.accepted) == 1

    second = cli(env, "approvals", "execute", req.id)
    out2, err2 = second.communicate(timeout=120)
    assert second.returncode == 0, out2 + err2
    return env.store.get(req.id), out1 + err1 + out2 + err2


def assert_exactly_once(env: Env, done: RequestRow, output: str) -> None:
    assert done.status == "executed"
    assert sorted(o["symbol"] for o in env.fake.accepted) == ["AAA", "BBB", "CCC"]
    assert len(env.fake.calls("POST", ORDERS)) == 3  # CCC was looked up, not resent
    by_coid = {o["client_order_id"]: o for o in env.fake.accepted}
    for row in done.orders:
        assert row.broker_order_id == by_coid[row.client_order_id]["id"]
        assert row.status == "filled" and row.filled_qty == row.shares
    assert sorted((f.ticker, f.qty) for f in done.fills) == [("AAA", 10), ("BBB", 4), ("CCC", 5)]
    assert "already at the broker" in output
    assert KEY not in output and SECRET not in output


def test_killed_between_submit_and_record_then_rerun_gives_one_order_each(env: Env) -> None:
    done, output = killed_then_rerun(env)
    assert_exactly_once(env, done, output)


@pytest.mark.postgres
def test_killed_between_submit_and_record_then_rerun_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    for env in _env(tmp_path, pg_url, monkeypatch):
        done, output = killed_then_rerun(env)
        assert_exactly_once(env, done, output)
