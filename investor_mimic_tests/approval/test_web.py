"""The approval web app over real HTTP (uvicorn on loopback): links, refusals, races, login,
health, headers and secrets. The broker is the in-memory one of helpers/brokers.py."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from pydantic import SecretStr

from investor_mimic.approval.auth import hash_password
from investor_mimic.approval.links import LinkSigner
from investor_mimic.approval.store import ApprovalStore, CheckRow, RequestRow
from investor_mimic.approval.web import create_app
from investor_mimic.broker.models import BrokerError
from investor_mimic.core import migrate
from investor_mimic.settings import Settings
from investor_mimic_tests.helpers.approval import BEFORE_OPEN, DAY, proposal
from investor_mimic_tests.helpers.brokers import MemoryBroker
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer
from investor_mimic_tests.helpers.webapp import running

LINK_SECRET = "web-test-secret-9f8e7d6c5b4a-0123456789-xyz"
PASSWORD = "correct horse battery staple"
ALPACA_KEY, ALPACA_SECRET = "AKWEBTESTKEY000111", "webAlpacaSecret-zzz999"
PRICES = {"AAA": 10.0, "BBB": 50.0, "CCC": 20.0}
HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def create(store: ApprovalStore, day: date = DAY) -> RequestRow:
    frame = proposal(day)
    frame["limit_checks"] = [
        {"position_pct": True, "min_trade_value": True},
        {"position_pct": True, "sector_pct": False},
        {},
    ]
    req, _ = store.create_request(
        day,
        frame,
        source=f"trade_proposals/{day}@1",
        expires_at=None,
        actor="sensor",
        channel="dagster",
        checks=[CheckRow("cash_never_negative", True), CheckRow("turnover", True)],
    )
    return req


@dataclass
class Web:
    url: str
    store: ApprovalStore
    broker: MemoryBroker
    signer: LinkSigner
    req: RequestRow
    password_hash: str

    def token(self, action: str = "approve", request_id: str | None = None) -> str:
        link = self.signer.issue(request_id or self.req.id, action, recipient="email")  # type: ignore[arg-type]
        return urlsplit(link).query.removeprefix("token=")

    def page(self, token: str | None, request_id: str | None = None) -> requests.Response:
        params = {"token": token} if token is not None else {}
        return requests.get(
            f"{self.url}/approvals/{request_id or self.req.id}", params=params, timeout=10
        )

    def post(
        self,
        token: str | None,
        decision: str = "approve_all",
        request_id: str | None = None,
        **form: object,
    ) -> requests.Response:
        data: dict[str, object] = {"decision": decision, **form}
        if token is not None:
            data["token"] = token
        return requests.post(
            f"{self.url}/approvals/{request_id or self.req.id}/decision", data=data, timeout=30
        )

    def status(self) -> str:
        return self.store.get(self.req.id).status

    def audit(self, action: str) -> list[str]:
        log = self.store.audit_log(self.req.id)
        return log.loc[log.action == action, "detail"].fillna("").tolist()


def web_settings(tmp_path: Path, password_hash: str, **kw: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": tmp_path,
        "link_secret": SecretStr(LINK_SECRET),
        "web_user": "alice",
        "web_password_hash": SecretStr(password_hash),
        "alpaca_api_key": SecretStr(ALPACA_KEY),
        "alpaca_secret_key": SecretStr(ALPACA_SECRET),
    }
    return Settings(**(base | kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def password_hash() -> str:
    """A cheap Argon2 hash (the parameters travel in the hash): the same verify code path,
    without 0.5 s per login attempt in the tests."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    assert hash_password(PASSWORD).startswith("$argon2id$")  # what production stores
    return cheap


@pytest.fixture()
def web(tmp_path: Path, password_hash: str) -> Iterator[Web]:
    store = ApprovalStore(f"sqlite:///{tmp_path / 'warehouse.db'}")
    broker = MemoryBroker(prices=PRICES, cash=10_000.0, now=BEFORE_OPEN)
    broker.held["CCC"] = 5.0
    req = create(store)
    app = create_app(web_settings(tmp_path, password_hash), store=store, broker=lambda: broker)
    with running(app) as url:
        signer = LinkSigner(store, LINK_SECRET, url)
        yield Web(url, store, broker, signer, req, password_hash)
    store.dispose()


