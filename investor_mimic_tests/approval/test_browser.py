"""The approval page in a real browser: headless Chromium loads it over HTTP from uvicorn.

Skips only when Chromium is absent on a developer's machine; under CI=true a missing
browser fails (.ci/run installs it). ``IM_UPDATE_SCREENSHOT=1`` also writes the
screenshot the README shows (docs/approval-page.png).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from investor_mimic.approval.links import LinkSigner
from investor_mimic.approval.store import ApprovalStore, CheckRow
from investor_mimic.approval.web import create_app
from investor_mimic.settings import Settings
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, DAY, proposal
from investor_mimic_tests.helpers.brokers import MemoryBroker
from investor_mimic_tests.helpers.paths import REPO
from investor_mimic_tests.helpers.webapp import running

SECRET = "browser-test-secret-0123456789-abcdefghijklmnop"


@pytest.fixture()
def page_url(tmp_path: Path) -> Iterator[tuple[str, ApprovalStore, str]]:
    store = ApprovalStore(f"sqlite:///{tmp_path / 'warehouse.db'}")
    frame = proposal(
        rows=[
            ("MSFT", "sell", 12, 415.20),
            ("NVDA", "buy", 30, 131.75),
            ("JPM", "buy", 18, 236.40),
            ("XOM", "buy", 35, 107.05),
        ]
    )
    frame["sector"] = ["Technology", "Technology", "Financials", "Energy"]
    frame["reason"] = ["stop_loss", "rebalance", "rebalance", "rebalance"]
    frame["limit_checks"] = [
        {"sells_within_holdings": True},
        {"position_pct": True, "sector_pct": True, "min_trade_value": True},
        {"position_pct": True, "sector_pct": True, "min_trade_value": True},
        {"position_pct": True, "sector_pct": True, "min_trade_value": True},
    ]
    from investor_mimic.approval.states import default_expiry

    req, _ = store.create_request(
        DAY,
        frame,
        source="trade_proposals/2024-12-31@42",
        expires_at=default_expiry(DAY),
        actor="approval_requests_sensor",
        channel="dagster",
        checks=[
            CheckRow(name, True)
            for name in ("cash_never_negative", "position_count", "turnover", "score_fresh")
        ],
    )
    broker = MemoryBroker(
        prices={"MSFT": 415.2, "NVDA": 131.75, "JPM": 236.4, "XOM": 107.05, "AAPL": 250.0},
        cash=40_000.0,
        now=BEFORE_OPEN,
    )
    broker.held.update({"MSFT": 12.0, "AAPL": 20.0})
    settings = Settings(data_dir=tmp_path, link_secret=SecretStr(SECRET))  # type: ignore[call-arg]
    with running(create_app(settings, store=store, broker=lambda: broker)) as url:
        link = LinkSigner(store, SECRET, url).issue(req.id, "approve", recipient="email")
        yield link, store, req.id
    store.dispose()


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_chromium_renders_the_approval_page_and_reading_it_decides_nothing(
    browser: str, page_url: tuple[str, ApprovalStore, str], tmp_path: Path
) -> None:
    link, store, request_id = page_url
    dom = _chromium(browser, tmp_path / "profile", "--dump-dom", link)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for text in (
        "Trade proposal 2024-12-31",
        "NVDA",
        "stop_loss",
        "Approve all 4 orders",
        "sector_pct",
        "cash_never_negative",
        "Portfolio before and after",
        "expires 2025-01-02 09:30 ET",
    ):
        assert text in html, text
    assert 'name="token"' in html  # the decision form carries the link's token
    shot = tmp_path / "approval-page.png"
    taken = _chromium(
        browser,
        tmp_path / "profile2",
        "--hide-scrollbars",
        "--window-size=1180,1180",
        f"--screenshot={shot}",
        link,
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    # a browser reading the page (twice) decided nothing and used up nothing
    assert store.get(request_id).status == "pending"
    token = urlsplit(link).query.removeprefix("token=")
    assert (
        LinkSigner(store, SECRET, "http://x").check(token, request_id).__class__.__name__ == "Grant"
    )
    if os.environ.get("IM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "approval-page.png")
