"""What each environment (development, staging, production) must configure, checked at once.

Why its own module: ``investor-mimic config validate`` (before a deploy) and the code
location (when it loads in staging or production) must refuse the same incomplete
configurations, and a person fixing one wants *every* missing or malformed variable named
in one go, not one per restart. Problems name environment variables and never carry a
value: URLs and keys are secrets.

development: anything the defaults run (SQLite, local Parquet, paper broker, demo world).
staging: PostgreSQL for the Dagster instance and the warehouse, S3 asset storage, Redis
for the shared HTTP cache and rate limits, Alpaca paper trading, an approval link secret.
production: staging's requirements plus real sources and an https public URL; live money
only with ``ALPACA_PAPER=false`` *and* ``IM_ALPACA_LIVE_TRADING_CONFIRMED=true``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Set
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic_settings import SettingsError

from investor_mimic.settings import Environment, Settings, TradingSettings

ENVIRONMENTS: tuple[Environment, ...] = ("development", "staging", "production")
POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg2")
MIN_LINK_SECRET = 32  # approval.links.MIN_SECRET_LENGTH; approval imports FastAPI, core may not


@dataclass(frozen=True)
class Problem:
    """One missing or malformed setting: the variables that set it, and what is wrong."""

    variables: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        names = " / ".join(self.variables) if self.variables else "settings"
        return f"{names}: {self.message}"


def variables_of(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The environment variables that set ``field``: ``IM_<NAME>`` and any seed aliases."""
    alias = model.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        names = tuple(str(c) for c in alias.choices if isinstance(c, str) and c.isupper())
        return names or (f"IM_{field.upper()}",)
    return (f"IM_{field.upper()}",)


def _field_of(model: type[BaseModel], loc: str) -> str | None:
    """The field an error location names (a field name or any of its aliases, any case)."""
    wanted = loc.lower()
    for name in model.model_fields:
        if name == wanted or wanted in (v.lower() for v in variables_of(model, name)):
            return name
    return None


def _load(model: type[BaseModel], fixed: dict[str, Any]) -> tuple[Any, list[Problem], set[str]]:
    """Build ``model`` from the environment, collecting every bad field; a bad field is
    replaced by its default and the load retried, so all of them are reported.

    A JSON value that does not parse stops pydantic-settings before validation, whatever
    the keyword arguments say; its variables are hidden from ``os.environ`` for the retry
    (and put back) so the remaining fields are still checked.
    """
    problems: list[Problem] = []
    bad: set[str] = set()
    overrides = dict(fixed)
    hidden: dict[str, str] = {}
    try:
        for _ in range(len(model.model_fields) + 1):
            try:
                return model(**overrides), problems, bad
            except SettingsError as exc:
                match = re.search(r'field "([^"]+)"', str(exc))
                field = _field_of(model, match.group(1)) if match else None
                if field is None or field in bad:  # not in os.environ (.env): stop here
                    if field is not None:
                        problems.append(Problem(variables_of(model, field), "not valid JSON"))
                    return model.model_construct(**overrides), problems, bad
                problems.append(Problem(variables_of(model, field), "not valid JSON"))
                bad.add(field)
                overrides[field] = _default(model, field)
                for name in list(os.environ):
                    if name.upper() in variables_of(model, field):
                        hidden[name] = os.environ.pop(name)
            except ValidationError as exc:
                progressed = False
                for error in exc.errors(include_input=False, include_url=False):
                    loc = error["loc"]
                    field = _field_of(model, str(loc[0])) if loc else None
                    message = str(error["msg"])
                    if field is None:
                        problems.append(Problem((), message))
                        continue
                    problems.append(Problem(variables_of(model, field), message))
                    if field not in overrides:
                        bad.add(field)
                        overrides[field] = _default(model, field)
                        progressed = True
                if not progressed:  # a rule between fields: nothing to replace, so stop
                    return model.model_construct(**overrides), problems, bad
        raise RuntimeError(f"{model.__name__}: settings did not converge")  # pragma: no cover
    finally:
        os.environ.update(hidden)


def _default(model: type[BaseModel], field: str) -> Any:
    info = model.model_fields[field]
    return info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]


