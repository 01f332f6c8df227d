"""The demo's world is remembered per data dir, below the environment and above .env."""

from pathlib import Path

import pytest

from investor_mimic.settings import DEMO_WORLD_FILE, Settings, get_settings, remember_demo_world


@pytest.fixture()
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory with no .env and no IM_* variables but IM_DATA_DIR."""
    for var in [v for v in __import__("os").environ if v.startswith("IM_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IM_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_a_remembered_world_is_what_later_processes_on_that_data_dir_load(clean: Path) -> None:
    assert get_settings().world_size == "demo"  # nothing remembered yet

    path = remember_demo_world(Settings(world_size="tiny", world_seed=3))  # type: ignore[call-arg]
    get_settings.cache_clear()

    assert path == clean / "data" / DEMO_WORLD_FILE
    assert (get_settings().world_size, get_settings().world_seed) == ("tiny", 3)


def test_the_environment_overrides_the_remembered_world_which_overrides_dotenv(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / ".env").write_text("IM_WORLD_SIZE=large\nIM_WORLD_SEED=9\nIM_FIT_METHOD=ridge\n")
    remember_demo_world(Settings(world_size="tiny", world_seed=3))  # type: ignore[call-arg]
    get_settings.cache_clear()
    settings = get_settings()
    assert (settings.world_size, settings.world_seed) == ("tiny", 3)
    assert settings.fit_method == "ridge"  # the rest of .env still applies

    monkeypatch.setenv("IM_WORLD_SEED", "5")
    get_settings.cache_clear()
    assert (get_settings().world_size, get_settings().world_seed) == ("tiny", 5)
