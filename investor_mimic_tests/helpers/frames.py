"""Small helpers shared by the factor tests (no tests here)."""

from __future__ import annotations

import numpy as np


def isnan(value: object) -> bool:
    """NaN test for a scalar read from a frame (pandas-stubs types it as any scalar)."""
    return isinstance(value, float) and bool(np.isnan(value))
