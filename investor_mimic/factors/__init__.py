"""The eight factors: pure functions over (date x ticker) panels.

Entry points: :func:`compute_factor_panel` (normalised, ``frames.FACTOR_PANEL``) and
:func:`raw_factors` (before normalisation), both over a checked :class:`FactorInputs`.
"""

from investor_mimic.factors.inputs import FactorInputs
from investor_mimic.factors.panel import FactorParams, compute_factor_panel, raw_factors

__all__ = ["FactorInputs", "FactorParams", "compute_factor_panel", "raw_factors"]
