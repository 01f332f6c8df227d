"""The one Definitions object: sources, SQL models, factors, scoring, trading and approval."""

from __future__ import annotations

import dagster as dg

# Modules, not their Definitions objects: Dagster's module loader (``dagster dev -m``,
# ``dagster definitions validate -m``) refuses a module holding more than one at top level.
from investor_mimic.defs import trading
from investor_mimic.defs.approval import sensors as approval
from investor_mimic.defs.factors import assets as factors
from investor_mimic.defs.ops import alerts
from investor_mimic.defs.resources import build_resources
from investor_mimic.defs.scoring import assets as scoring
from investor_mimic.defs.sources import assets as sources
from investor_mimic.defs.sql.assets import sql_model_defs


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        sources.source_defs,
        sql_model_defs(),
        factors.factor_defs,
        scoring.scoring_defs,
        trading.trading_defs,
        approval.approval_defs,
        alerts.alert_defs,
        dg.Definitions(
            resources=build_resources(),
            executor=dg.in_process_executor,
        ),
    )


defs = build_definitions()