def load_settings(**fixed: Any) -> tuple[Settings, list[Problem], set[str]]:
    """Settings from the environment and ``.env``, every malformed variable as a
    :class:`Problem` (with the default in its place), and the names of the bad fields."""
    trading, problems, bad_trading = _load(TradingSettings, {})
    settings, more, bad = _load(Settings, {"trading": trading, **fixed})
    return settings, problems + more, bad | {f"trading.{f}" for f in bad_trading}


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def environment_problems(
    settings: Settings,
    environment: Environment | None = None,
    skip: Set[str] = frozenset(),
) -> list[Problem]:
    """What ``environment`` (default ``settings.environment``) still needs; ``skip`` names
    fields already reported as malformed."""
    env = environment or settings.environment
    problems: list[Problem] = []

    def need(field: str, message: str) -> None:
        if field not in skip:
            problems.append(Problem(variables_of(Settings, field), message))

    def secret(field: str) -> str | None:
        value = getattr(settings, field)
        return value.get_secret_value() if value is not None else None

    deployed = env in ("staging", "production")
    dagster_pg = secret("dagster_pg_url")
    if not settings.warehouse_url:
        if deployed:
            need(
                "warehouse_url", f"{env} needs the warehouse on PostgreSQL (postgresql+psycopg2://)"
            )
    elif _scheme(settings.warehouse_url) not in (*POSTGRES_SCHEMES, "sqlite"):
        need("warehouse_url", "not a postgresql+psycopg2:// or sqlite:/// URL")
    elif deployed and _scheme(settings.warehouse_url) not in POSTGRES_SCHEMES:
        need("warehouse_url", f"{env} needs PostgreSQL, not SQLite")
    if dagster_pg and _scheme(dagster_pg) not in POSTGRES_SCHEMES:
        need("dagster_pg_url", "not a postgresql:// URL")
    elif deployed and not dagster_pg:
        need("dagster_pg_url", f"{env} keeps the Dagster instance on PostgreSQL: set its URL")

    storage = settings.asset_storage_url
    if storage and "://" in storage and _scheme(storage) != "s3":
        need("asset_storage_url", "only local paths and s3://bucket/prefix are supported")
    elif storage and _scheme(storage) == "s3" and not urlsplit(storage).netloc:
        need("asset_storage_url", "names no bucket (s3://bucket/prefix)")
    elif deployed and not (storage and _scheme(storage) == "s3"):
        need("asset_storage_url", f"{env} stores assets on S3: set s3://bucket/prefix")
    endpoint = settings.s3_endpoint_url
    if endpoint and (_scheme(endpoint) not in ("http", "https") or not urlsplit(endpoint).netloc):
        need("s3_endpoint_url", "not an http(s)://host[:port] URL")

    if settings.redis_url and _scheme(settings.redis_url) not in ("redis", "rediss", "unix"):
        need("redis_url", "not a redis:// or rediss:// URL")
    elif deployed and not settings.redis_url:
        need("redis_url", f"{env} shares the HTTP cache and rate limits across processes in Redis")

    alpaca_used = settings.broker == "alpaca" or settings.prices_source == "alpaca"
    if deployed and settings.broker != "alpaca":
        need("broker", f"{env} sends approved orders to Alpaca: set IM_BROKER=alpaca")
    if alpaca_used or deployed:
        for field in ("alpaca_api_key", "alpaca_secret_key"):
            if not secret(field):
                need(field, "Alpaca needs both keys")
    if not settings.alpaca_paper:
        if env == "staging":
            need("alpaca_paper", "staging trades paper only")
        elif not settings.alpaca_live_trading_confirmed:
            need(
                "alpaca_paper",
                "false alone does not trade live: set IM_ALPACA_LIVE_TRADING_CONFIRMED=true "
                "as well, or leave it true",
            )

    if settings.edgar_source == "sec" and "@" not in (settings.edgar_identity or ""):
        need("edgar_identity", 'the SEC requires a User-Agent with an email ("Name you@host")')
    if settings.news_source == "alphavantage" and not secret("alphavantage_api_key"):
        need("alphavantage_api_key", "IM_NEWS_SOURCE=alphavantage needs the key")
    if env == "production":
        for field, real in (
            ("edgar_source", "sec"),
            ("prices_source", "alpaca"),
            ("news_source", "alphavantage"),
        ):
            if getattr(settings, field) != real:
                need(field, f"production reads real data: set {real}")
        if _scheme(settings.public_url) != "https":
            need("public_url", "production serves approval links over https")

    if deployed:
        link = secret("link_secret") or ""
        if len(link) < MIN_LINK_SECRET:
            need("link_secret", f"approval links need a secret of {MIN_LINK_SECRET}+ characters")
    return problems


def validate(environment: Environment | None = None) -> tuple[Environment, list[Problem]]:
    """Every problem of this process's configuration for ``environment`` (default: the
    configured ``IM_ENVIRONMENT``), malformed values first."""
    settings, problems, bad = load_settings()
    env = environment or settings.environment
    return env, problems + environment_problems(settings, env, bad)


class EnvironmentConfigError(ValueError):
    """The configuration does not meet its environment's requirements (all listed)."""


def require_complete(settings: Settings) -> None:
    """Raise, listing every problem, when a staging/production ``settings`` is incomplete."""
    if settings.environment == "development":
        return
    problems = environment_problems(settings)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise EnvironmentConfigError(
            f"{settings.environment} configuration is incomplete "
            f"(`investor-mimic config validate` lists the same):\n{listed}"
        )
