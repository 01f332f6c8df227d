"""The README's settings table is the one the code generates, so the docs cannot drift."""

import re

from investor_mimic.settings import Settings, settings_table
from investor_mimic_tests.helpers.paths import REPO


def test_readme_settings_table_matches_the_settings_model() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", readme, re.S
    )
    assert block, "settings table markers missing from README.md"
    assert block.group(1) == settings_table(), (
        "README settings table is stale: regenerate it with settings.settings_table()"
    )
    for name in Settings.model_fields:
        assert f"`IM_{name.upper()}`" in block.group(1)
