"""The sources resource: the demo world or the real services, per settings."""

from __future__ import annotations

import dagster as dg

from investor_mimic.settings import get_settings
from investor_mimic.sources.backends import Sources, sources_from_settings


class SourcesResource(dg.ConfigurableResource):
    """Gives assets the configured backends; generates the demo world on first use.

    Settings (and their secrets) come from the environment through
    :func:`investor_mimic.settings.get_settings`, never from run config, so no key is
    ever shown in the launchpad or stored in the run's config.
    """

    def sources(self) -> Sources:
        settings = get_settings()
        if "demo" in (settings.edgar_source, settings.prices_source, settings.news_source):
            from investor_mimic.demo import ensure_world

            ensure_world(
                settings.world_dir, settings.world_size, settings.world_seed, settings.world_null
            )
        return sources_from_settings(settings)
