"""The factors: pure functions over (date x ticker) panels, declared in one registry.

Entry points: :func:`compute_factor_panel` (normalised) and :func:`raw_factors` (before
normalisation), both over a checked :class:`FactorInputs`; :data:`REGISTRY` declares
which factors exist (:mod:`investor_mimic.factors.registry`).
"""

from investor_mimic.factors.inputs import FactorInputs
from investor_mimic.factors.panel import compute_factor_panel, raw_factors
from investor_mimic.factors.registry import REGISTRY, Factor, FactorParams, FactorRegistry

__all__ = [
    "REGISTRY",
    "Factor",
    "FactorInputs",
    "FactorParams",
    "FactorRegistry",
    "compute_factor_panel",
    "raw_factors",
]
