"""The backtest's charts as PNG bytes: equity against the benchmark, drawdown, rolling IC
and a monthly returns heatmap.

Why bytes from pure functions: the same PNGs go into Dagster Markdown metadata (through
:func:`investor_mimic.research.plots.markdown_image`) and into the files the
``backtest`` command writes, so they are drawn once, on an explicit Agg canvas without
pyplot's global state (safe in Dagster's worker threads), at the size of the research
charts (600 × 350 pixels). Every number drawn comes from :mod:`.metrics`, so a chart
never disagrees with ``metrics.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from investor_mimic.backtest.metrics import check_returns, drawdown, equity_curve, monthly_returns
from investor_mimic.research.plots import new_axes, png_bytes

MONTHS = "JFMAMJJASOND"


def equity_png(returns: pd.DataFrame, title: str = "Equity: strategy vs benchmark") -> bytes:
    """Growth of 1 for the strategy and the benchmark (log scale, compounded daily)."""
    frame = check_returns(returns)
    fig, ax = new_axes()
    for column, style, color in (("strategy", "-", "C0"), ("benchmark", "--", "0.35")):
        ax.plot(
            frame["date"], equity_curve(frame[column]), style, color=color, lw=1.3, label=column
        )
    ax.axhline(1.0, color="grey", lw=0.6)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_ylabel("growth of 1")
    ax.legend(fontsize=8, loc="upper left")
    return png_bytes(fig)


def drawdown_png(returns: pd.DataFrame, title: str = "Drawdown") -> bytes:
    """Underwater curves: the fall from the running peak of each equity curve."""
    frame = check_returns(returns)
    fig, ax = new_axes()
    strategy = drawdown(frame["strategy"])
    ax.fill_between(frame["date"], strategy, 0.0, alpha=0.4, label="strategy")
    ax.plot(
        frame["date"], drawdown(frame["benchmark"]), "--", color="0.35", lw=1.0, label="benchmark"
    )
    ax.set_title(title)
    ax.set_ylabel("drawdown")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(fontsize=8, loc="lower left")
    return png_bytes(fig)


def rolling_ic_png(daily_ic: pd.Series, window: int = 63, title: str | None = None) -> bytes:
    """The daily IC (thin) and its trailing ``window``-day mean (thick) by date.

    ``daily_ic`` is indexed by date; NaN days (no label yet) are skipped by the mean,
    which needs at least half a window of values.
    """
    if window < 1:
        raise ValueError(f"rolling_ic_png: window must be >= 1, got {window}")
    ic = pd.Series(daily_ic.to_numpy(dtype="float64"), index=pd.to_datetime(daily_ic.index))
    if ic.index.has_duplicates or not ic.index.is_monotonic_increasing:
        raise ValueError("rolling_ic_png: dates must be unique and increasing")
    rolling = ic.rolling(window, min_periods=max(window // 2, 1)).mean()
    fig, ax = new_axes()
    ax.plot(ic.index, ic.to_numpy(), lw=0.5, alpha=0.35, label="daily IC")
    ax.plot(rolling.index, rolling.to_numpy(), lw=1.6, label=f"{window}-day mean")
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_title(title or f"Rolling IC ({window} trading days)")
    ax.set_ylabel("IC")
    ax.legend(fontsize=8, loc="upper left")
    return png_bytes(fig)


def monthly_heatmap_png(returns: pd.DataFrame, title: str = "Monthly returns (strategy)") -> bytes:
    """Year × month grid of the strategy's compounded monthly returns, each cell labelled
    in percent; red below 0, green above, white at 0."""
    from matplotlib.colors import TwoSlopeNorm  # on first use, as in research.plots.new_axes

    table = monthly_returns(returns)
    values = table.to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 0.01
    fig, ax = new_axes()
    image = ax.imshow(
        np.ma.masked_invalid(values),
        cmap="RdYlGn",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound),
        aspect="auto",
    )
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.1%}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(12), list(MONTHS))
    ax.set_yticks(range(len(table.index)), [str(y) for y in table.index])
    ax.set_title(title)
    fig.colorbar(image, ax=ax, format=lambda v, _pos: f"{v:.0%}")
    return png_bytes(fig)
