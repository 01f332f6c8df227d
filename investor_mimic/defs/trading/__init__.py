"""Trading wiring: the daily portfolio, trade proposals and their blocking checks."""

import dagster as dg

from investor_mimic.defs.trading.assets import (
    portfolio,
    trade_proposals,
    trading_job,
)
from investor_mimic.defs.trading.checks import TRADE_PROPOSAL_CHECKS

trading_defs = dg.Definitions(
    assets=[portfolio, trade_proposals],
    asset_checks=TRADE_PROPOSAL_CHECKS,
    jobs=[trading_job],
)
