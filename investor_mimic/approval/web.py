"""The approval web app (FastAPI on uvicorn): see a request, decide it, check health.

Routes:

- ``GET /approvals/{id}?token=…`` shows the request — orders with score and limit checks,
  the portfolio before and after, expiry — and the decision form. **GET never changes
  state**: mail scanners and link previews follow links.
- ``POST /approvals/{id}/decision`` approves all, approves the selected orders, or
  rejects; the token travels in the form body. The decision goes through
  :class:`~investor_mimic.approval.store.ApprovalStore` (its state machine and audit),
  using up the link in the same transaction.
- ``GET /approvals`` (the list) and any request page without a valid link need a login
  (``IM_WEB_USER`` + ``IM_WEB_PASSWORD_HASH``); a logged-in decision carries a CSRF token.
- ``GET /health``: the checks of ``investor-mimic status`` (:mod:`investor_mimic.status`)
  as JSON, 503 when something required is down; cheap (no call outside the deployment's
  own storage) unless ``?deep=1`` asks to probe S3, the broker's API and the data sources.

Every refusal is a page with 403 (not valid here) or 410 (no longer valid) and an audit
row; errors are pages, never stack traces. Every response says ``Cache-Control:
no-store``, ``Referrer-Policy: no-referrer`` and ``frame-ancestors 'none'`` (the pages
hold single-use links); the access log holds no query strings (no tokens).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from investor_mimic.approval.auth import (
    SESSION_COOKIE,
    LoginThrottle,
    Session,
    Sessions,
    same_user,
    verify_password,
)
from investor_mimic.approval.links import Grant, LinkSigner, Refusal, check_secret
from investor_mimic.approval.notify import order_rows
from investor_mimic.approval.store import ApprovalStore, RequestRow, UnknownRequestError
from investor_mimic.broker.base import Broker
from investor_mimic.broker.models import BrokerError, Position
from investor_mimic.settings import Settings
from investor_mimic.status import Probe
from investor_mimic.status import run as run_checks

log = logging.getLogger("investor_mimic.web")
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}
pages = Environment(
    loader=PackageLoader("investor_mimic.approval", "templates"),
    autoescape=select_autoescape(["html"]),
)
BrokerFactory = Callable[[], Broker]


@dataclass
class Page:
    status: int
    html: str


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def portfolio_change(req: RequestRow, held: list[Position], cash: float | None) -> dict[str, Any]:
    """Positions and cash before and after the request's (not dropped) orders, valued at
    each order's reference price (else the position's own price)."""
    before = {p.ticker: p for p in held}
    prices = {p.ticker: (p.market_value / p.qty if p.qty else p.avg_entry_price) for p in held}
    after = {t: p.qty for t, p in before.items()}
    cash_after = cash
    for o in req.orders:
        if o.status == "dropped":
            continue
        price = o.ref_price if o.ref_price is not None else prices.get(o.ticker)
        if price is not None:
            prices[o.ticker] = price
        sign = 1.0 if o.side == "buy" else -1.0
        after[o.ticker] = after.get(o.ticker, 0.0) + sign * o.shares
        if cash_after is not None and price is not None:
            cash_after -= sign * o.shares * price
    rows = []
    for ticker in sorted(after):
        q0 = before[ticker].qty if ticker in before else 0.0
        q1 = after[ticker]
        px = prices.get(ticker)
        rows.append(
            {
                "ticker": ticker,
                "before": f"{q0:g}",
                "after": f"{q1:g}",
                "value_before": "" if px is None else f"{q0 * px:,.0f}",
                "value_after": "" if px is None else f"{q1 * px:,.0f}",
                "changed": abs(q1 - q0) > 1e-9,
            }
        )
    return {
        "rows": rows,
        "cash_before": None if cash is None else f"{cash:,.0f}",
        "cash_after": None if cash_after is None else f"{cash_after:,.0f}",
    }


class ApprovalApp:
    """The app's state: store, link signer, sessions, broker; :meth:`build` makes FastAPI."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: ApprovalStore | None = None,
        broker: BrokerFactory | None = None,
        probes: Sequence[tuple[str, bool, Probe]] = (),
    ) -> None:
        """``probes``: checks ``/health`` adds to the status module's (the CLI passes the
        Dagster instance's; this package may not import Dagster)."""
        secret = check_secret(
            settings.link_secret.get_secret_value() if settings.link_secret else None
        )
        self.settings = settings
        self.store = store or ApprovalStore(settings.resolved_warehouse_url)
        self.signer = LinkSigner(
            self.store,
            secret,
            settings.public_url,
            ttl=timedelta(hours=settings.link_ttl_hours),
        )
        self.sessions = Sessions(secret)
        self.throttle = LoginThrottle()
        if broker is None:
            from investor_mimic.broker.factory import make_broker

            def broker() -> Broker:
                return make_broker(settings)

        self.broker_factory = broker
        self.probes = tuple(probes)
        self.secure_cookie = settings.public_url.startswith("https://")

    # ------------------------------------------------------------ helpers
    def render(self, template: str, code: int = 200, **ctx: Any) -> HTMLResponse:
        html = pages.get_template(template).render(**ctx)
        return HTMLResponse(html, status_code=code)

    def refuse(
        self, request: Request, request_id: str, refusal: Refusal, *, where: str
    ) -> HTMLResponse:
        self.store.record(
            "link_refused",
            actor=f"web {_client(request)}",
            channel="web",
            request_id=request_id,
            detail=f"{where}: {refusal.code}: {refusal.message}",
        )
        log.info("refused %s %s: %s", request.method, request.url.path, refusal.code)
        login = f"/login?next={quote(f'/approvals/{request_id}')}"
        return self.render(
            "refused.html", refusal.status, title="Link not accepted", refusal=refusal, login=login
        )

    def session(self, request: Request) -> Session | None:
        return self.sessions.read(request.cookies.get(SESSION_COOKIE))

    def _broker(self) -> Broker | None:
        try:
            return self.broker_factory()
        except BrokerError as exc:
            log.warning("no broker: %s", exc.reason)
            return None

    def _portfolio(self, req: RequestRow) -> dict[str, Any] | None:
        broker = self._broker()
        if broker is None:
            return None
        try:
            held = broker.positions()
            cash: float | None = broker.account().cash
        except BrokerError as exc:
            log.warning("portfolio unavailable: %s", exc.reason)
            return None
        return portfolio_change(req, held, cash)

    def request_page(
        self,
        req: RequestRow,
        *,
        grant: Grant | None = None,
        token: str | None = None,
        session: Session | None = None,
    ) -> HTMLResponse:
        checks = self.store.checks(req.id)
        per_order: dict[int, list[Any]] = {}
        for c in checks:
            if c.seq is not None:
                per_order.setdefault(c.seq, []).append(c)
        rows: list[dict[str, Any]] = [dict(r) for r in order_rows(req)]
        for row, o in zip(rows, req.orders, strict=True):
            row["checks"] = per_order.get(o.seq, [])
            row["seq"] = o.seq
        return self.render(
            "request.html",
            title=f"Request {req.id}",
            req=req,
            orders=rows,
            request_checks=[c for c in checks if c.seq is None],
            portfolio=self._portfolio(req),
            grant=grant,
            token_value=token if grant else None,
            session=session,
            csrf=self.sessions.csrf(session, req.id) if session else None,
        )

    # ------------------------------------------------------------- build
    def build(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> Any:
            yield
            self.store.dispose()

        app = FastAPI(
            title="Investor Mimic approvals",
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
            lifespan=lifespan,
        )
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
        self._middleware(app)
        self._errors(app)
        self._routes(app)
        return app

    def _middleware(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def headers_and_access_log(request: Request, call_next: Any) -> Response:
            start = time.perf_counter()
            response: Response = await call_next(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            # the path only: a query string may hold a link token
            log.info(
                "%s %s %s %.0f ms",
                request.method,
                request.url.path,
                response.status_code,
                (time.perf_counter() - start) * 1000,
            )
            return response

    def _errors(self, app: FastAPI) -> None:
        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
            text = {404: "Not found.", 405: "This address does not take that method."}.get(
                exc.status_code, "The request could not be served."
            )
            return self.render("error.html", exc.status_code, title="Error", message=text)

        @app.exception_handler(RequestValidationError)
        async def bad_form(request: Request, exc: RequestValidationError) -> Response:
            fields = sorted({str(e.get("loc", ["?"])[-1]) for e in exc.errors()})
            return self.render(
                "error.html",
                400,
                title="Incomplete form",
                message=f"The form was incomplete or malformed ({', '.join(fields)}).",
            )

        @app.exception_handler(Exception)
        async def crash(request: Request, exc: Exception) -> Response:
            ref = secrets.token_hex(4)
            log.error(
                "error %s on %s %s: %s", ref, request.method, request.url.path, type(exc).__name__
            )
            return self.render(
                "error.html",
                500,
                title="Error",
                message=f"Something went wrong on our side (reference {ref}). Nothing was "
                "decided by this request; try again or use the CLI.",
            )

    def _routes(self, app: FastAPI) -> None:
        @app.get("/", include_in_schema=False)
        def root() -> Response:
            return RedirectResponse("/approvals", status_code=303)

        @app.get("/health")
        def health(deep: bool = False) -> Response:
            report = run_checks(
                self.settings,
                deep=deep,
                warehouse_url=self.store.url,
                broker_factory=self.broker_factory,
                extra=self.probes,
            )
            return JSONResponse(report.as_dict(), status_code=200 if report.ok else 503)

        @app.get("/login")
        def login_form(next: str = "/approvals") -> Response:
            return self.render("login.html", title="Log in", next=_safe_next(next), error=None)

        @app.post("/login")
        def login(
            request: Request,
            username: Annotated[str, Form()],
            password: Annotated[str, Form()],
            next: Annotated[str, Form()] = "/approvals",
        ) -> Response:
            client = _client(request)
            target = _safe_next(next)
            if self.throttle.blocked(client):
                return self.render(
                    "login.html",
                    429,
                    title="Log in",
                    next=target,
                    error="Too many failed attempts; wait a while.",
                )
            expected = self.settings.web_password_hash
            ok = (
                self.settings.web_user is not None
                and expected is not None
                and same_user(self.settings.web_user, username)
                and verify_password(expected.get_secret_value(), password)
            )
            if not ok:
                self.throttle.failed(client)
                self.store.record(
                    "login_failed",
                    actor=f"web {client}",
                    channel="web",
                    detail=f"user {username[:40]!r}",
                )
                error = (
                    "Wrong user name or password."
                    if self.settings.web_user
                    else "No web user is configured (IM_WEB_USER, IM_WEB_PASSWORD_HASH)."
                )
                return self.render("login.html", 401, title="Log in", next=target, error=error)
            self.throttle.succeeded(client)
            self.store.record("login", actor=username[:40], channel="web", detail=client)
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                self.sessions.issue(username),
                max_age=self.sessions.max_age,
                httponly=True,
                samesite="strict",
                secure=self.secure_cookie,
                path="/",
            )
            return response

        @app.post("/logout")
        def logout() -> Response:
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response

        @app.get("/approvals")
        def listing(request: Request, status: str | None = None) -> Response:
            session = self.session(request)
            if session is None:
                return RedirectResponse("/login?next=/approvals", status_code=303)
            wanted = status if status in _STATUSES else None
            return self.render(
                "list.html",
                title="Approval requests",
                requests=self.store.list_requests(wanted, limit=200),
                kill=self.store.kill_switch(setting=self.settings.kill_switch),
                session=session,
                status=wanted,
            )

        @app.get("/approvals/{request_id}")
        def show(
            request: Request,
            request_id: str,
            token: Annotated[str | None, Query()] = None,
        ) -> Response:
            session = self.session(request)
            if token or session is None:
                grant = self.signer.check(token, request_id)
                if isinstance(grant, Refusal):
                    return self.refuse(request, request_id, grant, where="view")
                return self.request_page(self.store.get(request_id), grant=grant, token=token)
            try:
                req = self.store.get(request_id)
            except UnknownRequestError:
                return self.render(
                    "error.html", 404, title="Not found", message=f"No request {request_id}."
                )
            return self.request_page(req, session=session)

        @app.post("/approvals/{request_id}/decision")
        def decide(
            request: Request,
            request_id: str,
            decision: Annotated[str, Form()],
            token: Annotated[str | None, Form()] = None,
            csrf: Annotated[str | None, Form()] = None,
            tickers: Annotated[list[str] | None, Form()] = None,
            reason: Annotated[str | None, Form(max_length=500)] = None,
        ) -> Response:
            if decision not in ("approve_all", "approve_selected", "reject"):
                return self.render(
                    "error.html", 400, title="Unknown decision", message="Choose approve or reject."
                )
            action = "reject" if decision == "reject" else "approve"
            session = self.session(request)
            link: str | None = None
            if token or session is None:
                grant = self.signer.check(token, request_id, actions=(action,))  # type: ignore[arg-type]
                if isinstance(grant, Refusal):
                    return self.refuse(request, request_id, grant, where=decision)
                actor, link = f"link sent to {grant.recipient}", grant.link_id
            elif self.sessions.csrf_ok(session, request_id, csrf):
                actor = session.user
            else:
                refusal = Refusal(403, "csrf", "This form is stale; open the request again.")
                return self.refuse(request, request_id, refusal, where=decision)
            try:
                req = self.store.get(request_id)
            except UnknownRequestError:
                return self.render(
                    "error.html", 404, title="Not found", message=f"No request {request_id}."
                )
            return self._decide(request, req, decision, actor, link, tickers or [], reason)

    def _decide(
        self,
        request: Request,
        req: RequestRow,
        decision: str,
        actor: str,
        link: str | None,
        tickers: list[str],
        reason: str | None,
    ) -> Response:
        broker = self._broker()
        if decision == "reject":
            result = self.store.reject(
                req.id, actor=actor, channel="web", reason=(reason or None), link=link
            )
        else:
            only: list[str] | None = None
            if decision == "approve_selected":
                everyone = {o.ticker for o in req.orders}
                only = sorted({t.strip().upper() for t in tickers if t.strip()})
                if not only:
                    return self.render(
                        "error.html",
                        400,
                        title="Nothing selected",
                        message="Select at least one order, or reject.",
                    )
                if set(only) == everyone:
                    only = None
            if broker is None:
                return self.render(
                    "error.html",
                    503,
                    title="Broker unavailable",
                    message="The broker's clock could not be read, so the decision was not "
                    "recorded (a request's expiry is measured on the broker's clock). Try "
                    "again shortly.",
                )
            try:
                market_now = broker.clock().timestamp
            except BrokerError as exc:
                log.warning("broker clock: %s", exc.reason)
                return self.render(
                    "error.html",
                    503,
                    title="Broker unavailable",
                    message="The broker did not answer; nothing was decided.",
                )
            result = self.store.approve(
                req.id, actor=actor, channel="web", market_now=market_now, only=only, link=link
            )
        if not result.won:
            if result.status != "pending":  # decided, expired or superseded meanwhile
                gone = Refusal(410, "decided", result.message)
                return self.refuse(request, req.id, gone, where=decision)
            if link is not None and "already used" in result.message:  # lost the race
                gone = Refusal(410, "used", "This link was already used.")
                return self.refuse(request, req.id, gone, where=decision)
            return self.render("error.html", 400, title="Not decided", message=result.message)
        done = self.store.get(req.id)
        return self.render(
            "result.html",
            title=f"Request {done.id} {done.status}",
            req=done,
            kept=[o for o in done.orders if o.status != "dropped"],
            dropped=[o for o in done.orders if o.status == "dropped"],
            broker=broker.name if broker is not None else "the broker",
            kill=self.store.kill_switch(setting=self.settings.kill_switch),
        )


_STATUSES = ("pending", "approved", "rejected", "expired", "executing", "executed", "failed")


def _safe_next(target: str) -> str:
    """Only local paths: never an open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/approvals"
    return target


def create_app(
    settings: Settings,
    *,
    store: ApprovalStore | None = None,
    broker: BrokerFactory | None = None,
    probes: Sequence[tuple[str, bool, Probe]] = (),
) -> FastAPI:
    """The FastAPI app (raises LinkConfigError without a usable IM_LINK_SECRET)."""
    return ApprovalApp(settings, store=store, broker=broker, probes=probes).build()


def serve(
    settings: Settings, host: str, port: int, probes: Sequence[tuple[str, bool, Probe]] = ()
) -> None:
    """Run the app under uvicorn (access log replaced by the app's token-free one)."""
    import uvicorn

    app = create_app(settings, probes=probes)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_level=settings.log_level.lower(),
    )
