"""approval/ and broker/ are plain Python: importing them loads no Dagster (DESIGN rule)."""

from __future__ import annotations

import subprocess
import sys

from investor_mimic_tests.helpers.paths import REPO

MODULES = [
    "investor_mimic.approval.tables",
    "investor_mimic.approval.states",
    "investor_mimic.approval.store",
    "investor_mimic.approval.execution",
    "investor_mimic.approval.report",
    "investor_mimic.approval.links",
    "investor_mimic.approval.auth",
    "investor_mimic.approval.notify",
    "investor_mimic.approval.notices",
    "investor_mimic.approval.health",
    "investor_mimic.approval.web",
    "investor_mimic.broker.alpaca",
    "investor_mimic.broker.factory",
]


def test_approval_and_broker_import_no_dagster() -> None:
    code = "; ".join(
        [*(f"import {m}" for m in MODULES), "import sys", "print('dagster' in sys.modules)"]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
