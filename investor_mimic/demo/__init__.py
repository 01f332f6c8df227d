"""Deterministic demo world: a seeded market with real-format SEC filings, bars and news.

``generate_world`` writes a world of a given size and seed (optionally with no planted
signal) to a folder laid out like EDGAR plus market data and the truth tables a correct
pipeline must recover; ``ensure_world`` reuses a matching world; ``load_manifest``
reads what a world holds.
"""

from investor_mimic.demo.manifest import (
    FilerInfo,
    PlantedFactor,
    WorldCounts,
    WorldManifest,
    load_manifest,
)
from investor_mimic.demo.world import ensure_world, generate_world

__all__ = [
    "FilerInfo",
    "PlantedFactor",
    "WorldCounts",
    "WorldManifest",
    "ensure_world",
    "generate_world",
    "load_manifest",
]
