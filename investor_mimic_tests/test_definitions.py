"""Every asset, job and schedule of the one Definitions object carries what the UI shows.

The fast twin of ``defs/test_ui.py`` (which reads the same facts back through the
webserver after a demo run): an asset added without an owner, a storage or technology
kind, a code reference or a description fails here first.
"""

import dagster as dg
import pytest

from investor_mimic.definitions import defs
from investor_mimic.defs.metadata import STORAGE_KINDS, TECHNOLOGY_KINDS, with_ui_metadata
from investor_mimic.settings import get_settings


def test_every_asset_has_a_description_owner_kinds_and_a_code_reference() -> None:
    specs = list(defs.resolve_all_asset_specs())
    assert len(specs) >= 10
    for spec in specs:
        name = spec.key.to_user_string()
        assert (spec.description or "").strip(), name
        assert spec.owners, name
        assert spec.kinds & STORAGE_KINDS and spec.kinds & TECHNOLOGY_KINDS, (name, spec.kinds)
        assert spec.kinds <= STORAGE_KINDS | TECHNOLOGY_KINDS, (name, spec.kinds)
        references = spec.metadata.get("dagster/code_references")
        assert isinstance(references, dg.CodeReferencesMetadataValue), name
        paths = [r.file_path for r in references.code_references if hasattr(r, "file_path")]
        assert paths and all(p.endswith((".py", ".sql")) for p in paths), (name, paths)


def test_sql_models_point_at_their_sql_file() -> None:
    for spec in defs.resolve_all_asset_specs():
        if spec.group_name == "sql_models":
            references = spec.metadata["dagster/code_references"].code_references
            assert any(
                getattr(r, "file_path", "").endswith(f"/{spec.key.path[-1]}.sql")
                for r in references
            ), spec.key


def test_every_job_and_schedule_is_described() -> None:
    repository = defs.get_repository_def()
    jobs = [j for j in repository.get_all_jobs() if not j.name.startswith("__")]
    assert jobs
    for item in [*jobs, *repository.schedule_defs, *repository.sensor_defs]:
        assert (item.description or "").strip(), item.name


def test_with_a_code_url_the_references_link_into_the_hosted_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from investor_mimic.defs.sources.assets import source_defs

    monkeypatch.setenv("IM_CODE_URL", "https://github.com/example/investor-mimic/")
    monkeypatch.setenv("IM_CODE_BRANCH", "release")
    get_settings.cache_clear()
    try:
        linked = with_ui_metadata(source_defs)
    finally:
        get_settings.cache_clear()
    [prices] = [a for a in linked.assets or [] if a.key == dg.AssetKey("prices")]  # type: ignore[union-attr]
    [reference] = (
        prices.specs_by_key[dg.AssetKey("prices")]
        .metadata["dagster/code_references"]
        .code_references
    )
    assert isinstance(reference, dg.UrlCodeReference)
    assert reference.url.startswith(
        "https://github.com/example/investor-mimic/tree/release/"
        "investor_mimic/defs/sources/assets.py#L"
    )
