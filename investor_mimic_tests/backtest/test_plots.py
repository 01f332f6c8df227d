"""The backtest charts render as 600 × 350 PNGs and draw what the metrics compute."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from investor_mimic.backtest import plots
from investor_mimic.research.plots import markdown_image


def _returns(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2022-11-01", periods=n)
    bench = rng.normal(0.0003, 0.01, n)
    return pd.DataFrame(
        {"date": days, "strategy": 0.5 * bench + rng.normal(0.0002, 0.006, n), "benchmark": bench}
    )


def _pixels(png: bytes) -> np.ndarray:
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (350, 600)
    return image


def _charts(frame: pd.DataFrame) -> dict[str, bytes]:
    ic = pd.Series(
        np.random.default_rng(1).normal(0.03, 0.1, len(frame)), index=frame["date"].to_numpy()
    )
    return {
        "equity": plots.equity_png(frame),
        "drawdown": plots.drawdown_png(frame),
        "rolling_ic": plots.rolling_ic_png(ic, window=21),
        "monthly": plots.monthly_heatmap_png(frame),
    }


def test_every_chart_renders_as_a_decodable_png_of_the_research_size() -> None:
    for name, png in _charts(_returns()).items():
        pixels = _pixels(png)
        assert pixels[..., :3].std() > 0.05, name  # something is drawn, not a blank canvas
        assert len(png) < 150_000, name
        assert markdown_image(png, name).startswith(f"![{name}](data:image/png;base64,")


def test_charts_follow_their_data() -> None:
    a = _returns(seed=0)
    charts_a, charts_b = _charts(a), _charts(_returns(seed=1))
    for name in ("equity", "drawdown", "monthly"):
        assert not np.array_equal(_pixels(charts_a[name]), _pixels(charts_b[name])), name
    # the same data gives the same picture (no hidden global state between calls)
    assert _charts(a) == charts_a


def test_heatmap_handles_partial_years_and_a_flat_series() -> None:
    flat = _returns(n=30).assign(strategy=0.0)  # two months of one year, nothing earned
    _pixels(plots.monthly_heatmap_png(flat))


def test_charts_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        plots.equity_png(_returns().drop(columns="benchmark"))
    with pytest.raises(ValueError, match="window"):
        plots.rolling_ic_png(pd.Series([0.1], index=pd.to_datetime(["2024-01-02"])), window=0)
    shuffled = pd.Series([0.1, 0.2], index=pd.to_datetime(["2024-01-03", "2024-01-02"]))
    with pytest.raises(ValueError, match="increasing"):
        plots.rolling_ic_png(shuffled)
