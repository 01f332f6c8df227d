"""Notifications: email (SMTP), Slack (incoming webhook) and any apprise URL, routed by
severity and topic, each channel retried with backoff and never blocking the others.

Why these clients:

- **Email** through the standard library's ``smtplib`` and ``email.message`` (STARTTLS
  and login when configured): a multipart message whose HTML part holds the orders
  table and the approve/reject links, with a plain-text part for every other reader.
- **Slack** through its incoming webhook, one JSON POST with Block Kit blocks (the orders
  and two link buttons) — a webhook needs no client library.
- **Everything else** (Telegram, SMS through Twilio, Discord, …) through **apprise**, the
  maintained multi-channel library, configured by URL per route.

Routing: a :class:`Notice` has a severity (``info``/``warning``/``critical``) and a topic
(``approval``/``decision``/``trade``/``alert``/``summary``); a channel gets a notice when
either is in its routes (settings ``email_routes``, ``slack_routes``, and the keys of
``apprise_urls``). The defaults follow the seed: Slack for real-time notices, email for
approvals, critical alerts and the daily summary, SMS for critical only, Telegram for
trade confirmations.

Failure handling: each channel runs in its own thread with ``notify_attempts`` attempts
(tenacity, exponential backoff from ``notify_backoff_seconds``) and a per-attempt
timeout; a channel that still fails is logged and reported in the returned deliveries —
the others, the request and the run go on. Log lines never hold a secret: Slack and
HTTP errors are logged by type and status only, everything else through :func:`redact`.
"""

from __future__ import annotations

import concurrent.futures
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Literal, Protocol

import requests
from jinja2 import Environment, PackageLoader, select_autoescape
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from investor_mimic.approval.store import RequestRow

Severity = Literal["info", "warning", "critical"]
Topic = Literal["approval", "decision", "trade", "alert", "summary"]
ROUTE_NAMES = frozenset(
    {"info", "warning", "critical", "approval", "decision", "trade", "alert", "summary"}
)
LinkMaker = Callable[[str, str], dict[str, str]]  # (request id, recipient) → {action: url}

