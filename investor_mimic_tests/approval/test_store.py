"""The approval store: requests from proposals, decisions, expiry, audit, races."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from investor_mimic.approval import tables
from investor_mimic.approval.states import (
    TRANSITIONS,
    TransitionError,
    check_transition,
    default_expiry,
)
from investor_mimic.approval.store import ApprovalStore, ProposalError, UnknownRequestError
from investor_mimic.broker.models import client_order_id
from investor_mimic_tests.helpers.approval import (
    AFTER_OPEN,
    BEFORE_OPEN,
    DAY,
    decide_at,
    new_request,
    proposal,
)


@pytest.fixture()
def store(tmp_path: Path) -> ApprovalStore:
    return ApprovalStore(f"sqlite:///{tmp_path / 'warehouse.db'}")


def test_a_request_holds_the_proposal_sells_first_with_deterministic_order_ids(
    store: ApprovalStore,
) -> None:
    req = new_request(store)
    assert req.status == "pending" and req.proposal_date == DAY
    assert req.expires_at == datetime(2025, 1, 2, 9, 30)  # next open after New Year's Day
    assert [(o.ticker, o.side) for o in req.orders] == [
        ("CCC", "sell"),
        ("AAA", "buy"),
        ("BBB", "buy"),
    ]
    assert all(o.status == "proposed" for o in req.orders)
    assert [o.client_order_id for o in req.orders] == [
        client_order_id(req.id, o.ticker, o.side)
        for o in req.orders  # type: ignore[arg-type]
    ]
    assert req.order(1).ref_price == 10.0 and req.order(1).proposal_reason == "rebalance"
    again, created = store.create_request(
        DAY, proposal(), source=req.source, expires_at=None, actor="sensor", channel="dagster"
    )
    assert not created and again.id == req.id
    assert len(store.list_requests()) == 1
    [create] = store.audit_log(req.id).to_dict("records")
    assert (create["action"], create["to_state"], create["actor"]) == (
        "create",
        "pending",
        "sensor",
    )


def test_a_newer_proposal_for_the_same_day_supersedes_the_pending_one(store: ApprovalStore) -> None:
    old = new_request(store, source="trade_proposals/2024-12-31@1")
    new = new_request(store, source="trade_proposals/2024-12-31@2")
    assert store.get(old.id).status == "expired"
    assert store.get(old.id).reason == f"superseded by {new.id}"
    assert store.get(new.id).status == "pending"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("AAA", "hold", 1, 1.0)], "not buy/sell"),
        ([("AAA", "buy", 0, 1.0)], "not > 0"),
        ([("AAA", "buy", float("nan"), 1.0)], "not > 0"),
        ([("AAA", "buy", 1, 1.0), ("AAA", "sell", 1, 1.0)], "more than one order for AAA"),
        ([], "no orders"),
    ],
)
def test_bad_proposals_are_refused_and_nothing_is_written(
    store: ApprovalStore, rows: list[tuple[str, str, float, float]], message: str
) -> None:
    frame = proposal(rows=rows) if rows else proposal().head(0)
    with pytest.raises(ProposalError, match=message):
        new_request(store, frame=frame)
    assert store.list_requests() == [] and store.audit_log().empty


def test_a_proposal_dated_another_day_is_refused(store: ApprovalStore) -> None:
    with pytest.raises(ProposalError, match="holds rows dated"):
        new_request(store, day=date(2024, 12, 30), frame=proposal(DAY))


def test_approve_is_audited_with_who_when_how_and_from_which_state(store: ApprovalStore) -> None:
    req = new_request(store)
    decision = store.approve(req.id, actor="alice", channel="cli", market_now=BEFORE_OPEN)
    assert decision.won and decision.status == "approved"
    got = store.get(req.id)
    assert (got.status, got.decided_by, got.decided_via) == ("approved", "alice", "cli")
    row = store.audit_log(req.id).iloc[-1]
    assert (row["action"], row["from_state"], row["to_state"], row["actor"], row["channel"]) == (
        "approve",
        "pending",
        "approved",
        "alice",
        "cli",
    )
    assert isinstance(row["at"], pd.Timestamp | datetime)
    # a decided request cannot be decided again, either way
    assert not store.reject(req.id, actor="bob", channel="cli").won
    assert not store.approve(req.id, actor="bob", channel="cli", market_now=BEFORE_OPEN).won
    assert store.get(req.id).decided_by == "alice"


def test_approve_only_some_tickers_drops_the_rest(store: ApprovalStore) -> None:
    req = new_request(store)
    refused = store.approve(req.id, actor="a", channel="cli", market_now=BEFORE_OPEN, only=["zzz"])
    assert not refused.won and "no order for ZZZ" in refused.message
    assert store.get(req.id).status == "pending"
    assert store.approve(req.id, actor="a", channel="cli", market_now=BEFORE_OPEN, only=["aaa"]).won
    statuses = {o.ticker: o.status for o in store.get(req.id).orders}
    assert statuses == {"AAA": "proposed", "BBB": "dropped", "CCC": "dropped"}
    assert store.audit_log(req.id)["action"].tolist() == ["create", "approve", "approve_only"]


def test_reject_then_nothing(store: ApprovalStore) -> None:
    req = new_request(store)
    assert store.reject(req.id, actor="bob", channel="cli", reason="too risky").won
    got = store.get(req.id)
    assert (got.status, got.reason, got.decided_by) == ("rejected", "too risky", "bob")
    claim = store.claim(
        req.id, actor="x", channel="t", market_now=BEFORE_OPEN, broker="b", resume=True
    )
    assert not claim.ok and claim.status == "rejected"


def test_a_request_expires_at_the_next_open(store: ApprovalStore) -> None:
    req = new_request(store)
    late = store.approve(req.id, actor="alice", channel="cli", market_now=AFTER_OPEN)
    assert not late.won and late.status == "expired"
    got = store.get(req.id)
    assert got.status == "expired" and "expired at 2025-01-02 09:30" in (got.reason or "")
    assert store.audit_log(req.id).iloc[-1]["actor"] == "system"


def test_expire_due_expires_only_what_is_due(store: ApprovalStore) -> None:
    due = new_request(store, day=date(2024, 12, 27), frame=proposal(date(2024, 12, 27)), source="a")
    fresh = new_request(store, source="b")
    assert store.expire_due(datetime(2024, 12, 30, 9, 30)) == [due.id]
    assert store.get(due.id).status == "expired" and store.get(fresh.id).status == "pending"


def test_an_approved_request_expires_if_not_executed_before_the_open(store: ApprovalStore) -> None:
    req = new_request(store)
    store.approve(req.id, actor="a", channel="cli", market_now=BEFORE_OPEN)
    claim = store.claim(req.id, actor="x", channel="t", market_now=AFTER_OPEN, broker="b")
    assert not claim.ok and store.get(req.id).status == "expired"


def test_default_expiry_follows_the_exchange_calendar() -> None:
    assert default_expiry(date(2024, 12, 27)) == datetime(2024, 12, 30, 9, 30)  # Fri → Mon
    assert default_expiry(date(2024, 7, 3)) == datetime(2024, 7, 5, 9, 30)  # Jul 4th closed
    assert default_expiry(DAY, "never") is None


def test_only_the_drawn_transitions_are_legal() -> None:
    check_transition("pending", "approved")
    for current, targets in TRANSITIONS.items():
        for target in set(TRANSITIONS) - targets:
            with pytest.raises(TransitionError):
                check_transition(current, target)
    assert TRANSITIONS["rejected"] == TRANSITIONS["expired"] == frozenset()
    assert "executing" not in TRANSITIONS["pending"]


def test_unknown_request(store: ApprovalStore) -> None:
    with pytest.raises(UnknownRequestError, match="no approval request 'nope'"):
        store.get("nope")


def test_kill_switch_flag_is_persisted_and_audited(store: ApprovalStore) -> None:
    assert not store.kill_switch().enabled
    state = store.set_kill_switch(True, actor="ops", channel="cli", reason="broker incident")
    assert state.enabled and state.source == "flag" and "broker incident" in state.describe()
    again = ApprovalStore(store.url)  # another process sees it
    assert again.kill_switch().enabled
    assert store.kill_switch(setting=True).source == "setting"
    store.set_kill_switch(False, actor="ops", channel="cli")
    assert not store.kill_switch().enabled
    log = store.audit_log()
    assert log["action"].tolist() == ["kill_switch_on", "kill_switch_off"]
    assert log["to_state"].tolist() == ["on", "off"]


def test_the_tables_live_in_one_metadata_for_migrations(store: ApprovalStore) -> None:
    names = set(sa.inspect(store.engine).get_table_names())
    assert set(tables.metadata.tables) <= names


# ------------------------------------------------------------------ races
def _race_threads(url: str, n: int = 8) -> None:
    store = ApprovalStore(url)
    req = new_request(store)
    results: dict[str, bool] = {}
    barrier = threading.Barrier(n)

    def decide(i: int) -> None:
        mine = ApprovalStore(url, create=False)
        barrier.wait()
        who = f"decider-{i}"
        if i % 2:
            results[who] = mine.reject(req.id, actor=who, channel="cli").won
        else:
            results[who] = mine.approve(
                req.id, actor=who, channel="cli", market_now=BEFORE_OPEN
            ).won
        mine.dispose()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    winners = [w for w, won in results.items() if won]
    assert len(results) == n and len(winners) == 1
    got = store.get(req.id)
    assert got.decided_by == winners[0]
    decisions = store.audit_log(req.id).query("action in ['approve', 'reject']")
    assert len(decisions) == 1 and decisions.iloc[0]["actor"] == winners[0]
    assert decisions.iloc[0]["from_state"] == "pending" and got.version == 2


def _race_processes(url: str, n: int = 4) -> None:
    store = ApprovalStore(url)
    req = new_request(store)
    store.dispose()  # forked children must not inherit pooled connections
    start = time.time() + 1.0  # every child is up and waiting by then
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n) as pool:
        outcomes = pool.starmap(
            decide_at,
            [(url, req.id, "approve" if i % 2 else "reject", f"proc-{i}", start) for i in range(n)],
        )
    assert sum(outcomes) == 1
    decisions = store.audit_log(req.id).query("action in ['approve', 'reject']")
    assert len(decisions) == 1
    assert decisions.iloc[0]["actor"] == f"proc-{outcomes.index(True)}"


def test_racing_deciders_produce_one_decision_sqlite_threads(tmp_path: Path) -> None:
    _race_threads(f"sqlite:///{tmp_path / 'w.db'}")


def test_racing_deciders_produce_one_decision_sqlite_processes(tmp_path: Path) -> None:
    _race_processes(f"sqlite:///{tmp_path / 'w.db'}")


@pytest.mark.postgres
def test_racing_deciders_produce_one_decision_postgres_threads(pg_url: str) -> None:
    _race_threads(pg_url)


@pytest.mark.postgres
def test_racing_deciders_produce_one_decision_postgres_processes(pg_url: str) -> None:
    _race_processes(pg_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_executors_claim_one_request_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'w.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = ApprovalStore(url)
    req = new_request(store)
    store.approve(req.id, actor="a", channel="cli", market_now=BEFORE_OPEN)
    barrier = threading.Barrier(2)
    oks: list[bool] = []

    def claim() -> None:
        mine = ApprovalStore(url, create=False)
        barrier.wait()
        oks.append(
            mine.claim(req.id, actor="x", channel="t", market_now=BEFORE_OPEN, broker="b").ok
        )
        mine.dispose()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert sorted(oks) == [False, True]
    assert store.audit_log(req.id)["action"].tolist().count("claim") == 1
