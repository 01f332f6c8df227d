"""The one Definitions object: sources, SQL models, factors, scoring, trading and approval."""

from __future__ import annotations

import dagster as dg

# Modules, not their Definitions objects: Dagster's module loader (``dagster dev -m``,
# ``dagster definitions validate -m``) refuses a module holding more than one at top level.
from investor_mimic.defs import backtest, trading
from investor_mimic.defs.approval import sensors as approval
from investor_mimic.defs.automation import automation_sensor, with_automation
from investor_mimic.defs.event_log import batch_writes
from investor_mimic.defs.factors import assets as factors
from investor_mimic.defs.metadata import with_ui_metadata
from investor_mimic.defs.ops import alerts
from investor_mimic.defs.resources import build_resources
from investor_mimic.defs.scoring import assets as scoring
from investor_mimic.defs.sources import assets as sources
from investor_mimic.defs.sources import sensors as source_sensors
from investor_mimic.defs.sql.assets import sql_model_defs


def build_definitions() -> dg.Definitions:
    return with_ui_metadata(
        with_automation(
            dg.Definitions.merge(
                sources.source_defs,
                source_sensors.sensor_defs,
                sql_model_defs(),
                factors.factor_defs,
                scoring.scoring_defs,
                trading.trading_defs,
                backtest.backtest_defs,
                approval.approval_defs,
                alerts.alert_defs,
                dg.Definitions(
                    sensors=[automation_sensor],
                    resources=build_resources(),
                    executor=dg.in_process_executor,
                ),
            )
        )
    )


batch_writes()
defs = build_definitions()


def automation_table(definitions: dg.Definitions = defs) -> str:
    """The README's table of every schedule and sensor the UI shows (a test compares)."""

    def default(status: object) -> str:
        return "on" if getattr(status, "value", status) == "RUNNING" else "off"

    rows = [
        "| name | kind | starts | when | runs | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for schedule in sorted(definitions.schedules or [], key=lambda s: s.name):
        assert isinstance(schedule, dg.ScheduleDefinition)
        when = f"`{schedule.cron_schedule}` ({schedule.execution_timezone or 'UTC'})"
        rows.append(
            f"| `{schedule.name}` | schedule | {default(schedule.default_status)} | {when} "
            f"| `{schedule.job_name}` | {schedule.description} |"
        )
    for sensor in sorted(definitions.sensors or [], key=lambda s: s.name):
        assert isinstance(sensor, dg.SensorDefinition)
        jobs = ", ".join(f"`{t.job_name}`" for t in sensor.targets) or "–"
        rows.append(
            f"| `{sensor.name}` | sensor | {default(sensor.default_status)} "
            f"| at most every {sensor.minimum_interval_seconds} s | {jobs} "
            f"| {sensor.description} |"
        )
    by_label: dict[str, list[str]] = {}
    graph = definitions.resolve_asset_graph()
    for key in sorted(graph.get_all_asset_keys()):
        condition = graph.get(key).automation_condition
        if condition is not None:
            label = condition.get_label() or condition.name
            by_label.setdefault(label, []).append(f"`{key.to_user_string()}`")
    for label, assets in sorted(by_label.items()):
        rows.append(
            f"| assets {', '.join(assets)} | automation condition | with `automation_sensor` "
            f"| {label} | – | See `investor_mimic/defs/automation.py`. |"
        )
    return "\n".join(rows)
