"""The evening's source sensors: each daily source is fetched when its publisher has it.

Why sensors and not a clock: EDGAR publishes the daily form index of day D only after D
ends (late in the evening, sometimes the next morning), so a fixed 18:30 run asked for
an index that was not there and failed every evening. Bars and news of session D exist
once D's close has passed (13:00 on an early-close day, from the exchange calendar).

- :data:`market_close_sensor` requests ``prices`` and ``news_sentiment`` for session D
  once D's close plus :data:`SETTLE` has passed.
- :data:`form4_index_sensor` probes EDGAR for the daily indexes partition D reads and
  requests ``insider_trades`` for D once every one of them is published; until then it
  skips, naming the day and the URL it is waiting for.

Both look at the sessions after the latest one already fetched (at most
:data:`LOOKBACK_SESSIONS` of them: older gaps are a backfill's job), and give each
request a run key per day, so a request is made once however often they tick.
Downstream assets follow through their automation conditions (:mod:`..automation`).
The decisions are plain functions of the time (``now``, naive New York) so a test can
drive an evening without waiting for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from investor_mimic.core.calendar import (
    edgar_business_day,
    is_trading_day,
    previous_trading_day,
    session_close,
)
from investor_mimic.defs.partitions import TIMEZONE, trading_day_partitions
from investor_mimic.defs.sources.assets import insider_trades, news_sentiment, prices
from investor_mimic.settings import get_settings
from investor_mimic.sources.backends import edgar_from_settings
from investor_mimic.sources.edgar import EdgarClient, daily_index_path

#: After the close, how long before a session's daily bars are final at Alpaca.
SETTLE = timedelta(minutes=15)
#: Sessions the sensors look back over for a day not yet fetched.
LOOKBACK_SESSIONS = 5

insider_trades_job = dg.define_asset_job(
    "insider_trades_job",
    selection=dg.AssetSelection.assets(insider_trades),
    partitions_def=trading_day_partitions,
    description="The Form 4 trades of trading days (requested by form4_index_sensor once "
    "EDGAR has published the day's daily index).",
)
market_close_job = dg.define_asset_job(
    "market_close_job",
    selection=dg.AssetSelection.assets(prices, news_sentiment),
    partitions_def=trading_day_partitions,
    description="Bars and news of trading days (requested by market_close_sensor after the close).",
)


def new_york_now() -> datetime:
    """The wall-clock time in New York, naive (the project's timestamps are)."""
    return datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None)


def last_closed_session(now: datetime, settle: timedelta = timedelta(0)) -> date:
    """The latest session whose close plus ``settle`` is at or before ``now``."""
    day = now.date()
    if not is_trading_day(day):
        day = previous_trading_day(day)
    while session_close(day) + settle > now:
        day = previous_trading_day(day)
    return day


def sessions_to_fetch(
    now: datetime, fetched: Iterable[str], settle: timedelta = timedelta(0)
) -> list[date]:
    """Closed sessions (close + ``settle`` passed) after the latest fetched one, oldest
    first, at most :data:`LOOKBACK_SESSIONS`; only days that are partitions."""
    last = last_closed_session(now, settle)
    latest = max((date.fromisoformat(k) for k in fetched), default=None)
    days = [last]
    while len(days) < LOOKBACK_SESSIONS and latest is not None:
        before = previous_trading_day(days[-1])
        if before <= latest:
            break
        days.append(before)
    moment = pd.Timestamp(now).tz_localize(TIMEZONE).to_pydatetime()
    with dg.partition_loading_context(effective_dt=moment):
        keys = set(trading_day_partitions.get_partition_keys())
    return sorted(d for d in days if (latest is None or d > latest) and d.isoformat() in keys)


def _fetched(instance: dg.DagsterInstance, *assets: dg.AssetsDefinition) -> set[str]:
    """Trading days every one of ``assets`` has materialized."""
    sets = [instance.get_materialized_partitions(a.key) for a in assets]
    return set.intersection(*(set(s) for s in sets))


def market_close_decision(now: datetime, fetched: Iterable[str]) -> dg.SensorResult:
    """Requests for the sessions whose bars and news are due at ``now``."""
    days = sessions_to_fetch(now, fetched, SETTLE)
    if not days:
        last = last_closed_session(now, SETTLE)
        return dg.SensorResult(
            skip_reason=f"bars and news are fetched through {last}; the next session's are "
            f"due {SETTLE.seconds // 60} minutes after its close"
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"market_close:{d}", partition_key=d.isoformat()) for d in days
        ]
    )


def edgar_days(session: date) -> list[date]:
    """The EDGAR business days whose daily indexes partition ``session`` of insider_trades
    needs and may not have been published yet: after the previous session, through it."""
    first = previous_trading_day(session) + timedelta(days=1)
    days = pd.date_range(first, session, freq="D").date
    return [d for d in days if edgar_business_day(d)]


def form4_index_decision(
    now: datetime, fetched: Iterable[str], client: EdgarClient
) -> dg.SensorResult:
    """Requests for the sessions whose daily indexes EDGAR has published by ``now``;
    otherwise the reason, naming the first day and URL still missing."""
    requests: list[dg.RunRequest] = []
    waiting = None
    for session in sessions_to_fetch(now, fetched):
        missing = next(
            (
                d
                for d in edgar_days(session)
                if not client.transport.missing_means_empty and client.daily_index(d) is None
            ),
            None,
        )
        if missing is not None:
            url = client.transport.where(daily_index_path(missing))
            waiting = (
                f"insider_trades {session}: EDGAR has not published the daily index of "
                f"{missing} yet ({url})"
            )
            break  # later sessions wait for this one
        requests.append(
            dg.RunRequest(run_key=f"insider_trades:{session}", partition_key=session.isoformat())
        )
    if requests:
        return dg.SensorResult(run_requests=requests)
    if waiting is None:
        waiting = f"Form 4s are fetched through {last_closed_session(now)}; nothing new has closed"
    return dg.SensorResult(skip_reason=waiting)


@dg.sensor(
    job=market_close_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After each session's close (13:00 on early-close days) plus 15 minutes: "
    "requests that session's bars and news (run key per day).",
)
def market_close_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    return market_close_decision(new_york_now(), _fetched(context.instance, prices, news_sentiment))


@dg.sensor(
    job=insider_trades_job,
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Probes EDGAR for the daily form indexes of each closed session and "
    "requests its Form 4 trades once they are published; skips naming the day and URL "
    "while they are not.",
)
def form4_index_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    client = edgar_from_settings(get_settings()).client
    return form4_index_decision(new_york_now(), _fetched(context.instance, insider_trades), client)


sensor_defs = dg.Definitions(
    jobs=[insider_trades_job, market_close_job],
    sensors=[market_close_sensor, form4_index_sensor],
)
