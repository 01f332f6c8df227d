"""Notifications over real protocols: SMTP (aiosmtpd, STARTTLS + AUTH), a Slack webhook and
an apprise ``json://`` target on a loopback HTTP receiver; retries, isolation, routing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from investor_mimic.approval.links import LinkSigner
from investor_mimic.approval.notices import (
    FailedCheck,
    checks_failed,
    request_created,
    request_executed,
)
from investor_mimic.approval.notify import EmailChannel, Notifier, notifier_from_settings
from investor_mimic.approval.store import ApprovalStore
from investor_mimic.settings import Settings
from investor_mimic_tests.helpers.approval import new_request
from investor_mimic_tests.helpers.loopback import Answer, LoopbackServer
from investor_mimic_tests.helpers.webapp import SmtpSink, parts

SMTP_PASSWORD = "smtp-Pa55word-4471-qq"
LINK_SECRET = "link-secret-0123456789-abcdefghij-KLMNOP"
HOOK = "/services/T0001/B0001/hookSecretXYZ123"


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ApprovalStore]:
    s = ApprovalStore(f"sqlite:///{tmp_path / 'warehouse.db'}")
    yield s
    s.dispose()


@pytest.fixture()
def receiver() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.route(HOOK, lambda r: Answer(200, "ok"))
        server.route("/apprise", lambda r: Answer(200, {}))
        yield server


def settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": tmp_path,
        "link_secret": SecretStr(LINK_SECRET),
        "public_url": "http://127.0.0.1:9",
        "notify_backoff_seconds": 0.0,
        "notify_timeout_seconds": 3.0,
    }
    return Settings(**(base | kw))  # type: ignore[arg-type]


def test_email_goes_over_starttls_with_login_and_holds_the_orders_and_working_links(
    tmp_path: Path, store: ApprovalStore
) -> None:
    req = new_request(store)
    signer = LinkSigner(store, LINK_SECRET, "http://127.0.0.1:9")
    with SmtpSink(tmp_path, user="bot@example.com", password=SMTP_PASSWORD) as smtp:
        channel = EmailChannel(
            "127.0.0.1",
            smtp.port,
            "im@example.com",
            ("ops@example.com", "cfo@example.com"),
            username="bot@example.com",
            password=SMTP_PASSWORD,
            ca_file=smtp.cert,
            timeout=5,
        )
        notifier = Notifier(
            [channel], make_links=lambda rid, who: dict(signer.issue_pair(rid, recipient=who))
        )
        [delivery] = notifier.send(request_created(req, "http://127.0.0.1:9"))
        assert delivery.ok and delivery.attempts == 1
        [msg] = smtp.wait_for(1)
    assert smtp.tls == [True] and smtp.logins == [("bot@example.com", True)]
    assert smtp.envelopes == [("im@example.com", ["ops@example.com", "cfo@example.com"])]
    assert msg["Subject"] == f"[Investor Mimic] Approve trades 2024-12-31? ({req.id})"
    text, html = parts(msg)
    for ticker in ("AAA", "BBB", "CCC"):
        assert ticker in text and f"<b>{ticker}</b>" in html
    assert "<table" in html and "Approve…" in html and "Reject…" in html
    approve = next(line for line in text.splitlines() if "token=" in line)
    assert approve in html  # the same link in both parts
    token = urlsplit(approve).query.removeprefix("token=")
    grant = signer.check(token, req.id)
    assert not hasattr(grant, "code") and grant.action == "approve"  # type: ignore[union-attr]
    assert grant.recipient == "email"  # type: ignore[union-attr]
    # the password is in no header and nowhere in the message
    assert SMTP_PASSWORD.encode() not in smtp.raw[0]


def test_wrong_smtp_password_fails_that_channel_once_and_slack_still_gets_it(
    tmp_path: Path, store: ApprovalStore, receiver: LoopbackServer
) -> None:
    req = new_request(store)
    with SmtpSink(tmp_path, user="bot", password=SMTP_PASSWORD) as smtp:
        conf = settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_username="bot",
            smtp_password=SecretStr("not-the-password"),
            smtp_ca_file=smtp.cert,
            alert_email="ops@example.com",
            slack_webhook_url=SecretStr(receiver.url + HOOK),
        )
        deliveries = {
            d.channel: d
            for d in notifier_from_settings(conf, store).send(request_created(req, conf.public_url))
        }
    assert deliveries["slack"].ok
    assert not deliveries["email"].ok and deliveries["email"].attempts == 1  # permanent
    # smtplib tries each mechanism the server offers (PLAIN, LOGIN), in one attempt
    assert smtp.messages == [] and smtp.logins and set(smtp.logins) == {("bot", False)}
    audit = store.audit_log(req.id)
    assert set(audit.loc[audit.action == "notified", "channel"]) == {"slack"}
    assert set(audit.loc[audit.action == "notify_failed", "channel"]) == {"email"}


def test_slack_and_apprise_post_to_the_receiver_with_orders_and_link_buttons(
    tmp_path: Path, store: ApprovalStore, receiver: LoopbackServer
) -> None:
    req = new_request(store)
    port = urlsplit(receiver.url).port
    conf = settings(
        tmp_path,
        slack_webhook_url=SecretStr(receiver.url + HOOK),
        apprise_urls={"approval": [SecretStr(f"json://127.0.0.1:{port}/apprise")]},
    )
    deliveries = notifier_from_settings(conf, store).send(request_created(req, conf.public_url))
    assert sorted((d.channel, d.ok) for d in deliveries) == [
        ("apprise:json:approval", True),
        ("slack", True),
    ]
    [slack] = receiver.requests_to(HOOK)
    body = slack.json()
    assert body["blocks"][0]["text"]["text"].startswith("Approve trades 2024-12-31?")
    assert any("AAA" in b.get("text", {}).get("text", "") for b in body["blocks"])
    [actions] = [b for b in body["blocks"] if b["type"] == "actions"]
    urls = {e["action_id"]: e["url"] for e in actions["elements"]}
    assert set(urls) == {"im_approve", "im_reject"}
    assert all(f"/approvals/{req.id}?token=" in u for u in urls.values())
    assert urls["im_approve"] != urls["im_reject"]
    [apprise] = receiver.requests_to("/apprise")
    payload = apprise.json()
    assert payload["title"].startswith("Approve trades") and "AAA" in payload["message"]
    assert "token=" in payload["message"]  # its own links, minted for that channel
    links = store.audit_log(req.id)
    assert len(links[links.action == "notified"]) == 2


def test_a_failing_channel_is_retried_with_backoff_then_succeeds(
    tmp_path: Path, store: ApprovalStore, receiver: LoopbackServer
) -> None:
    req = new_request(store)
    receiver.queue(HOOK, Answer(500, "oops"), Answer(503, "busy"))
    conf = settings(tmp_path, slack_webhook_url=SecretStr(receiver.url + HOOK))
    [d] = notifier_from_settings(conf, store).send(request_executed(req, conf.public_url))
    assert d.ok and d.attempts == 3 and len(receiver.requests_to(HOOK)) == 3


def test_a_dead_channel_never_blocks_the_others_and_logs_no_secret(
    tmp_path: Path,
    store: ApprovalStore,
    receiver: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    req = new_request(store)
    port = urlsplit(receiver.url).port
    receiver.route(HOOK, lambda r: Answer(500, "down"))
    conf = settings(
        tmp_path,
        slack_webhook_url=SecretStr(receiver.url + HOOK),
        apprise_urls={"trade": [SecretStr(f"json://127.0.0.1:{port}/apprise")]},
        smtp_host="127.0.0.1",
        smtp_port=1,  # nothing listens there
        smtp_password=SecretStr(SMTP_PASSWORD),
        smtp_username="bot",
        alert_email="ops@example.com",
        email_routes=["trade"],
    )
    caplog.set_level(logging.DEBUG)
    deliveries = {
        d.channel: d
        for d in notifier_from_settings(conf, store).send(request_executed(req, conf.public_url))
    }
    assert deliveries["apprise:json:trade"].ok
    assert not deliveries["slack"].ok and deliveries["slack"].attempts == conf.notify_attempts
    assert not deliveries["email"].ok
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "via slack failed after 3 attempt(s)" in logged
    for secret in (HOOK, "hookSecretXYZ123", SMTP_PASSWORD, LINK_SECRET):
        assert secret not in logged
        assert all(secret not in (d.error or "") for d in deliveries.values())


def test_notices_are_routed_by_severity_and_topic(tmp_path: Path, receiver: LoopbackServer) -> None:
    port = urlsplit(receiver.url).port
    for route in ("critical", "trade"):
        receiver.route(f"/{route}", lambda r: Answer(200, {}))
    conf = settings(
        tmp_path,
        slack_webhook_url=SecretStr(receiver.url + HOOK),
        apprise_urls={
            "critical": [SecretStr(f"json://127.0.0.1:{port}/critical")],  # the SMS stand-in
            "trade": [SecretStr(f"json://127.0.0.1:{port}/trade")],  # the Telegram stand-in
        },
        smtp_host="127.0.0.1",
        alert_email="ops@example.com",
    )
    notifier = notifier_from_settings(conf)
    names = lambda notice: sorted(c.name for c in notifier.targets(notice))  # noqa: E731
    blocking = checks_failed(
        [FailedCheck("trade_proposals", "cash", "2024-12-31", "ERROR", None, "r")]
    )
    warn = checks_failed([FailedCheck("prices", "fresh", None, "WARN", "late", "r")])
    assert names(blocking) == ["apprise:json:critical", "email", "slack"]
    assert names(warn) == ["slack"]
    from investor_mimic.approval.store import RequestRow  # noqa: F401 — type only

    store = ApprovalStore(f"sqlite:///{tmp_path / 'w.db'}")
    req = new_request(store)
    assert names(request_executed(req, conf.public_url)) == ["apprise:json:trade", "slack"]
    assert names(request_created(req, conf.public_url)) == ["email", "slack"]
    store.dispose()
    with pytest.raises(ValueError, match="unknown route"):
        notifier_from_settings(
            settings(
                tmp_path, slack_webhook_url=SecretStr("http://x/y"), slack_routes=["everything"]
            )
        )
    assert json.dumps(conf.model_dump(mode="json")).count(HOOK) == 0  # SecretStr hides it
