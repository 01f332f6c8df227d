"""Resources, chosen per environment in one place (:func:`build_resources`).

Why resources wrap settings rather than re-declaring every field: the pydantic
:class:`~investor_mimic.settings.Settings` is the single source of configuration (and
of secrets, as ``SecretStr`` read from the environment), so the Dagster layer only
decides *which* implementation each environment gets.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from investor_mimic.broker.base import Broker
from investor_mimic.core.warehouse import Warehouse
from investor_mimic.settings import Settings, TradingSettings, get_settings


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse (raw tables, SQL models): SQLite file locally, PostgreSQL elsewhere."""

    url: str

    def warehouse(self) -> Warehouse:
        return Warehouse(self.url)


class ResearchConfig(dg.ConfigurableResource):
    """Research switches from settings, visible in the UI's resource tab."""

    fit_method: str = "ic"
    horizon_days: int = 20
    sector_neutral: bool = False
    stale_after_days: int = 5


class TradingResource(dg.ConfigurableResource):
    """The trading settings (limits, sizing, costs, broker) as one JSON document, so the
    UI's resources tab shows exactly what the proposals obeyed."""

    settings_json: str

    def rules(self) -> TradingSettings:
        return TradingSettings.model_validate_json(self.settings_json)


class BrokerResource(dg.ConfigurableResource):
    """The broker positions are read from and orders go to, built by
    :func:`investor_mimic.broker.factory.make_broker` from this process's settings
    (``IM_BROKER``: the warehouse paper broker by default), like the CLI builds it."""

    def broker(self) -> Broker:
        from investor_mimic.broker.factory import make_broker

        return make_broker(get_settings())


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Resources for this environment: local files/SQLite, or S3/PostgreSQL.

    Staging and production refuse to load with an incomplete configuration (every
    missing variable listed) rather than fall back to development's SQLite and files.
    """
    from investor_mimic.core.environments import require_complete
    from investor_mimic.defs.sources.resource import SourcesResource

    settings = settings or get_settings()
    require_complete(settings)
    trading = TradingResource(settings_json=settings.trading.model_dump_json())
    return {
        "warehouse": WarehouseResource(url=settings.resolved_warehouse_url),
        "trading": trading,
        "broker": BrokerResource(),
        "sources": SourcesResource(),
        "research": ResearchConfig(
            fit_method=settings.fit_method,
            horizon_days=settings.horizon_days,
            sector_neutral=settings.sector_neutral,
            stale_after_days=settings.stale_after_days,
        ),
        "io_manager": asset_io_manager(settings),
    }


def asset_io_manager(settings: Settings) -> Any:
    """Parquet asset storage: local under data_dir by default, S3 when configured."""
    from investor_mimic.defs.io_manager import PartitionedParquetIOManager

    return PartitionedParquetIOManager(
        base_path=settings.asset_storage_url or str((settings.data_dir / "assets").resolve()),
        s3_endpoint_url=settings.s3_endpoint_url,
    )
