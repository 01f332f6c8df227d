"""Typed settings read from the environment (prefix ``IM_``) and an optional ``.env`` file.

Why one object: every switch between the offline demo world and a real service lives
here, so the README's settings table and the code cannot drift apart. Secrets are
``SecretStr`` so they never print in logs, reprs or Dagster metadata.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WorldSize = Literal["tiny", "demo", "large"]
FitMethod = Literal["ic", "ridge"]
SizingMethod = Literal["equal", "score_weighted", "inverse_volatility"]
Environment = Literal["development", "staging", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _env(name: str, *seed_names: str) -> AliasChoices:
    """``IM_<NAME>`` plus the names the seed project's users already know (``MAX_POSITIONS``)."""
    return AliasChoices(f"IM_{name.upper()}", *seed_names)


class TradingSettings(BaseSettings):
    """Risk limits, sizing, costs and the broker: everything the portfolio logic obeys.

    Why its own typed model: :mod:`investor_mimic.portfolio` (and the backtest) take this
    one object, so a test or a backtest grid builds ``TradingSettings(max_positions=5)``
    without touching the environment. Fractions are of equity (0.10 = 10 %). Each field
    reads ``IM_<NAME>``; the seed's names (``MAX_POSITIONS``, ``REBALANCE_FREQUENCY``,
    ``SIGNAL_THRESHOLD``, ``STOP_LOSS_PCT``, ``TAKE_PROFIT_PCT``) are accepted as aliases;
    the broker itself (``IM_BROKER``) and ``PAPER_TRADING`` (an alias of ``ALPACA_PAPER``)
    are execution settings of :class:`Settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="IM_",
        env_file=".env",
        extra="ignore",
        validate_by_name=True,
        frozen=True,
        env_ignore_empty=True,
    )

    max_positions: int = Field(
        10,
        ge=1,
        validation_alias=_env("max_positions", "MAX_POSITIONS"),
        description="Most positions held at once (seed name MAX_POSITIONS).",
    )
    rebalance_frequency: int = Field(
        10,
        ge=1,
        validation_alias=_env("rebalance_frequency", "REBALANCE_FREQUENCY"),
        description="Trading days between rebalances; stops are checked every day "
        "(seed name REBALANCE_FREQUENCY).",
    )
    signal_threshold: float = Field(
        0.6,
        ge=0.0,
        lt=1.0,
        validation_alias=_env("signal_threshold", "SIGNAL_THRESHOLD"),
        description="Percentile of the day's composite a name must reach to be bought "
        "(seed name SIGNAL_THRESHOLD).",
    )
    stop_loss_pct: float | None = Field(
        0.20,
        gt=0.0,
        lt=1.0,
        validation_alias=_env("stop_loss_pct", "STOP_LOSS_PCT"),
        description="Exit a position this far below its entry price; unset = off "
        "(seed name STOP_LOSS_PCT).",
    )
    take_profit_pct: float | None = Field(
        None,
        gt=0.0,
        validation_alias=_env("take_profit_pct", "TAKE_PROFIT_PCT"),
        description="Exit a position this far above its entry price; unset = off.",
    )
    max_position_pct: float = Field(
        0.10,
        gt=0.0,
        le=1.0,
        validation_alias=_env("max_position_pct"),
        description="Largest weight a buy may bring one name to.",
    )
    max_sector_pct: float = Field(
        0.30,
        gt=0.0,
        le=1.0,
        validation_alias=_env("max_sector_pct"),
        description="Largest weight a buy may bring one sector to.",
    )
    cash_buffer_pct: float = Field(
        0.05,
        ge=0.0,
        lt=1.0,
        validation_alias=_env("cash_buffer_pct"),
        description="Share of equity the targets leave in cash.",
    )
    min_trade_value: float = Field(
        100.0,
        ge=0.0,
        validation_alias=_env("min_trade_value"),
        description="Orders worth less (dollars at the reference price) are dropped.",
    )
    max_turnover: float = Field(
        1.0,
        gt=0.0,
        validation_alias=_env("max_turnover"),
        description="Most traded value per rebalance as a share of equity (buys + sells; "
        "stop-loss and take-profit exits not counted).",
    )
    sizing_method: SizingMethod = Field(
        "equal",
        validation_alias=_env("sizing_method"),
        description="Target weights: equal, score_weighted or inverse_volatility.",
    )
    volatility_days: int = Field(
        63,
        ge=5,
        validation_alias=_env("volatility_days"),
        description="Trading days of daily returns behind inverse-volatility sizing.",
    )
    commission_bps: float = Field(
        1.0,
        ge=0.0,
        validation_alias=_env("commission_bps"),
        description="Commission per order in basis points of its value (proposals, paper fills).",
    )
    slippage_bps: float = Field(
        5.0,
        ge=0.0,
        validation_alias=_env("slippage_bps"),
        description="Price concession per fill in basis points (proposals, paper fills).",
    )
    fractional_shares: bool = Field(
        False,
        validation_alias=_env("fractional_shares"),
        description="Trade fractional shares; whole shares when false.",
    )
    paper_initial_cash: float = Field(
        100_000.0,
        gt=0.0,
        validation_alias=_env("paper_initial_cash"),
        description="Cash the paper broker's account starts with.",
    )
    paper_max_volume_pct: float = Field(
        0.05,
        gt=0.0,
        le=1.0,
        validation_alias=_env("paper_max_volume_pct"),
        description="Share of a bar's volume one paper fill may take (the rest expires).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TradingSettings:
        if self.max_position_pct > self.max_sector_pct:
            raise ValueError(
                f"max_position_pct ({self.max_position_pct}) exceeds max_sector_pct "
                f"({self.max_sector_pct}): one name would break its sector's limit"
            )
        return self


class Settings(BaseSettings):
    """All configuration; defaults run the offline demo world with no keys."""

    model_config = SettingsConfigDict(
        env_prefix="IM_",
        env_file=".env",
        extra="ignore",
        validate_by_name=True,
        env_ignore_empty=True,  # `DATABASE_URL=` in an env file means unset, not ""
    )

    environment: Environment = Field(
        "development",
        validation_alias=AliasChoices("IM_ENVIRONMENT", "ENVIRONMENT"),
        description="development (SQLite, local Parquet, paper broker, demo world), staging or "
        "production (PostgreSQL, S3, Redis, Alpaca; checked by `investor-mimic config "
        "validate`, enforced when the code location loads). Also read from ENVIRONMENT.",
    )
    log_level: LogLevel = Field(
        "INFO",
        validation_alias=AliasChoices("IM_LOG_LEVEL", "LOG_LEVEL"),
        description="Log level of the `investor-mimic` command and the web app (also LOG_LEVEL).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    data_dir: Path = Field(
        Path(".data"), description="Where worlds, Parquet and the SQLite warehouse live."
    )

    # demo world
    world_size: WorldSize = Field("demo", description="Demo world size: tiny, demo or large.")
    world_seed: int = Field(7, description="Seed of the deterministic demo world.")
    world_null: bool = Field(False, description="Plant no signal in the demo world.")
    history_start: date = Field(
        date(2019, 1, 2),
        description="First trading-day partition with real sources (on the demo world the "
        "partitions span the world itself).",
    )

    # sources: "demo" reads the generated world; the others call the real service
    edgar_source: Literal["demo", "sec"] = Field("demo", description="13F/Form 4 source.")
    edgar_identity: str | None = Field(
        None, description='SEC User-Agent, e.g. "Jane Doe jane@example.com" (required for sec).'
    )
    edgar_www_url: str = Field("https://www.sec.gov", description="EDGAR archives base URL.")
    edgar_data_url: str = Field(
        "https://data.sec.gov", description="EDGAR submissions API base URL."
    )
    edgar_max_rps: float = Field(10.0, description="Request ceiling; the SEC allows 10/s.")
    tracked_filers: list[str] = Field(
        default_factory=list, description="13F filer CIKs to track with real EDGAR (JSON list)."
    )
    universe_path: Path | None = Field(
        None,
        description="CSV (ticker,cik,cusip,name,sector[,valid_from,valid_to]) of the real "
        "universe; default the one `investor-mimic universe build` writes under "
        "data_dir/universe.",
    )
    benchmark_ticker: str = Field("SPY", description="Benchmark for relative strength (real data).")

    prices_source: Literal["demo", "alpaca"] = Field("demo", description="Daily bars source.")
    alpaca_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("IM_ALPACA_API_KEY", "ALPACA_API_KEY"),
        description="Alpaca key id (also read from ALPACA_API_KEY).",
    )
    alpaca_secret_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("IM_ALPACA_SECRET_KEY", "ALPACA_SECRET_KEY"),
        description="Alpaca secret key (also read from ALPACA_SECRET_KEY).",
    )
    alpaca_data_url: str | None = Field(None, description="Override of Alpaca's data API URL.")

    news_source: Literal["demo", "alphavantage"] = Field(
        "demo", description="News sentiment source."
    )
    alphavantage_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("IM_ALPHAVANTAGE_API_KEY", "ALPHA_VANTAGE_API_KEY"),
        description="Alpha Vantage API key (also read from ALPHA_VANTAGE_API_KEY).",
    )
    alphavantage_url: str = Field(
        "https://www.alphavantage.co/query", description="Alpha Vantage URL."
    )
    alphavantage_rpm: float = Field(5.0, description="Requests per minute (free tier: 5).")
    alphavantage_rpd: int = Field(
        25,
        ge=1,
        description="Requests one news run may make (free tier: 25 a day); a premium key "
        "raises it. News comes market-wide by time window, filtered to the universe.",
    )
    source_retry_seconds: float = Field(
        30.0,
        gt=0,
        description="First wait before a source step is retried after a transient failure "
        "(429, 5xx, no answer, a throttle note); doubles per retry.",
    )

    # execution (approved orders at a broker)
    broker: Literal["paper", "alpaca"] = Field(
        "paper", description="Where approved orders go: the built-in paper broker or alpaca."
    )
    alpaca_paper: bool = Field(
        True,
        validation_alias=AliasChoices("IM_ALPACA_PAPER", "ALPACA_PAPER", "PAPER_TRADING"),
        description="Alpaca paper account (default; also read from the seed's PAPER_TRADING). "
        "false alone does not trade live: "
        "IM_ALPACA_LIVE_TRADING_CONFIRMED must be true too.",
    )
    alpaca_live_trading_confirmed: bool = Field(
        False,
        description="The second, explicit opt-in to trade real money on Alpaca "
        "(only with ALPACA_PAPER=false).",
    )
    alpaca_trading_url: str | None = Field(
        None, description="Override of Alpaca's trading API URL (proxies, tests)."
    )
    broker_timeout_seconds: float = Field(
        10.0, gt=0, description="Per-request timeout towards the broker."
    )
    kill_switch: bool = Field(
        False,
        description="Stop all order execution (also a flag: investor-mimic kill-switch on).",
    )
    approval_expiry: Literal["next_open", "never"] = Field(
        "next_open",
        description="When an unapproved request expires: at the open after its proposal "
        "day, or never.",
    )

    # approval web app, signed links and notifications (issue 9)
    public_url: str = Field(
        "http://127.0.0.1:8000",
        validation_alias=AliasChoices("IM_PUBLIC_URL", "APPROVAL_BASE_URL"),
        description="Base URL of the approval web app as people reach it (links in emails "
        "and Slack point here; https in production, behind TLS).",
    )
    web_host: str = Field("127.0.0.1", description="Address `investor-mimic serve` binds to.")
    web_port: int = Field(8000, ge=0, le=65535, description="Port `investor-mimic serve` binds to.")
    link_secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key of approval links and login sessions (at least 32 "
        "characters; `make serve` writes one into .env when missing).",
    )
    link_ttl_hours: float = Field(
        24.0, gt=0, description="An approval link stops working this long after it was sent."
    )
    web_user: str | None = Field(None, description="User name of the web app's login.")
    web_password_hash: SecretStr | None = Field(
        None,
        description="Argon2 hash of the web user's password (`investor-mimic hash-password`).",
    )
    smtp_host: str | None = Field(
        None,
        validation_alias=AliasChoices("IM_SMTP_HOST", "SMTP_SERVER"),
        description="SMTP server for email notifications (also SMTP_SERVER); unset = no email.",
    )
    smtp_port: int = Field(
        587, validation_alias=AliasChoices("IM_SMTP_PORT", "SMTP_PORT"), description="SMTP port."
    )
    smtp_username: str | None = Field(
        None,
        validation_alias=AliasChoices("IM_SMTP_USERNAME", "SMTP_USERNAME"),
        description="SMTP login (also SMTP_USERNAME); unset = no login.",
    )
    smtp_password: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("IM_SMTP_PASSWORD", "SMTP_PASSWORD"),
        description="SMTP password (also SMTP_PASSWORD).",
    )
    smtp_starttls: bool = Field(
        True, description="Upgrade the SMTP connection with STARTTLS (required before login)."
    )
    smtp_ca_file: Path | None = Field(
        None, description="Extra CA certificate(s) to trust for STARTTLS (private relays)."
    )
    smtp_sender: str = Field(
        "investor-mimic@localhost", description="From address of notification emails."
    )
    alert_email: str | None = Field(
        None,
        validation_alias=AliasChoices("IM_ALERT_EMAIL", "ALERT_EMAIL"),
        description="Comma-separated recipients of notification emails (also ALERT_EMAIL).",
    )
    slack_webhook_url: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("IM_SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL"),
        description="Slack incoming webhook (also SLACK_WEBHOOK_URL); unset = no Slack.",
    )
    apprise_urls: dict[str, list[SecretStr]] = Field(
        default_factory=dict,
        description='Further channels by route, as apprise URLs (JSON), e.g. {"critical": '
        '["twilio://…"], "trade": ["tgram://…"]}: SMS for critical failures, Telegram for '
        "trade confirmations.",
    )
    email_routes: list[str] = Field(
        ["approval", "critical", "summary"],
        description="What email gets (JSON list of severities info/warning/critical and "
        "topics approval/decision/trade/alert/summary).",
    )
    slack_routes: list[str] = Field(
        ["approval", "decision", "trade", "alert"],
        description="What Slack gets (real-time notices; same names as email_routes).",
    )
    notify_attempts: int = Field(
        3, ge=1, description="Attempts per notification channel (exponential backoff)."
    )
    notify_backoff_seconds: float = Field(
        1.0, ge=0, description="First wait between attempts; doubles each time."
    )
    notify_timeout_seconds: float = Field(
        10.0, gt=0, description="Per-attempt timeout of a notification channel."
    )

    # storage
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("IM_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis for the HTTP cache and the shared rate limits (also read from "
        "REDIS_URL); default SQLite files under data_dir/http.",
    )
    warehouse_url: str | None = Field(
        None,
        validation_alias=AliasChoices("IM_WAREHOUSE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the warehouse (also read from DATABASE_URL); default "
        "SQLite under data_dir. PostgreSQL as postgresql+psycopg2://user:pass@host:5432/db.",
    )
    dagster_pg_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL of the Dagster instance (runs, events, schedules); "
        "dagster.yaml names this variable and dagster-postgres reads it at run time. "
        "Required in staging and production.",
    )

    asset_storage_url: str | None = Field(
        None,
        description="Where asset Parquet files go: default data_dir/assets, or s3://bucket/prefix "
        "(credentials from the standard AWS_* variables).",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible store (e.g. http://127.0.0.1:9000)."
    )

    # research
    fit_method: FitMethod = Field("ic", description="Weight fitting: ic (IC-weighted) or ridge.")
    horizon_days: int = Field(20, description="Forward-return horizon in trading days.")
    sector_neutral: bool = Field(False, description="Demean factors within sector.")
    stale_after_days: int = Field(5, description="Trading days after which a source is stale.")

    # Dagster UI
    code_url: str | None = Field(
        None,
        description="Web URL of this repository on GitHub or GitLab: the UI's code references "
        "become links to it (default: local file paths).",
    )
    code_branch: str = Field("main", description="Branch the UI's code links point at.")

    # trading: one typed model, also settable field by field (rows below this one)
    trading: TradingSettings = Field(
        default_factory=TradingSettings,
        description="All trading settings as one JSON object; each also has its own variable.",
    )

    @property
    def resolved_warehouse_url(self) -> str:
        if self.warehouse_url:
            return self.warehouse_url
        return f"sqlite:///{(self.data_dir / 'warehouse.db').resolve()}"

    @property
    def universe_dir(self) -> Path:
        """Where `investor-mimic universe build` writes: one folder per EDGAR source."""
        name = "sec" if self.edgar_source == "sec" else self.world_dir.name
        return self.data_dir / "universe" / name

    @property
    def world_id(self) -> str:
        """``<size>-<seed>[-null]``: names the world's folder and the data dir's world."""
        return world_id(self.world_size, self.world_seed, self.world_null)

    @property
    def world_dir(self) -> Path:
        return self.data_dir / "worlds" / self.world_id


def world_id(size: str, seed: int | str, null: bool) -> str:
    return f"{size}-{seed}{'-null' if null else ''}"


#: The demo world that ``investor-mimic demo`` last built in a data dir (IM_WORLD_* lines).
DEMO_WORLD_FILE = "demo_world.env"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process; tests build their own ``Settings(...)`` instead.

    Precedence: environment, then ``<data_dir>/demo_world.env`` (see
    :func:`remember_demo_world`), then ``.env``, then defaults. Why the middle file: the
    UI started after ``investor-mimic demo --size tiny`` must load the same definitions
    the demo's runs were made from (the partitions span the world), or it would show
    partitions no one can fill and warn that every run came from another version.
    """
    settings = Settings()
    remembered = settings.data_dir / DEMO_WORLD_FILE
    if remembered.is_file():
        return Settings(_env_file=(".env", remembered))
    return settings