log = logging.getLogger("investor_mimic.notify")
templates = Environment(
    loader=PackageLoader("investor_mimic.approval", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


class PermanentChannelError(RuntimeError):
    """A channel said no in a way that retrying cannot fix (bad webhook, 4xx)."""


@dataclass(frozen=True)
class Notice:
    """One thing to tell people. ``request`` adds the orders table; ``with_links`` adds
    approve/reject links minted per channel (approval requests)."""

    title: str
    severity: Severity
    topic: Topic
    text: str
    request: RequestRow | None = None
    facts: tuple[tuple[str, str], ...] = ()
    with_links: bool = False
    page_url: str | None = None

    @property
    def tags(self) -> frozenset[str]:
        return frozenset({self.severity, self.topic})


@dataclass(frozen=True)
class Delivery:
    channel: str
    ok: bool
    attempts: int
    error: str | None = None


class Channel(Protocol):
    name: str
    routes: frozenset[str]

    def send(self, notice: Notice, links: dict[str, str] | None) -> None:
        """Deliver once; raise on failure (PermanentChannelError: do not retry)."""
        ...


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


class _Redactor(logging.Filter):
    """Scrubs registered secrets from the records of the HTTP libraries' own loggers.

    Why: urllib3 logs every request line at DEBUG (``"POST /services/T…/B…/<secret> HTTP/1.1"``)
    and apprise logs whole URLs; a webhook's path *is* its secret. The filter sits on those
    loggers, so any handler (a file, Dagster's capture, pytest's) gets the scrubbed text.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            clean = redact(message, self.secrets)
            if clean != message:
                record.msg, record.args = clean, ()
        return True


_redactor = _Redactor()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "apprise", "requests"):
    logging.getLogger(_name).addFilter(_redactor)


def protect(*values: str) -> None:
    """Register secrets (and the secret parts of URLs) with the log filter."""
    from urllib.parse import urlsplit

    for value in values:
        if not value:
            continue
        _redactor.secrets.add(value)
        if "://" in value:
            parts = urlsplit(value)
            for piece in (parts.path, parts.query, parts.password or "", parts.username or ""):
                if len(piece) >= 8:
                    _redactor.secrets.add(piece)


def check_routes(routes: Iterable[str], setting: str) -> frozenset[str]:
    out = frozenset(routes)
    unknown = sorted(out - ROUTE_NAMES)
    if unknown:
        raise ValueError(f"{setting}: unknown route(s) {unknown}; use {sorted(ROUTE_NAMES)}")
    return out


# ------------------------------------------------------------------ rendering
def order_rows(req: RequestRow) -> list[dict[str, str]]:
    """The orders as display strings (shared by email, Slack, apprise and the web page)."""
    rows = []
    for o in req.orders:
        value = (
            o.notional
            if o.notional is not None
            else (o.shares * o.ref_price if o.ref_price is not None else None)
        )
        rows.append(
            {
                "ticker": o.ticker,
                "side": o.side,
                "shares": f"{o.shares:g}",
                "ref_price": "" if o.ref_price is None else f"{o.ref_price:,.2f}",
                "value": "" if value is None else f"{value:,.0f}",
                "score": "" if o.score is None else f"{o.score:.3f}",
                "target_weight": "" if o.target_weight is None else f"{o.target_weight:.1%}",
                "reason": o.proposal_reason or "",
                "status": o.status,
            }
        )
    return rows


def orders_text(req: RequestRow) -> str:
    from tabulate import tabulate

    rows = [
        (r["ticker"], r["side"], r["shares"], r["ref_price"], r["value"], r["score"])
        for r in order_rows(req)
    ]
    return tabulate(
        rows,
        headers=["ticker", "side", "shares", "ref $", "value $", "score"],
        disable_numparse=True,
    )


def render_text(notice: Notice, links: dict[str, str] | None) -> str:
    return templates.get_template("email.txt").render(
        n=notice, links=links or {}, orders=orders_text(notice.request) if notice.request else ""
    )


def render_html(notice: Notice, links: dict[str, str] | None) -> str:
    return templates.get_template("email.html").render(
        n=notice, links=links or {}, orders=order_rows(notice.request) if notice.request else []
    )


# ------------------------------------------------------------------ channels
@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    ca_file: Path | None = None
    timeout: float = 10.0
    routes: frozenset[str] = frozenset({"approval", "critical", "summary"})
    name: str = "email"

    def __post_init__(self) -> None:
        protect(self.password or "")

    def message(self, notice: Notice, links: dict[str, str] | None) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[Investor Mimic] {notice.title}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="investor-mimic.local")
        msg.set_content(render_text(notice, links))
        msg.add_alternative(render_html(notice, links), subtype="html")
        return msg

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        return context

    def send(self, notice: Notice, links: dict[str, str] | None) -> None:
        msg = self.message(notice, links)
        if self.port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls and self.port != 465:
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self.username:
                try:
                    smtp.login(self.username, self.password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    raise PermanentChannelError(f"SMTP login refused ({exc.smtp_code})") from None
            smtp.send_message(msg)


def _http_failure(what: str, exc: BaseException) -> str:
    """An HTTP error without its URL (a webhook URL is a secret)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"{what} answered HTTP {exc.response.status_code}"
    return f"{what}: {type(exc).__name__}"


@dataclass
class SlackChannel:
    webhook_url: str = field(repr=False)
    timeout: float = 10.0
    routes: frozenset[str] = frozenset({"approval", "decision", "trade", "alert"})
    name: str = "slack"

    def payload(self, notice: Notice, links: dict[str, str] | None) -> dict[str, Any]:
        icon = {
            "info": ":information_source:",
            "warning": ":warning:",
            "critical": ":rotating_light:",
        }[notice.severity]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {notice.text}"[:3000]}},
        ]
        if notice.facts:
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in notice.facts[:10]
                    ],
                }
            )
        if notice.request is not None:
            table = orders_text(notice.request)
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": f"```{table[:2900]}```"}}
            )
        buttons = []
        if links:
            for action, style in (("approve", "primary"), ("reject", "danger")):
                if action in links:
                    buttons.append(
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": f"{action.title()}…"},
                            "style": style,
                            "url": links[action],
                            "action_id": f"im_{action}",
                        }
                    )
        elif notice.page_url:
            buttons.append(
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": notice.page_url,
                    "action_id": "im_open",
                }
            )
        if buttons:
            blocks.append({"type": "actions", "elements": buttons})
        return {"text": f"{notice.title}: {notice.text}"[:3000], "blocks": blocks}

    def __post_init__(self) -> None:
        protect(self.webhook_url)

    def send(self, notice: Notice, links: dict[str, str] | None) -> None:
        try:
            answer = requests.post(
                self.webhook_url, json=self.payload(notice, links), timeout=self.timeout
            )
            answer.raise_for_status()
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            message = _http_failure("Slack webhook", exc)
            if 400 <= status < 500 and status != 429:
                raise PermanentChannelError(message) from None
            raise RuntimeError(message) from None
        except requests.RequestException as exc:
            raise RuntimeError(_http_failure("Slack webhook", exc)) from None


