"""Is each part this deployment needs up? One set of checks for ``investor-mimic status``
and the web app's ``/health``.

Checks: the warehouse (reachable, migrated to this release's head), the asset storage
(local folder writable, or the S3 bucket reachable), the HTTP cache (SQLite folder or
Redis), the broker (its clock answers), each data source (the demo world's folder, or the
real service: reachable, credentials accepted, rate limit left), plus what the caller
adds — the Dagster instance and daemon come from ``investor_mimic.defs.ops.health``
(only the Dagster layer may import Dagster).

Cheap by default: ``deep=False`` makes no call outside this deployment's own storage (no
S3, no Alpaca, no SEC, no Alpha Vantage — an Alpha Vantage probe spends one of a
free key's 25 daily requests); those checks say ``skipped``. ``deep=True`` probes them.

A check is ``required`` when the deployment cannot work without it; the report is
``down`` when a required check is. Nothing that could hold a secret is shown: URLs
without passwords, errors by type and by the messages written here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from investor_mimic.settings import Settings

State = Literal["ok", "down", "skipped"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``info`` holds plain, secret-free facts."""

    name: str
    status: State
    required: bool
    detail: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "required": self.required,
            "detail": self.detail,
            **dict(self.info),
            "ms": round(self.seconds * 1000, 1),
        }


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]
    deep: bool

    @property
    def down(self) -> list[str]:
        """Names of the required checks that are down."""
        return [c.name for c in self.checks if c.required and c.status == "down"]

    @property
    def ok(self) -> bool:
        return not self.down

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_dict(self) -> dict[str, Any]:
        """JSON for ``status --json`` and ``/health``; ``components`` is the seed's summary."""
        groups = {
            "database": ["warehouse"],
            "cache": ["cache"],
            "apis": [c.name for c in self.checks if c.name == "broker" or "source" in c.name],
        }
        return {
            "status": "ok" if self.ok else "down",
            "deep": self.deep,
            "down": self.down,
            "components": {
                group: "down" if set(names) & set(self.down) else "ok"
                for group, names in groups.items()
            },
            "checks": {c.name: c.as_dict() for c in self.checks},
        }

    def text(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = []
        for c in self.checks:
            need = "required" if c.required else "optional"
            lines.append(f"{c.name:<{width}}  {c.status:<7} {need:<8}  {c.detail}")
        verdict = "all required parts are up" if self.ok else f"DOWN: {', '.join(self.down)}"
        return "\n".join([*lines, verdict])


#: A check the caller adds: (settings, deep) -> Check.
Probe = Callable[[Settings, bool], Check]


def _timed(name: str, required: bool, run: Callable[[], Check]) -> Check:
    """Run one check; an unexpected error is ``down`` by its type only (never its text)."""
    start = time.perf_counter()
    try:
        result = run()
    except Exception as exc:
        result = Check(name, "down", required, f"failed ({type(exc).__name__})")
    return Check(
        result.name,
        result.status,
        result.required,
        result.detail,
        result.info,
        time.perf_counter() - start,
    )


def _writable(path: Path) -> bool:
    """Whether ``path`` (a folder or a file) can be written, or created where it is missing."""
    target = path.resolve()
    if target.exists():
        return os.access(target, os.W_OK)
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent.is_dir() and os.access(parent, os.W_OK)


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


# --- storage ----------------------------------------------------------------------------


def warehouse_check(url: str) -> Check:
    from investor_mimic.core import migrate
    from investor_mimic.core.warehouse import normalise_url

    name = "warehouse"
    database = sa.make_url(normalise_url(url)).database
    local = url.startswith("sqlite") and database and database != ":memory:"
    if local and not _writable(Path(str(database))):
        return Check(name, "down", True, f"SQLite file {database} cannot be opened or created")
    try:
        status = migrate.status(url, compare=False)
    except migrate.MigrationError as exc:
        return Check(name, "down", True, f"unreachable: {exc}")
    info = {"url": migrate.safe_url(url), "revision": status.current, "head": status.head}
    behind = not status.at_head and status.current in [None, *migrate.revisions()]
    if behind and migrate.environment_allows_upgrade():
        return Check(
            name,
            "ok",
            True,
            f"at revision {status.current or 'none (empty)'}; development migrates it "
            f"to {status.head} on first use",
            info,
        )
    if not status.at_head:
        return Check(
            name,
            "down",
            True,
            f"at revision {status.current or 'none (empty)'}, this release needs "
            f"{status.head}: run `{migrate.UPGRADE_COMMAND}`",
            info,
        )
    return Check(name, "ok", True, f"reachable, migrations at head {status.head}", info)


def asset_storage_check(settings: Settings, deep: bool) -> Check:
    name = "asset_storage"
    url = settings.asset_storage_url
    if url is None or not url.startswith("s3://"):
        folder = Path(url) if url else settings.data_dir / "assets"
        if _writable(folder):
            return Check(name, "ok", True, f"local folder {folder} writable")
        return Check(name, "down", True, f"local folder {folder} not writable")
    bucket = url.removeprefix("s3://").split("/", 1)[0]
    if not deep:
        return Check(name, "skipped", True, f"S3 bucket {bucket} not probed (deep check only)")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        return Check(name, "down", True, f"S3 bucket {bucket}: {code}")
    except BotoCoreError as exc:
        return Check(name, "down", True, f"S3 bucket {bucket}: {type(exc).__name__}")
    return Check(name, "ok", True, f"S3 bucket {bucket} reachable")


def cache_check(settings: Settings) -> Check:
    """The HTTP cache and shared rate limits: SQLite under the data dir, or Redis."""
    from investor_mimic.sources.http import HttpStore

    store = HttpStore.from_settings(settings)
    if settings.redis_url is None:
        ok = _writable(store.root)
        state: State = "ok" if ok else "down"
        return Check("cache", state, False, f"SQLite under {store.root}", {"backend": "sqlite"})
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    where = store.backend  # the URL without credentials
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("cache", "down", True, f"Redis {where}: {type(exc).__name__}")
    finally:
        client.close()
    return Check("cache", "ok", True, f"Redis {where} answers", {"backend": "redis"})


# --- broker -----------------------------------------------------------------------------


def broker_check(settings: Settings, deep: bool, factory: Callable[[], Any] | None) -> Check:
    from investor_mimic.broker.models import BrokerError
    from investor_mimic.core.migrate import MigrationError

    name = "broker"
    kind = getattr(settings.trading, "broker", None) or settings.broker
    if kind != "paper" and not deep:
        return Check(name, "skipped", True, f"{kind} not probed (deep check only)")
    try:
        if factory is None:
            from investor_mimic.broker.factory import make_broker

            broker = make_broker(settings)
        else:
            broker = factory()
        clock = broker.clock()
    except BrokerError as exc:
        reason = " ".join(w for w in exc.reason.split() if "://" not in w)[:200]
        return Check(name, "down", True, f"{kind}: {reason}")
    except MigrationError as exc:  # the paper broker's book is in the warehouse
        return Check(name, "down", True, f"{kind}: its warehouse: {exc}")
    info = {"name": broker.name, "market_open": bool(clock.is_open)}
    return Check(name, "ok", True, f"{broker.name}: clock answers", info)


# --- data sources -----------------------------------------------------------------------


def _http_get(
    url: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str]
) -> Any:
    import requests

    return requests.get(url, params=dict(params or {}), headers=dict(headers), timeout=10)


