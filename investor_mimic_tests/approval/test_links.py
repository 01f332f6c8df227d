"""Signed links without HTTP: what a token binds, and single use under racing threads on
SQLite and PostgreSQL (the decision and the use of the link are one transaction)."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from investor_mimic.approval.links import Grant, LinkConfigError, LinkSigner, Refusal
from investor_mimic.approval.store import ApprovalStore
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, new_request

SECRET = "links-test-secret-0123456789-abcdefghijklmnop"


def token_of(url: str) -> str:
    return urlsplit(url).query.removeprefix("token=")


def test_a_token_binds_request_action_and_expiry_and_holds_no_secret(tmp_path: Path) -> None:
    store = ApprovalStore(f"sqlite:///{tmp_path / 'w.db'}")
    req = new_request(store)
    signer = LinkSigner(store, SECRET, "https://approve.example/")
    url = signer.issue(req.id, "approve", recipient="slack")
    assert url.startswith(f"https://approve.example/approvals/{req.id}?token=")
    token = token_of(url)
    assert SECRET not in url and "slack" not in token
    grant = signer.check(token, req.id)
    assert isinstance(grant, Grant) and grant.action == "approve" and grant.recipient == "slack"
    row = store.link(grant.link_id)
    assert row is not None and row.expires_at == grant.expires_at
    assert abs(row.expires_at - row.issued_at - timedelta(hours=24)) < timedelta(seconds=1)
    wrong = signer.check(token, req.id, actions=("reject",))
    assert isinstance(wrong, Refusal) and (wrong.status, wrong.code) == (403, "wrong_action")
    later = signer.check(token, req.id, now=grant.expires_at)
    assert isinstance(later, Refusal) and (later.status, later.code) == (410, "expired")
    other_key = LinkSigner(store, SECRET[::-1], "https://approve.example")
    forged = other_key.check(token, req.id)
    assert isinstance(forged, Refusal) and forged.code == "tampered"
    # checking read nothing into the store: the link is still unused
    assert store.link(grant.link_id).used_at is None  # type: ignore[union-attr]
    with pytest.raises(LinkConfigError, match="at least 32"):
        LinkSigner(store, "too-short", "http://x")
    with pytest.raises(LinkConfigError, match="not set"):
        LinkSigner(store, "", "http://x")
    store.dispose()


def _race(store: ApprovalStore) -> None:
    req = new_request(store)
    signer = LinkSigner(store, SECRET, "http://x")
    grant = signer.check(token_of(signer.issue(req.id, "approve", recipient="email")), req.id)
    assert isinstance(grant, Grant)
    other = new_request(store, source="trade_proposals/2024-12-31@2")  # supersedes req
    assert store.get(req.id).status == "expired"
    # the link of an expired request decides nothing, and is not used up
    assert not store.approve(
        req.id, actor="x", channel="web", market_now=BEFORE_OPEN, link=grant.link_id
    ).won
    # a link is only good for its own request
    assert not store.approve(
        other.id, actor="x", channel="web", market_now=BEFORE_OPEN, link=grant.link_id
    ).won
    link = signer.check(token_of(signer.issue(other.id, "approve", recipient="email")), other.id)
    assert isinstance(link, Grant)

    def decide(i: int) -> bool:
        return store.approve(
            other.id, actor=f"t{i}", channel="web", market_now=BEFORE_OPEN, link=link.link_id
        ).won

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        wins = list(pool.map(decide, range(32)))
    assert wins.count(True) == 1
    log = store.audit_log(other.id)
    assert (log.action == "approve").sum() == 1
    assert store.link(link.link_id).used_at is not None  # type: ignore[union-attr]


def test_one_link_decides_once_under_racing_threads_on_sqlite(tmp_path: Path) -> None:
    store = ApprovalStore(f"sqlite:///{tmp_path / 'w.db'}")
    _race(store)
    store.dispose()


@pytest.mark.postgres
def test_one_link_decides_once_under_racing_threads_on_postgresql(pg_url: str) -> None:
    store = ApprovalStore(pg_url)
    _race(store)
    store.dispose()
