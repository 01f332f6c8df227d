"""Trading settings: typed, validated, and readable under the seed project's names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from investor_mimic.settings import Settings, TradingSettings, settings_table


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no .env
    import os

    for var in list(os.environ):
        if var.startswith("IM_") or var in {
            "MAX_POSITIONS",
            "REBALANCE_FREQUENCY",
            "SIGNAL_THRESHOLD",
            "STOP_LOSS_PCT",
            "PAPER_TRADING",
            "TAKE_PROFIT_PCT",
            "ALPACA_PAPER",
            "BROKER",
        }:
            monkeypatch.delenv(var)


def test_defaults_are_the_seeds() -> None:
    t = Settings().trading
    assert (t.max_positions, t.rebalance_frequency, t.signal_threshold) == (10, 10, 0.6)
    assert (t.stop_loss_pct, t.take_profit_pct) == (0.2, None)
    assert (Settings().broker, Settings().alpaca_paper) == ("paper", True)


def test_the_seed_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_POSITIONS", "7")
    monkeypatch.setenv("REBALANCE_FREQUENCY", "5")
    monkeypatch.setenv("SIGNAL_THRESHOLD", "0.8")
    monkeypatch.setenv("STOP_LOSS_PCT", "0.1")
    monkeypatch.setenv("PAPER_TRADING", "false")
    t = Settings().trading
    assert (t.max_positions, t.rebalance_frequency, t.signal_threshold) == (7, 5, 0.8)
    assert t.stop_loss_pct == 0.1 and Settings().alpaca_paper is False


def test_the_im_names_work_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IM_MAX_POSITIONS", "3")
    monkeypatch.setenv("IM_SIZING_METHOD", "inverse_volatility")
    monkeypatch.setenv("IM_FRACTIONAL_SHARES", "true")
    t = TradingSettings()
    assert (t.max_positions, t.sizing_method, t.fractional_shares) == (
        3,
        "inverse_volatility",
        True,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_positions", 0),
        ("signal_threshold", 1.0),
        ("stop_loss_pct", 1.5),
        ("max_position_pct", 0.0),
        ("cash_buffer_pct", -0.1),
        ("sizing_method", "random"),
        ("max_position_pct", 0.5),  # above the 30 % sector cap
    ],
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        TradingSettings(**{field: value})


def test_every_trading_setting_is_in_the_generated_table() -> None:
    table = settings_table()
    for name in TradingSettings.model_fields:
        assert f"`IM_{name.upper()}`" in table