def _reached(name: str, exc: Exception) -> Check:
    return Check(name, "down", True, f"unreachable ({type(exc).__name__})")


def edgar_check(settings: Settings, deep: bool) -> Check:
    name = "source_edgar"
    if settings.edgar_source == "demo":
        return _demo_source(name, settings)
    if not settings.edgar_identity:
        return Check(name, "down", True, "IM_EDGAR_IDENTITY (the SEC User-Agent) is not set")
    if not deep:
        return Check(name, "skipped", True, "SEC EDGAR not probed (deep check only)")
    import requests

    cik = (settings.tracked_filers or ["0000320193"])[0].zfill(10)
    try:
        answer = _http_get(
            f"{settings.edgar_data_url}/submissions/CIK{cik}.json",
            headers={"User-Agent": settings.edgar_identity},
        )
    except requests.RequestException as exc:
        return _reached(name, exc)
    info = {"rate_limit": f"{settings.edgar_max_rps:g} requests/s (shared)"}
    if answer.status_code in (401, 403):
        return Check(name, "down", True, f"SEC refused the User-Agent (HTTP {answer.status_code})")
    if answer.status_code == 429:
        return Check(name, "down", True, "SEC rate limit hit (HTTP 429)", info)
    if answer.status_code != 200:
        return Check(name, "down", True, f"HTTP {answer.status_code}", info)
    return Check(name, "ok", True, "reachable, User-Agent accepted", info)