def remember_demo_world(settings: Settings) -> Path:
    """Record the demo world of ``settings`` in its data dir for later processes there.

    Also the record of which world the data dir's warehouse and asset files hold (see
    :func:`investor_mimic.demo.runner.reset_for_world`); written whole or not at all.
    """
    import os

    path = settings.data_dir / DEMO_WORLD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{DEMO_WORLD_FILE}.tmp")
    tmp.write_text(
        f"IM_WORLD_SIZE={settings.world_size}\n"
        f"IM_WORLD_SEED={settings.world_seed}\n"
        f"IM_WORLD_NULL={str(settings.world_null).lower()}\n"
    )
    os.replace(tmp, path)
    return path


def remembered_world_id(data_dir: Path) -> str | None:
    """The id of the world :func:`remember_demo_world` recorded in ``data_dir``, if any."""
    path = data_dir / DEMO_WORLD_FILE
    if not path.is_file():
        return None
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    try:
        return world_id(
            values["IM_WORLD_SIZE"], values["IM_WORLD_SEED"], values["IM_WORLD_NULL"] == "true"
        )
    except KeyError:
        return None


def _shown(value: object) -> str:
    """Lists as the JSON a person would type into the variable."""
    if isinstance(value, list):
        import json

        return json.dumps(value)
    return str(value)


def settings_table() -> str:
    """The README's settings table, generated so docs and code cannot drift (a test compares)."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        if name == "trading":
            rows.append(f"| `IM_TRADING` | (unset) | {info.description} |")
            continue
        default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
        shown = "(unset)" if default in (None, [], {}) else f"`{_shown(default)}`"
        rows.append(f"| `IM_{name.upper()}` | {shown} | {info.description} |")
    for name, info in TradingSettings.model_fields.items():
        shown = "(unset)" if info.default is None else f"`{info.default}`"
        rows.append(f"| `IM_{name.upper()}` | {shown} | {info.description} |")
    return "\n".join(rows)