def shows_no_proposal(body: str) -> bool:
    return not any(t in body for t in ("AAA", "BBB", "CCC", "rebalance"))


def test_get_shows_orders_scores_checks_portfolio_and_expiry_and_decides_nothing(web: Web) -> None:
    token = web.token("approve")
    for _ in range(2):  # a mail scanner, then the person
        page = web.page(token)
        assert page.status_code == 200
    body = page.text
    for text in (
        "AAA",
        "BBB",
        "CCC",
        "0.900",
        "stop_loss",
        "position_pct",
        "sector_pct",
        "cash_never_negative",
        "Portfolio before and after",
        "10,000",
        "9,800",
        "Approve all 3 orders",
        "Approve selected only",
        "never expires",
    ):
        assert text in body, text
    assert 'name="token"' in body and "Reject all orders" not in body
    reject_page = web.page(web.token("reject")).text
    assert "Reject all orders" in reject_page and "Approve all" not in reject_page
    assert web.status() == "pending"
    assert web.audit("approve") == [] and web.broker.calls.count("submit") == 0
    link_id = web.signer._serializer.loads(token)["j"]
    assert web.store.link(link_id).used_at is None  # type: ignore[union-attr]


def test_an_approve_link_approves_once_and_the_result_page_says_what_happens_next(
    web: Web,
) -> None:
    token = web.token("approve")
    done = web.post(token, "approve_all")
    assert done.status_code == 200, done.text
    assert "What happens next" in done.text and "execute_approved_requests_sensor" in done.text
    assert "memory" in done.text  # the broker the orders go to
    req = web.store.get(web.req.id)
    assert req.status == "approved" and req.decided_via == "web"
    assert req.decided_by == "link sent to email"
    again = web.post(token, "approve_all")
    assert again.status_code == 410 and "already" in again.text
    assert web.page(token).status_code == 410  # the page too: the request is decided
    assert len(web.audit("approve")) == 1
    assert any("used" in d or "decided" in d for d in web.audit("link_refused"))


def test_approve_selected_drops_the_others(web: Web) -> None:
    done = web.post(web.token("approve"), "approve_selected", tickers=["AAA", "CCC"])
    assert done.status_code == 200 and "Not approved (dropped): BBB" in done.text
    orders = {o.ticker: o.status for o in web.store.get(web.req.id).orders}
    assert orders == {"CCC": "proposed", "AAA": "proposed", "BBB": "dropped"}
    nothing = web.post(web.token("approve"), "approve_selected")  # no box ticked
    assert nothing.status_code in (400, 410)


def test_a_reject_link_rejects_and_then_every_link_of_the_request_is_gone(web: Web) -> None:
    approve = web.token("approve")
    done = web.post(web.token("reject"), "reject", reason="too concentrated")
    assert done.status_code == 200 and "Nothing is traded" in done.text
    assert web.status() == "rejected" and web.store.get(web.req.id).reason == "too concentrated"
    late = web.post(approve, "approve_all")
    assert late.status_code == 410 and "already rejected" in late.text
    assert web.status() == "rejected"


@pytest.mark.parametrize(
    "case",
    ["tampered", "forged", "expired", "wrong_action", "wrong_request", "missing", "unknown_link"],
)
def test_bad_links_are_refused_with_a_clear_page_and_an_audit_row(web: Web, case: str) -> None:
    other = create(web.store, date(2024, 12, 30))
    decision = "approve_all"
    request_id = None
    if case == "tampered":
        token = web.token("approve")
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif case == "forged":
        foreign = LinkSigner(web.store, "another-secret-" + "x" * 40, web.url)
        token = urlsplit(foreign.issue(web.req.id, "approve", recipient="x")).query[6:]
    elif case == "expired":
        stale = LinkSigner(web.store, LINK_SECRET, web.url, ttl=timedelta(seconds=-1))
        token = urlsplit(stale.issue(web.req.id, "approve", recipient="email")).query[6:]
    elif case == "wrong_action":
        token = web.token("reject")
    elif case == "wrong_request":
        token = web.token("approve", request_id=other.id)
    elif case == "missing":
        token = None
    else:  # signed with our key but never sent: a copy of the key elsewhere
        bad = web.signer._serializer.dumps(
            {"r": web.req.id, "a": "approve", "x": 4102444800, "j": "never-issued"}
        )
        token = bad
    expected = {"expired": 410}.get(case, 403)
    posted = web.post(token, decision, request_id=request_id)
    viewed = web.page(token)
    assert posted.status_code == expected, (case, posted.text)
    if case != "wrong_action":  # a reject link may show the request (its own action)
        assert viewed.status_code == expected
        assert shows_no_proposal(viewed.text)
    bodies = [posted.text] + ([viewed.text] if case != "wrong_action" else [])
    for body in bodies:
        assert "Traceback" not in body and "Link not accepted" in body
    assert shows_no_proposal(posted.text)
    assert web.status() == "pending" and web.store.get(other.id).status == "pending"
    refused = web.audit("link_refused")
    code = {"forged": "tampered", "unknown_link": "unknown"}.get(case, case)
    assert any(f": {code}:" in d for d in refused), refused