def alpaca_data_check(settings: Settings, deep: bool) -> Check:
    name = "source_prices"
    if settings.prices_source == "demo":
        return _demo_source(name, settings)
    key, secret = _secret(settings.alpaca_api_key), _secret(settings.alpaca_secret_key)
    if not key or not secret:
        return Check(name, "down", True, "ALPACA_API_KEY / ALPACA_SECRET_KEY are not set")
    if not deep:
        return Check(name, "skipped", True, "Alpaca market data not probed (deep check only)")
    import requests

    base = (settings.alpaca_data_url or "https://data.alpaca.markets").rstrip("/")
    try:
        answer = _http_get(
            f"{base}/v2/stocks/{settings.benchmark_ticker}/bars/latest",
            params={"feed": "iex"},
            headers={"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret},
        )
    except requests.RequestException as exc:
        return _reached(name, exc)
    left = answer.headers.get("X-RateLimit-Remaining")
    info = {} if left is None else {"rate_limit_left": int(left)}
    if answer.status_code in (401, 403):
        return Check(name, "down", True, f"credentials refused (HTTP {answer.status_code})")
    if answer.status_code == 429 or left == "0":
        return Check(name, "down", True, "rate limit exhausted", info)
    if answer.status_code != 200:
        return Check(name, "down", True, f"HTTP {answer.status_code}", info)
    return Check(name, "ok", True, "reachable, credentials accepted", info)


def alpha_vantage_check(settings: Settings, deep: bool) -> Check:
    from investor_mimic.sources.alpha_vantage import THROTTLE_KEYS

    name = "source_news"
    if settings.news_source == "demo":
        return _demo_source(name, settings)
    key = _secret(settings.alphavantage_api_key)
    if not key:
        return Check(name, "down", True, "IM_ALPHAVANTAGE_API_KEY is not set")
    if not deep:
        return Check(name, "skipped", True, "Alpha Vantage not probed (deep check only)")
    import requests

    params = {
        "function": "NEWS_SENTIMENT",
        "tickers": settings.benchmark_ticker,
        "limit": "1",
        "apikey": key,
    }
    try:
        answer = _http_get(settings.alphavantage_url, params=params, headers={})
        payload = answer.json()
    except (requests.RequestException, ValueError) as exc:
        return _reached(name, exc)
    info = {"rate_limit": f"{settings.alphavantage_rpm:g} requests/min"}
    if not isinstance(payload, dict):
        return Check(name, "down", True, "answer is not a JSON object", info)
    if "Error Message" in payload or "apikey" in str(payload.get("Information", "")).lower():
        return Check(name, "down", True, "API key refused", info)
    if any(k in payload for k in THROTTLE_KEYS):
        return Check(name, "down", True, "rate limit exhausted (throttle note)", info)
    if not isinstance(payload.get("feed"), list):
        return Check(name, "down", True, "no 'feed' in the answer", info)
    return Check(name, "ok", True, "reachable, API key accepted", info)


def _demo_source(name: str, settings: Settings) -> Check:
    folder = settings.world_dir
    if folder.is_dir():
        return Check(name, "ok", False, f"demo world {settings.world_id}")
    return Check(
        name, "down", False, f"demo world {settings.world_id} not generated (investor-mimic demo)"
    )


# --- the report -------------------------------------------------------------------------


def run(
    settings: Settings,
    *,
    deep: bool = False,
    warehouse_url: str | None = None,
    broker_factory: Callable[[], Any] | None = None,
    extra: Sequence[tuple[str, bool, Probe]] = (),
) -> Report:
    """Every check, in a fixed order; ``extra``: (name, required, probe) the caller adds."""
    url = warehouse_url or settings.resolved_warehouse_url
    planned: list[tuple[str, bool, Callable[[], Check]]] = [
        ("warehouse", True, lambda: warehouse_check(url)),
        ("asset_storage", True, lambda: asset_storage_check(settings, deep)),
        ("cache", settings.redis_url is not None, lambda: cache_check(settings)),
        ("broker", True, lambda: broker_check(settings, deep, broker_factory)),
        ("source_edgar", settings.edgar_source != "demo", lambda: edgar_check(settings, deep)),
        (
            "source_prices",
            settings.prices_source != "demo",
            lambda: alpaca_data_check(settings, deep),
        ),
        (
            "source_news",
            settings.news_source != "demo",
            lambda: alpha_vantage_check(settings, deep),
        ),
    ]
    for name, required, probe in extra:
        planned.append((name, required, lambda probe=probe: probe(settings, deep)))  # type: ignore[misc]
    return Report(tuple(_timed(n, r, fn) for n, r, fn in planned), deep)
