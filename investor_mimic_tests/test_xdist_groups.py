"""``make test``'s workers keep each group together (``conftest.py``): under
``--dist loadgroup`` a test's node id carries its group, which is what the scheduler
groups by. A pytest / pytest-xdist pair that drops it runs module fixtures, and the
session's tiny demo, once per worker."""

from __future__ import annotations

import pytest


def test_this_module_is_one_group_under_loadgroup(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("runs under `make test` (pytest-xdist --dist loadgroup)")
    assert request.node.nodeid.endswith("@investor_mimic_tests/test_xdist_groups.py")