def test_fifty_concurrent_posts_of_one_link_make_one_decision(web: Web) -> None:
    token = web.token("approve")
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(lambda _: web.post(token, "approve_all").status_code, range(50)))
    assert sorted(set(codes)) == [200, 410] and codes.count(200) == 1
    assert len(web.audit("approve")) == 1 and web.status() == "approved"
    assert len(web.audit("link_refused")) == 49


def test_an_approve_and_a_reject_link_racing_make_one_decision(web: Web) -> None:
    approve, reject = web.token("approve"), web.token("reject")
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        jobs = [pool.submit(web.post, approve, "approve_all") for _ in range(10)]
        jobs += [pool.submit(web.post, reject, "reject") for _ in range(10)]
        codes = [j.result().status_code for j in jobs]
    assert codes.count(200) == 1
    log = web.store.audit_log(web.req.id)
    assert len(log[log.action.isin(["approve", "reject"])]) == 1


def test_pages_forbid_caching_referrers_and_framing(web: Web) -> None:
    responses = [
        web.page(web.token("approve")),
        web.page("bogus"),
        requests.get(f"{web.url}/login", timeout=5),
        requests.get(f"{web.url}/health", timeout=5),
        requests.get(f"{web.url}/nowhere", timeout=5),
        web.post(web.token("approve"), "approve_all"),
    ]
    for r in responses:
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, (r.url, name)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert '<meta name="referrer" content="no-referrer">' in responses[0].text


