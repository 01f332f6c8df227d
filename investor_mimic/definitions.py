"""The one Definitions object: sources, SQL models, factors and scoring, with resources."""

from __future__ import annotations

import dagster as dg

from investor_mimic.defs.factors import factor_defs
from investor_mimic.defs.resources import build_resources
from investor_mimic.defs.scoring import scoring_defs
from investor_mimic.defs.sources import source_defs
from investor_mimic.defs.sql_models import sql_model_defs


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        source_defs,
        sql_model_defs(),
        factor_defs,
        scoring_defs,
        dg.Definitions(
            jobs=[
                dg.define_asset_job(
                    "sql_models_job", selection=dg.AssetSelection.groups("sql_models")
                )
            ],
            resources=build_resources(),
            executor=dg.in_process_executor,
        ),
    )


defs = build_definitions()
