"""The cost model every trade pays: slippage on the price, commission on the value.

Why one module: proposals estimate cash with it, the limit checks verify cash with it,
and the paper broker fills with it, so an order that the limits accept is one the paper
broker can pay for at the same price. Works on floats and numpy arrays alike.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from investor_mimic.settings import TradingSettings

Num = TypeVar("Num", float, np.ndarray)

BPS = 1e-4


def buy_price(price: Num, rules: TradingSettings) -> Num:
    """What a buy pays per share: the price plus slippage."""
    return price * (1.0 + rules.slippage_bps * BPS)


def sell_price(price: Num, rules: TradingSettings) -> Num:
    """What a sale receives per share: the price minus slippage."""
    return price * (1.0 - rules.slippage_bps * BPS)


def commission(value: Num, rules: TradingSettings) -> Num:
    """Commission on a trade of ``value`` dollars (after slippage)."""
    return abs(value) * (rules.commission_bps * BPS)


def buy_cost(shares: Num, price: Num, rules: TradingSettings) -> Num:
    """Cash a buy of ``shares`` at reference ``price`` consumes, costs included."""
    value = shares * buy_price(price, rules)
    return value + commission(value, rules)


def sell_proceeds(shares: Num, price: Num, rules: TradingSettings) -> Num:
    """Cash a sale of ``shares`` at reference ``price`` brings in, costs deducted."""
    value = shares * sell_price(price, rules)
    return value - commission(value, rules)