def test_the_list_and_tokenless_pages_need_a_login(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    browser = requests.Session()
    listing = browser.get(f"{web.url}/approvals", allow_redirects=False, timeout=5)
    assert listing.status_code == 303 and listing.headers["location"].startswith("/login")
    assert web.page(None).status_code == 403
    wrong = browser.post(
        f"{web.url}/login", data={"username": "alice", "password": "nope"}, timeout=10
    )
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    ok = browser.post(
        f"{web.url}/login",
        data={"username": "alice", "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
        timeout=10,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/approvals"  # no open redirect
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    listed = browser.get(f"{web.url}/approvals", timeout=5)
    assert listed.status_code == 200 and web.req.id in listed.text
    page = browser.get(f"{web.url}/approvals/{web.req.id}", timeout=5)
    assert page.status_code == 200 and 'name="csrf"' in page.text and "AAA" in page.text
    forged = browser.post(
        f"{web.url}/approvals/{web.req.id}/decision",
        data={"decision": "approve_all", "csrf": "0" * 64},
        timeout=10,
    )
    assert forged.status_code == 403 and web.status() == "pending"
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    done = browser.post(
        f"{web.url}/approvals/{web.req.id}/decision",
        data={"decision": "approve_all", "csrf": csrf},
        timeout=10,
    )
    assert done.status_code == 200 and web.store.get(web.req.id).decided_by == "alice"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in logged and "nope" not in logged
    assert "token=" not in logged  # the access log holds paths, never query strings


def test_repeated_failed_logins_are_throttled(web: Web) -> None:
    codes = [
        requests.post(
            f"{web.url}/login", data={"username": "alice", "password": f"x{i}"}, timeout=10
        ).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    assert len(web.store.audit_log().query("action == 'login_failed'")) == 5


def test_health_reports_every_check_and_fails_when_a_required_one_is_down(
    tmp_path: Path, password_hash: str
) -> None:
    store = ApprovalStore(f"sqlite:///{tmp_path / 'w.db'}")
    broker = MemoryBroker(prices=PRICES, now=BEFORE_OPEN)

    def no_broker() -> MemoryBroker:
        raise BrokerError(f"Alpaca keys refused by https://x.example/{ALPACA_KEY}")

    conf = web_settings(tmp_path, password_hash, redis_url="redis://127.0.0.1:6379/0")
    with running(create_app(conf, store=store, broker=lambda: broker)) as url:
        good = requests.get(f"{url}/health", timeout=10)
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["status"] == "ok" and body["deep"] is False
    assert set(body["components"]) == {"database", "cache", "apis"}
    assert {"warehouse", "asset_storage", "cache", "broker"} <= set(body["checks"])
    assert body["checks"]["cache"]["backend"] == "redis"
    assert body["checks"]["warehouse"]["revision"] == migrate.head()
    down = web_settings(tmp_path, password_hash, redis_url="redis://:pw-in-url@127.0.0.1:1/0")
    with running(create_app(down, store=store, broker=no_broker)) as url:
        bad = requests.get(f"{url}/health", timeout=10)
    assert bad.status_code == 503
    assert set(bad.json()["down"]) == {"cache", "broker"}
    for secret in (ALPACA_KEY, ALPACA_SECRET, "pw-in-url", LINK_SECRET):
        assert secret not in bad.text
    (tmp_path / "a-file").write_text("not a folder")
    dead = ApprovalStore(f"sqlite:///{tmp_path / 'a-file' / 'x.db'}", create=False)
    with running(
        create_app(web_settings(tmp_path, password_hash), store=dead, broker=lambda: broker)
    ) as url:
        gone = requests.get(f"{url}/health", timeout=10)
    assert gone.status_code == 503 and gone.json()["components"]["database"] == "down"
    store.dispose()


def test_health_calls_outside_services_only_when_asked(tmp_path: Path, password_hash: str) -> None:
    """``/health`` is cheap; ``/health?deep=1`` probes the data sources (here on loopback)."""
    store = ApprovalStore(f"sqlite:///{tmp_path / 'w.db'}")
    broker = MemoryBroker(prices=PRICES, now=BEFORE_OPEN)
    with LoopbackServer() as news:
        news.route("/query", lambda _r: Answer(200, {"Information": "25 requests per day"}))
        conf = web_settings(
            tmp_path,
            password_hash,
            news_source="alphavantage",
            alphavantage_api_key=SecretStr("av-secret-key"),
            alphavantage_url=f"{news.url}/query",
        )
        with running(create_app(conf, store=store, broker=lambda: broker)) as url:
            cheap = requests.get(f"{url}/health", timeout=10)
            assert not news.requests
            deep = requests.get(f"{url}/health?deep=1", timeout=10)
        assert len(news.requests) == 1
    assert cheap.status_code == 200 and cheap.json()["checks"]["source_news"]["status"] == "skipped"
    assert deep.status_code == 503 and deep.json()["down"] == ["source_news"]
    assert "av-secret-key" not in deep.text
    store.dispose()


def test_errors_are_pages_without_stack_traces(web: Web) -> None:
    assert web.page("x", request_id="no-such-request").status_code == 403
    wrong_method = requests.get(f"{web.url}/approvals/{web.req.id}/decision", timeout=5)
    assert wrong_method.status_code == 405 and "<html" in wrong_method.text
    incomplete = requests.post(f"{web.url}/approvals/{web.req.id}/decision", data={}, timeout=5)
    assert incomplete.status_code == 400 and "incomplete" in incomplete.text

    def exploding_clock() -> None:
        raise RuntimeError(f"internal detail {LINK_SECRET}")

    web.broker.clock = exploding_clock  # type: ignore[method-assign,assignment]
    crash = web.post(web.token("approve"), "approve_all")
    assert crash.status_code == 500 and "reference" in crash.text
    for r in (wrong_method, incomplete, crash):
        assert "Traceback" not in r.text and "RuntimeError" not in r.text
        assert LINK_SECRET not in r.text
    assert web.status() == "pending"
