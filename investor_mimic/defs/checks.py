"""One way to turn a :mod:`investor_mimic.core.quality` rule into a blocking asset check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd

from investor_mimic.core.quality import Report


def quality_check(
    asset: dg.AssetsDefinition,
    name: str,
    rule: Callable[[pd.DataFrame], Report],
    description: str,
    *,
    blocking: bool = True,
) -> dg.AssetChecksDefinition:
    """A check that loads the asset's partitions of the run and applies ``rule``.

    Blocking by default: a failure stops downstream assets in the same run, so bad
    data cannot flow on towards factors and trade proposals.
    """

    @dg.asset_check(
        asset=asset,
        name=name,
        description=description,
        blocking=blocking,
        partitions_def=asset.partitions_def,
    )
    def _check(frame: pd.DataFrame) -> dg.AssetCheckResult:
        report = rule(frame)
        metadata: dict[str, Any] = {k: v for k, v in report.metadata.items() if v is not None}
        if report.problems:
            metadata["problems"] = dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in report.problems[:20])
            )
        return dg.AssetCheckResult(
            passed=report.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(report.problems[:3]) or "ok",
            metadata=metadata,
        )

    return _check
