"""The manifest of a generated world: what was asked for, what was planted, what exists.

Why pydantic: the manifest crosses process boundaries (``manifest.json`` is read by the
source layer, benchmarks and ``ensure_world``), so it is validated on load and a stale
or foreign folder fails with one clear line instead of half-working.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ValidationError

from investor_mimic.demo.spec import WorldSize

MANIFEST = "manifest.json"


class FilerInfo(BaseModel):
    cik: str
    name: str
    style: str  # skilled | index | noise


class PlantedFactor(BaseModel):
    strength: float  # 0 in a null world
    horizon_days: int
    description: str


class WorldCounts(BaseModel):
    thirteenf_filings: int  # 13F-HR and 13F-HR/A
    thirteenf_amendments: int
    form4_filings: int
    bars: int
    news_items: int


class WorldManifest(BaseModel):
    seed: int
    size: WorldSize
    null: bool
    generator_version: str
    start: date
    end: date
    benchmark_ticker: str
    n_tickers: int
    filers: list[FilerInfo]
    planted: dict[str, PlantedFactor]  # keyed by frames.FACTOR_NAMES entries
    counts: WorldCounts

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=1)


def load_manifest(root: Path) -> WorldManifest:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no demo world at {root}: {MANIFEST} is missing")
    try:
        return WorldManifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{path}: invalid manifest at {first['loc']}: {first['msg']}") from None
