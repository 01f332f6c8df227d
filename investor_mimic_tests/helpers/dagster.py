"""A sandbox for running the project's real assets: the tiny world under a temp data dir.

Why a sandbox and not the Definitions object: the resources read settings from the
environment (``IM_*``, cached by :func:`get_settings`), so each test points
``IM_DATA_DIR`` at its own folder, clears the cache, and builds the resources afterwards.
Outputs then land in ``<data_dir>/assets`` (Parquet) and ``<data_dir>/warehouse.db``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from investor_mimic.core.warehouse import Warehouse
from investor_mimic.defs.partitions import FILERS
from investor_mimic.defs.resources import build_resources
from investor_mimic.defs.sources.assets import source_defs
from investor_mimic.defs.stages import range_tags
from investor_mimic.settings import get_settings

#: The source assets and their checks, as ``dg.materialize`` takes them.
SOURCE_PARTS: list[Any] = [*(source_defs.assets or []), *(source_defs.asset_checks or [])]


def use_settings(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> None:
    """Set (or, with None, unset) ``IM_<NAME>`` variables and drop the cached settings."""
    for name, value in env.items():
        var = f"IM_{name.upper()}"
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    get_settings.cache_clear()


@dataclass(frozen=True)
class Sandbox:
    """One test's data dir holding the tiny world, plus the Dagster instance it runs on."""

    data_dir: Path
    instance: dg.DagsterInstance

    @property
    def world(self) -> Path:
        return self.data_dir / "worlds" / "tiny-3"

    @property
    def assets_dir(self) -> Path:
        return self.data_dir / "assets"

    def warehouse(self) -> Warehouse:
        return Warehouse(get_settings().resolved_warehouse_url)

    def materialize(
        self,
        *selection: str,
        partition: str | dg.MultiPartitionKey | None = None,
        day_range: tuple[str, str] | None = None,
        parts: Iterable[Any] = SOURCE_PARTS,
    ) -> dg.ExecuteInProcessResult:
        """Run ``selection`` (and their checks) with resources built from current settings."""
        tags = range_tags(*day_range) if day_range else None
        return dg.materialize(
            list(parts),
            selection=list(selection),
            partition_key=partition,
            tags=tags,
            resources=build_resources(),
            instance=self.instance,
            raise_on_error=False,
        )

    def add_filers(self, *ciks: str) -> None:
        new = [c for c in ciks if not self.instance.has_dynamic_partition(FILERS, c)]
        self.instance.add_dynamic_partitions(FILERS, new)


def make_sandbox(request: pytest.FixtureRequest, *, copy: bool) -> Sandbox:
    """A data dir under the test's ``tmp_path`` holding the session's tiny world.

    ``copy=False`` links the world (read-only use); ``copy=True`` copies it so a test
    may corrupt files. Every other ``IM_*`` variable is unset and the working directory
    moved, so neither the caller's environment nor a ``.env`` file leaks in; the cached
    settings are dropped again after the test, before the environment is restored.
    """
    tmp_path: Path = request.getfixturevalue("tmp_path")
    world: Path = request.getfixturevalue("tiny_world")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    request.addfinalizer(get_settings.cache_clear)
    data_dir = tmp_path / "data"
    target = data_dir / "worlds" / "tiny-3"
    target.parent.mkdir(parents=True)
    if copy:
        shutil.copytree(world, target)
    else:
        target.symlink_to(world, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("IM_")]:
        monkeypatch.delenv(var)
    use_settings(monkeypatch, data_dir=str(data_dir), world_size="tiny", world_seed="3")
    return Sandbox(data_dir, dg.DagsterInstance.ephemeral())


def original_13f(world: Path, filer_index: int = 0) -> tuple[str, str, str]:
    """(CIK, report period, accession) of a filer's 13F-HR that has no amendment, read
    straight from the world's submissions JSON."""
    cik = json.loads((world / "manifest.json").read_text())["filers"][filer_index]["cik"]
    recent = json.loads((world / "edgar" / "submissions" / f"CIK{cik}.json").read_text())[
        "filings"
    ]["recent"]
    rows = list(zip(recent["accessionNumber"], recent["form"], recent["reportDate"], strict=True))
    periods = [period for _, form, period in rows if form.startswith("13F-HR")]
    accession, _, period = next(r for r in rows if r[1] == "13F-HR" and periods.count(r[2]) == 1)
    return cik, period, accession


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` → its SHA-256, to prove a failed run wrote nothing."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def table(warehouse: Warehouse, name: str) -> pd.DataFrame:
    """A whole warehouse table in a stable row order (empty frame when it does not exist)."""
    if not warehouse.has_table(name):
        return pd.DataFrame()
    frame = warehouse.read(f"SELECT * FROM {name}")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """What the first failed step tells a user: a ``dg.Failure``'s description, else
    ``<exception class>: <message>`` of what the step's own code raised (Dagster's
    wrapper stripped, the project's exception kept rather than its deepest cause)."""
    failures = result.get_step_failure_events()
    assert failures, "expected a failed step"
    data = failures[0].step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    assert error is not None
    if (error.cls_name or "").startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error.message.strip()


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, list[str | None]]:
    """Asset name → the partition keys the run materialized."""
    out: dict[str, list[str | None]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        out.setdefault(mat.asset_key.to_user_string(), []).append(mat.partition)
    return out


def check_results(result: dg.ExecuteInProcessResult) -> Mapping[str, dg.AssetCheckEvaluation]:
    """``"<asset>.<check>"`` → the run's evaluation of that check."""
    return {
        f"{e.asset_key.to_user_string()}.{e.check_name}": e
        for e in result.get_asset_check_evaluations()
    }
