"""Small PNG charts of the model for Dagster Markdown metadata.

Why figures without pyplot: :class:`matplotlib.figure.Figure` drawn on an explicit Agg
canvas keeps no global state and needs no display, so it is safe inside Dagster's
worker processes and threads. Every chart is 600 × 350 pixels at 80 dpi, a few tens of
kilobytes, small enough to embed as a data URI in asset metadata.

Why matplotlib is imported in :func:`new_axes`, not here: every process that loads the
code location (webserver, daemon, each run's worker, ``dagster definitions validate``)
imports this module, and most of them never draw; matplotlib is about a second of that
start on the project's 2-core machine.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from investor_mimic.research.grid import require_columns

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 80
SIZE_INCHES = (600 / DPI, 350 / DPI)


def new_axes() -> tuple[Figure, Axes]:
    """A 600 × 350 figure on its own Agg canvas (no pyplot state) and its one axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (tight layout, the module's DPI)."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def cumulative_ic_png(daily_ic: pd.DataFrame, title: str = "Cumulative daily rank IC") -> bytes:
    """One line per column of a date × signal frame of daily ICs (missing days add 0)."""
    fig, ax = new_axes()
    for name in daily_ic.columns:
        ax.plot(daily_ic.index, daily_ic[name].fillna(0.0).cumsum(), label=str(name), lw=1.2)
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_title(title)
    ax.set_ylabel("sum of daily IC")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return png_bytes(fig)


def quantile_returns_png(
    table: pd.DataFrame, title: str = "Mean forward return by quantile"
) -> bytes:
    """Grouped bars from a signal × quantile frame (e.g. ``Evaluation.quantile_table()``)."""
    fig, ax = new_axes()
    n_signals, n_quantiles = table.shape
    width = 0.8 / max(n_quantiles, 1)
    x = np.arange(n_signals)
    for k, quantile in enumerate(table.columns):
        ax.bar(
            x + (k - (n_quantiles - 1) / 2) * width, table[quantile], width, label=f"Q{quantile}"
        )
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_xticks(x, [str(s) for s in table.index], rotation=30, ha="right", fontsize=7)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=n_quantiles)
    return png_bytes(fig)


def weights_png(weights: pd.DataFrame, title: str = "Factor weights by refit date") -> bytes:
    """Stacked bars of a ``frames.FACTOR_WEIGHTS`` frame: one bar per refit date."""
    require_columns(weights, ("refit_date", "factor", "weight"), "weights_png weights")
    table = weights.pivot(index="refit_date", columns="factor", values="weight").fillna(0.0)
    fig, ax = new_axes()
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for factor in table.columns:
        ax.bar(x, table[factor], 0.9, bottom=bottom, label=str(factor))
        bottom = bottom + table[factor].to_numpy()
    step = max(len(table) // 8, 1)
    labels = [f"{pd.Timestamp(d):%Y-%m}" for d in table.index[::step]]
    ax.set_xticks(x[::step], labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png_bytes(fig)


def markdown_image(png: bytes, alt: str) -> str:
    """``![alt](data:image/png;base64,...)`` for a Dagster ``MetadataValue.md``."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("markdown_image: bytes are not a PNG")
    safe_alt = alt.replace("[", "(").replace("]", ")")
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
