"""The SQL models' frame contracts, derived from ``dbt_like_sql/schema.yml``.

Why derived: schema.yml is the one home of a model's columns, types, nullability, key
and accepted values (its YAML tests run in the warehouse as asset checks); the factor
side validates the same models' frames in pandas against these schemas, with the few
row rules SQL tests do not state added here (:data:`EXTRA_RULES`).
"""

from __future__ import annotations

import numpy as np

from investor_mimic.core import frames
from investor_mimic.core.frames import FrameSchema, Rule
from investor_mimic.sql.project import PROJECT_DIR, load_project

#: Row rules the factors rely on beyond what schema.yml's tests say, per model.
EXTRA_RULES: dict[str, tuple[Rule, ...]] = {
    "thirteenf_position_changes": (
        Rule(
            "prev_shares > 0 when added/trimmed",
            "added/trimmed without previous shares",
            ("change_type", "prev_shares"),
            lambda f: ~f["change_type"].isin(["added", "trimmed"]) | (f["prev_shares"] > 0),
        ),
    ),
    "stg_insider_open_market": (
        Rule(
            "value_usd >= 0 for P and <= 0 for S",
            "value_usd signed against its code",
            ("code", "value_usd"),
            lambda f: (
                f["value_usd"].isna()
                | np.where(f["code"] == "P", f["value_usd"] >= 0, f["value_usd"] <= 0)
            ),
        ),
    ),
}

_PROJECT = load_project(PROJECT_DIR)

#: Every model's declared contract, by model name.
MODEL_CONTRACTS: dict[str, FrameSchema] = {
    name: frames.declare(_PROJECT.model(name).frame_spec(EXTRA_RULES.get(name, ())))
    for name in _PROJECT.order()
}

PORTFOLIO_WEIGHTS = MODEL_CONTRACTS["filer_portfolio_weights"]
POSITION_CHANGES = MODEL_CONTRACTS["thirteenf_position_changes"]
INSIDER_OPEN_MARKET = MODEL_CONTRACTS["stg_insider_open_market"]