@dataclass
class AppriseChannel:
    """One apprise URL (its own retries and its own result)."""

    url: str = field(repr=False)
    route: str = "critical"
    timeout: float = 10.0
    name: str = "apprise"

    def __post_init__(self) -> None:
        import apprise

        protect(self.url)
        # apprise logs whole URLs (credentials included) at DEBUG: keep it above that
        logger = logging.getLogger("apprise")
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
        self._apprise = apprise.Apprise()
        scheme = self.url.split("://", 1)[0] if "://" in self.url else "?"
        self.name = f"apprise:{scheme}:{self.route}"
        if not self._apprise.add(self.url):
            raise ValueError(f"apprise_urls[{self.route!r}]: an unusable {scheme}:// URL")
        self.routes = frozenset({self.route})

    routes: frozenset[str] = frozenset()

    def send(self, notice: Notice, links: dict[str, str] | None) -> None:
        import apprise

        kind = {
            "info": apprise.NotifyType.INFO,
            "warning": apprise.NotifyType.WARNING,
            "critical": apprise.NotifyType.FAILURE,
        }[notice.severity]
        if notice.topic == "trade" and notice.severity == "info":
            kind = apprise.NotifyType.SUCCESS
        if not self._apprise.notify(
            body=render_text(notice, links), title=notice.title, notify_type=kind
        ):
            raise RuntimeError(f"{self.name} did not accept the notification")


# ------------------------------------------------------------------ notifier
@dataclass
class Notifier:
    """Sends a notice to every channel whose routes match, in parallel, with retries."""

    channels: Sequence[Channel]
    make_links: LinkMaker | None = None
    attempts: int = 3
    backoff_seconds: float = 1.0
    secrets: tuple[str, ...] = field(default=(), repr=False)
    on_delivery: Callable[[Notice, Delivery], None] | None = None

    def targets(self, notice: Notice) -> list[Channel]:
        return [c for c in self.channels if c.routes & notice.tags]

    def _links(self, notice: Notice, channel: Channel) -> dict[str, str] | None:
        if not (notice.with_links and notice.request is not None and self.make_links):
            return None
        return self.make_links(notice.request.id, channel.name)

    def _deliver(self, notice: Notice, channel: Channel) -> Delivery:
        attempts = 0
        try:
            links = self._links(notice, channel)
            for attempt in Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=self.backoff_seconds, max=30),
                retry=retry_if_exception(lambda e: not isinstance(e, PermanentChannelError)),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    channel.send(notice, links)
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {exc}", self.secrets)
            log.warning(
                "notification %r via %s failed after %d attempt(s): %s",
                notice.title,
                channel.name,
                attempts,
                error,
            )
            return Delivery(channel.name, False, attempts, error)
        log.info("notification %r sent via %s", notice.title, channel.name)
        return Delivery(channel.name, True, attempts)

    def send(self, notice: Notice) -> list[Delivery]:
        targets = self.targets(notice)
        if not targets:
            log.info("notification %r: no channel routes %s", notice.title, sorted(notice.tags))
            return []
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
            deliveries = list(pool.map(lambda c: self._deliver(notice, c), targets))
        if self.on_delivery is not None:
            for d in deliveries:
                try:
                    self.on_delivery(notice, d)
                except Exception as exc:  # recording must not break sending
                    log.warning("recording a delivery failed: %s", type(exc).__name__)
        return deliveries


