"""The layout's rules, checked on the code itself.

* Only ``investor_mimic/defs/`` and ``definitions.py`` may import Dagster: domain logic is
  plain Python over DataFrames, testable without it. Checked twice: every import
  statement (ast, also those inside functions), and what importing every other module
  actually loads (a fresh interpreter's ``sys.modules``).
* One schema object per frame: no two pandera schemas anywhere in the package describe
  the same frame (same name, or the same columns and key).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterable

import pandera.pandas as pa
import pytest

import investor_mimic
from investor_mimic.core import frames
from investor_mimic_tests.helpers.paths import REPO

PACKAGE = REPO / "investor_mimic"

#: Modules outside defs/ that still import Dagster, each with why and until when. An entry
#: whose module no longer imports Dagster fails the test, so the list only shrinks.
ALLOWED_DAGSTER_IMPORTS: dict[str, str] = {}


def _all_modules() -> list[str]:
    names = ["investor_mimic"]
    for info in pkgutil.walk_packages(investor_mimic.__path__, "investor_mimic."):
        names.append(info.name)
    return sorted(names)


def _may_use_dagster(module: str) -> bool:
    return module == "investor_mimic.definitions" or module.startswith("investor_mimic.defs")


def _is_dagster(module: str | None) -> bool:
    root = (module or "").split(".")[0]
    return root == "dagster" or root.startswith("dagster_")


def dagster_imports(source: str) -> list[str]:
    """``import`` statements of ``source`` (at any depth) that load a Dagster package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_dagster(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_dagster(node.module):
            found.append(str(node.module))
    return found


def test_no_module_outside_defs_imports_dagster() -> None:
    offenders: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        if _may_use_dagster(module):
            continue
        found = dagster_imports(path.read_text())
        if rel in ALLOWED_DAGSTER_IMPORTS:
            assert found, f"{rel} no longer imports Dagster: drop it from ALLOWED_DAGSTER_IMPORTS"
        elif found:
            offenders[rel] = found
    assert not offenders, f"Dagster imported outside investor_mimic/defs/: {offenders}"


def test_the_import_check_sees_every_form_of_import() -> None:
    source = (
        "import os\nimport dagster as dg\nfrom dagster import asset\n"
        "def f():\n    import dagster_pandera\n    from dagster._core import x\n"
        "from . import dagster_like\nimport dagsterish\n"
    )
    assert dagster_imports(source) == ["dagster", "dagster", "dagster_pandera", "dagster._core"]


def test_importing_every_module_outside_defs_loads_no_dagster() -> None:
    modules = [m for m in _all_modules() if not _may_use_dagster(m)]
    script = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'dagster'"
        " or n.startswith('dagster_'))[:10])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"importing non-defs modules loaded {done.stdout}"


#: imported where a fit or a chart is made, never by loading the code location (every
#: webserver, daemon and run-worker process loads it; these are ~3 s of its start);
#: scipy.stats nowhere (p-values come from scipy.special)
HEAVY_AT_FIRST_USE = ("sklearn", "matplotlib", "scipy.stats")


def test_loading_the_code_location_leaves_the_heavy_libraries_for_first_use() -> None:
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import investor_mimic.definitions\n"
        f"print(sorted(m for m in {HEAVY_AT_FIRST_USE!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"loading the definitions imported {done.stdout}"


def _schemas_in(value: object) -> Iterable[pa.DataFrameSchema]:
    if isinstance(value, pa.DataFrameSchema):
        yield value
    elif type(value) is dict:
        yield from (v for v in value.values() if isinstance(v, pa.DataFrameSchema))
    elif type(value) in (list, tuple):  # plain containers only (Dagster records refuse iteration)
        yield from (v for v in value if isinstance(v, pa.DataFrameSchema))  # type: ignore[attr-defined]


def package_schemas() -> list[tuple[str, pa.DataFrameSchema]]:
    """Every schema object held by a module of the package (one entry per object)."""
    seen: dict[int, tuple[str, pa.DataFrameSchema]] = {}
    for name in _all_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            for schema in _schemas_in(value):
                seen.setdefault(id(schema), (f"{name}.{attr}", schema))
    for schema in frames.CONTRACTS.values():
        seen.setdefault(id(schema), (f"frames.CONTRACTS[{schema.name!r}]", schema))
    return sorted(seen.values(), key=lambda item: item[0])


def same_frame(schemas: list[tuple[str, pa.DataFrameSchema]]) -> list[str]:
    """Pairs of distinct schema objects describing one frame: same name, or same columns+key."""
    clashes = []
    for i, (where_a, a) in enumerate(schemas):
        for where_b, b in schemas[i + 1 :]:
            if a.name == b.name:
                clashes.append(f"{where_a} and {where_b} are both frame {a.name!r}")
            elif set(a.columns) == set(b.columns) and list(a.unique or []) == list(b.unique or []):
                clashes.append(f"{where_a} and {where_b} have the same columns and key")
    return clashes


def test_every_module_imports() -> None:
    for name in _all_modules():
        importlib.import_module(name)


def test_one_schema_object_per_frame() -> None:
    schemas = package_schemas()
    names = {s.name for _, s in schemas}
    # the contracts of every source, SQL model and scoring frame are among them
    assert {"prices", "factor_panel", "filer_portfolio_weights", "composite_score"} <= names
    assert set(frames.CONTRACTS) <= names
    assert same_frame(schemas) == []


def test_the_schema_check_finds_two_objects_for_one_frame() -> None:
    twin = frames.frame_schema("prices", {"date": "date"})
    lookalike = frames.frame_schema("bars", dict(frames.PRICES.kinds), key=frames.PRICES.key)
    found = same_frame([("a.PRICES", frames.PRICES), ("b.PRICES", twin), ("c.BARS", lookalike)])
    assert found == [
        "a.PRICES and b.PRICES are both frame 'prices'",
        "a.PRICES and c.BARS have the same columns and key",
    ]
    with pytest.raises(ValueError, match="contract prices already describes this frame"):
        frames.declare(twin)
    with pytest.raises(ValueError, match="the same columns and key"):
        frames.declare(lookalike)
    assert frames.CONTRACTS["prices"] is frames.PRICES and "bars" not in frames.CONTRACTS


def test_each_contract_is_a_pandera_schema_pandera_itself_enforces() -> None:
    """``schema.validate`` (pandera's) and the project's checks agree on a good and bad frame."""
    import pandas as pd

    good = frames.coerce(
        pd.DataFrame(
            {
                "date": ["2024-01-02"],
                "ticker": ["A"],
                "open": [10.0],
                "high": [11.0],
                "low": [9.0],
                "close": [10.5],
                "volume": [100.0],
            }
        ),
        frames.PRICES,
    )
    frames.PRICES.validate(good)
    bad = pd.concat([good, good.assign(close=-1.0, low=-1.0)], ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors) as info:
        frames.PRICES.validate(bad, lazy=True)
    failed = set(info.value.failure_cases["check"])
    assert {"non-positive prices", "multiple_fields_uniqueness"} <= failed
    with pytest.raises(ValueError, match="rows repeat the key"):
        frames.checked(bad, frames.PRICES)


def test_the_module_walk_finds_every_file() -> None:
    """The checks above cover the whole package: one module per ``.py`` file, defs included."""
    modules = _all_modules()
    assert "investor_mimic.defs.factors.assets" in modules
    assert len(modules) == len(list(PACKAGE.rglob("*.py")))
