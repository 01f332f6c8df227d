"""``GET /health``: is each part this deployment needs up?

Shape (the seed's): ``{"status": "ok" | "down", "components": {"database": {...},
"cache": {...}, "apis": {...}}}``; the HTTP status is 200 when every *required* part is
up and 503 otherwise. Required: the warehouse; the broker (approvals are decided on its
clock); Redis when ``REDIS_URL`` is set (else the cache is local files). Notification
channels are reported as configured or not — probing an SMTP server on every health
check would be a nuisance. No URL, host or error text that could hold a secret is
echoed: errors are reported by type only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from investor_mimic.approval.store import ApprovalStore
from investor_mimic.broker.base import Broker
from investor_mimic.broker.models import BrokerError


def _database(store: ApprovalStore) -> dict[str, Any]:
    try:
        with store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return {"status": "down", "required": True, "error": type(exc).__name__}
    return {"status": "ok", "required": True, "dialect": store.engine.dialect.name}


def _cache(settings: Any) -> dict[str, Any]:
    if settings.redis_url is None:
        path = Path(settings.data_dir).resolve()
        while not path.exists() and path != path.parent:
            path = path.parent
        writable = os.access(path, os.W_OK)
        return {
            "status": "ok" if writable else "down",
            "required": False,
            "backend": "local files",
        }
    try:
        import redis

        url = settings.redis_url
        url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return {"status": "down", "required": True, "backend": "redis", "error": type(exc).__name__}
    return {"status": "ok", "required": True, "backend": "redis"}


def _apis(settings: Any, broker_factory: Callable[[], Broker]) -> dict[str, Any]:
    broker: dict[str, Any]
    try:
        b = broker_factory()
        clock = b.clock()
        broker = {"status": "ok", "name": b.name, "market_open": clock.is_open}
    except BrokerError as exc:
        broker = {"status": "down", "error": type(exc).__name__, "reason": _safe(exc.reason)}
    except Exception as exc:
        broker = {"status": "down", "error": type(exc).__name__}
    channels = {
        "email": bool(settings.smtp_host and settings.alert_email),
        "slack": settings.slack_webhook_url is not None,
        "apprise": sum(len(v) for v in settings.apprise_urls.values()),
    }
    return {
        "status": broker["status"],
        "required": True,
        "broker": broker,
        "notifications": channels,
    }


def _safe(reason: str) -> str:
    """A broker's reason without anything that looks like a URL."""
    return " ".join(w for w in reason.split() if "://" not in w)[:200]


def check(
    settings: Any, store: ApprovalStore, broker_factory: Callable[[], Broker]
) -> tuple[int, dict[str, Any]]:
    components = {
        "database": _database(store),
        "cache": _cache(settings),
        "apis": _apis(settings, broker_factory),
    }
    down = [k for k, v in components.items() if v["required"] and v["status"] != "ok"]
    body: dict[str, Any] = {"status": "down" if down else "ok", "components": components}
    if down:
        body["down"] = down
    return (503 if down else 200), body
