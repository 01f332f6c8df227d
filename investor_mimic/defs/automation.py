"""Declarative automation: everything downstream of the sources runs when its inputs land.

Why conditions, not clock offsets: the sources land when their publishers publish (the
sensors in :mod:`investor_mimic.defs.sources.sensors`): bars and news after the close,
Form 4s once EDGAR has published the day's index, which may be after midnight. Schedules
20 minutes apart ran whether or not their inputs had landed. Here each asset says what
it waits for, and :data:`automation_sensor` evaluates the conditions:

- SQL models: rebuilt when any of their inputs was updated and none is in progress (a
  model reads whole raw tables, so no partition of history has to exist first).
- ``factor_panel``, ``composite_score``, ``portfolio``, ``trade_proposals``: the day's
  partition runs when any input was updated and every input *for that day* is there and
  settled (D's factor panel waits for D's Form 4s, bars and news alike). Days within
  :data:`LOOKBACK` of the newest partition are considered (D's index may appear after
  midnight, when D+1's partition already exists; a Friday's on Monday); older gaps
  are a backfill's job, never the automation's. An input requested in the same tick is
  waited for too (one tick later): a SQL model and a day's partition cannot share a run,
  so without it D's panel would run beside the model it reads, and D's proposals (each
  one an approval request) would be made twice.
- ``factor_weights``: refit at 07:00 New York on the first of each month, before the open
  (weights are point-in-time by refit date, so a later refit never changes a past day).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from investor_mimic.defs.partitions import TIMEZONE

AC = dg.AutomationCondition

#: How far back from the newest trading-day partition a day's inputs may still land.
LOOKBACK = timedelta(days=5)
MONTHLY_REFIT_CRON = "0 7 1 * *"


def when_inputs_land() -> dg.AutomationCondition:
    """A recent day's partition, once its inputs for that day are all there."""
    return (
        AC.in_latest_time_window(LOOKBACK)
        & (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.any_deps_match(AC.will_be_requested())
        & ~AC.in_progress()
    ).with_label("when its day's inputs land")


def when_tables_change() -> dg.AutomationCondition:
    """A warehouse model, rebuilt after any input table changed."""
    return (
        (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("when its input tables change")


def monthly_refit() -> dg.AutomationCondition:
    tick: dg.AutomationCondition = AC.cron_tick_passed(MONTHLY_REFIT_CRON, TIMEZONE)
    return (tick.since_last_handled() & ~AC.in_progress()).with_label(
        "monthly, 07:00 New York on the 1st"
    )


DAILY_ASSETS = ("factor_panel", "composite_score", "portfolio", "trade_proposals")
SQL_GROUP = "sql_models"


def condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition | None:
    """The automation condition of an asset (``None``: run by sensors, jobs or hand)."""
    name = spec.key.to_user_string()
    if name in DAILY_ASSETS:
        return when_inputs_land()
    if name == "factor_weights":
        return monthly_refit()
    if spec.group_name == SQL_GROUP:
        return when_tables_change()
    return None


def with_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with each asset's automation condition set (one home for all of them)."""

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        condition = condition_for(spec)
        return (
            spec if condition is None else spec.replace_attributes(automation_condition=condition)
        )

    return defs.map_asset_specs(func=apply)


automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=60,
    description="Evaluates the assets' automation conditions: SQL models after their "
    "tables change, a day's factor panel, composite, book and proposals once that day's "
    "inputs have landed, the weights monthly.",
)
