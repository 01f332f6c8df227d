"""The README's generated tables are the ones the code generates, so the docs cannot drift."""

import re

from investor_mimic.factors.registry import REGISTRY
from investor_mimic.settings import Settings, settings_table
from investor_mimic_tests.helpers.paths import REPO


def _block(readme: str, marker: str) -> str:
    block = re.search(rf"<!-- {marker}:start -->\n(.*?)\n<!-- {marker}:end -->", readme, re.S)
    assert block, f"{marker} markers missing from README.md"
    return block.group(1)


def test_readme_settings_table_matches_the_settings_model() -> None:
    block = _block((REPO / "README.md").read_text(), "settings-table")
    assert block == settings_table(), (
        "README settings table is stale: regenerate it with settings.settings_table()"
    )
    for name in Settings.model_fields:
        assert f"`IM_{name.upper()}`" in block


def test_readme_factor_table_is_the_registry() -> None:
    block = _block((REPO / "README.md").read_text(), "factor-table")
    assert block == REGISTRY.readme_table(), (
        "README factor table is stale: regenerate it with REGISTRY.readme_table()"
    )
    rows = [line.split("|")[1].strip(" `") for line in block.splitlines()[2:]]
    assert rows == list(REGISTRY.names)


def test_readme_demo_table_lists_the_registered_factors_in_order() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## What the demo finds") :]
    table = section[section.index("| factor | planted |") :].split("\n\n")[0].splitlines()
    rows = [line.split("|")[1].strip() for line in table[2:]]
    assert rows == [*REGISTRY.names, "**composite**"]


def test_readme_names_every_schedule_and_sensor_of_the_definitions() -> None:
    from investor_mimic.definitions import automation_table, defs

    block = _block((REPO / "README.md").read_text(), "automation-table")
    assert block == automation_table(), (
        "README schedules/sensors table is stale: regenerate it with "
        "investor_mimic.definitions.automation_table()"
    )
    names = [s.name for s in defs.schedules or []] + [s.name for s in defs.sensors or []]
    assert names and all(f"| `{name}` |" in block for name in names)
