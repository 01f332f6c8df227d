"""portfolio/ and broker/ are plain Python: importing every module loads no Dagster."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import investor_mimic.broker
import investor_mimic.portfolio


def test_portfolio_and_broker_modules_do_not_import_dagster() -> None:
    modules = [
        f"{pkg.__name__}.{m.name}"
        for pkg in (investor_mimic.portfolio, investor_mimic.broker)
        for m in pkgutil.iter_modules(pkg.__path__)
    ]
    assert "investor_mimic.portfolio.proposal" in modules
    assert "investor_mimic.broker.paper" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "loaded = sorted(n for n in sys.modules if n == 'dagster' or n.startswith('dagster.'))\n"
        "print(loaded[:3]); sys.exit(1 if loaded else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
