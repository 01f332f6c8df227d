"""A synthetic market for the model tests, built here so they depend on no other module.

``make_world`` plants the signal by construction: the open-to-open return from D+1 to D+2
is ``beta * conviction_13f(D) + noise``, so conviction_13f (the first factor) predicts the
forward return of the D+1-open convention and the seven others are persistent noise.
``beta = 0`` gives a world with no signal at all.
"""

from __future__ import annotations

from investor_mimic.core import frames
from investor_mimic_tests.helpers.synthetic import FACTORS, SIGNAL, make_world


def test_world_honours_the_frame_contracts_and_plants_the_signal() -> None:
    world = make_world(seed=1)
    assert frames.schema_problems(world.prices, frames.PRICES) == []
    assert frames.schema_problems(world.panel, frames.FACTOR_PANEL) == []
    opens = world.prices.pivot(index="date", columns="ticker", values="open")
    next_return = opens.shift(-2) / opens.shift(-1) - 1  # D+1 open -> D+2 open
    signal = world.panel.pivot(index="date", columns="ticker", values=SIGNAL)
    noise = world.panel.pivot(index="date", columns="ticker", values=FACTORS[1])
    assert signal.corrwith(next_return, axis=1).mean() > 0.1
    assert abs(noise.corrwith(next_return, axis=1).mean()) < 0.05
