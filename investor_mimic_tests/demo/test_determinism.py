"""Same (size, seed, null) → byte-identical world; another seed → another world.

Why: benchmarks, cached worlds (``ensure_world``) and the perturbation tests of the
pipeline all assume a world is a pure function of its inputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from investor_mimic.demo import generate_world


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_inputs_give_identical_files_and_another_seed_differs(
    tiny_world: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate_world(again, "tiny", 3)
    assert _hashes(again) == _hashes(tiny_world)
    other = tmp_path / "other"
    generate_world(other, "tiny", 4)
    a, b = _hashes(tiny_world), _hashes(other)
    differing = {k for k in a.keys() & b.keys() if a[k] != b[k]}
    assert {"universe.csv", "market/bars.parquet", "truth/thirteenf_holdings.parquet"} <= differing


def test_null_world_has_the_same_documents_and_no_planted_drift(
    tiny_world: Path, tmp_path: Path
) -> None:
    null = tmp_path / "null"
    manifest = generate_world(null, "tiny", 3, null=True)
    assert manifest.null and all(p.strength == 0 for p in manifest.planted.values())
    a, b = _hashes(tiny_world), _hashes(null)
    # the same filings at the same paths (values and prices inside follow the bars)
    assert {k for k in a if k.startswith("edgar/")} == {k for k in b if k.startswith("edgar/")}
    events = pd.read_parquet(null / "truth" / "planted_events.parquet")
    planted = pd.read_parquet(tiny_world / "truth" / "planted_events.parquet")
    assert len(events) == len(planted) > 0 and (events["size"] == 0).all()
    assert (planted["size"] != 0).any()
    news = [k for k in a if k.startswith("market/news/")]
    assert news and all(a[k] == b[k] for k in news)  # news does not depend on prices