# ------------------------------------------------------------------ settings
def secret_values(settings: Any) -> tuple[str, ...]:
    """Every secret a settings object holds (for :func:`redact` and the leak tests)."""
    from pydantic import SecretStr

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif hasattr(value, "model_fields") and not isinstance(value, type):
            for name in type(value).model_fields:
                walk(getattr(value, name))

    walk(settings)
    return tuple(s for s in found if s)


def channels_from_settings(settings: Any) -> list[Channel]:
    """The channels this environment configures (none by default: notices go to the log)."""
    channels: list[Channel] = []
    timeout = settings.notify_timeout_seconds
    recipients = tuple(a.strip() for a in (settings.alert_email or "").split(",") if a.strip())
    if settings.smtp_host and recipients:
        channels.append(
            EmailChannel(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_sender,
                recipients=recipients,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value()
                if settings.smtp_password
                else None,
                starttls=settings.smtp_starttls,
                ca_file=settings.smtp_ca_file,
                timeout=timeout,
                routes=check_routes(settings.email_routes, "IM_EMAIL_ROUTES"),
            )
        )
    elif settings.smtp_host:
        log.warning("SMTP is configured but IM_ALERT_EMAIL / ALERT_EMAIL names no recipient")
    if settings.slack_webhook_url is not None:
        channels.append(
            SlackChannel(
                settings.slack_webhook_url.get_secret_value(),
                timeout=timeout,
                routes=check_routes(settings.slack_routes, "IM_SLACK_ROUTES"),
            )
        )
    for route, urls in settings.apprise_urls.items():
        check_routes([route], "IM_APPRISE_URLS")
        for url in urls:
            channels.append(AppriseChannel(url.get_secret_value(), route=route, timeout=timeout))
    return channels


def notifier_from_settings(settings: Any, store: Any | None = None) -> Notifier:
    """The notifier of this environment. With a ``store``, approval notices carry signed
    links (when ``IM_LINK_SECRET`` is set) and every delivery is audited."""
    make_links: LinkMaker | None = None
    on_delivery = None
    if store is not None:
        from datetime import timedelta

        from investor_mimic.approval.links import LinkConfigError, LinkSigner

        try:
            signer = LinkSigner(
                store,
                settings.link_secret.get_secret_value() if settings.link_secret else "",
                settings.public_url,
                ttl=timedelta(hours=settings.link_ttl_hours),
            )

            def make_links(request_id: str, recipient: str) -> dict[str, str]:
                return {
                    str(k): v for k, v in signer.issue_pair(request_id, recipient=recipient).items()
                }

        except LinkConfigError as exc:
            log.warning("approval notices go out without links: %s", str(exc).splitlines()[0])

        def on_delivery(notice: Notice, d: Delivery) -> None:
            if notice.request is None:
                return
            store.record(
                "notified" if d.ok else "notify_failed",
                actor="notifier",
                channel=d.channel,
                request_id=notice.request.id,
                detail=f"{notice.title}" + ("" if d.ok else f" — {d.error}"),
            )

    secrets = secret_values(settings)
    protect(*secrets)
    return Notifier(
        channels_from_settings(settings),
        make_links=make_links,
        attempts=settings.notify_attempts,
        backoff_seconds=settings.notify_backoff_seconds,
        secrets=secrets,
        on_delivery=on_delivery,
    )
