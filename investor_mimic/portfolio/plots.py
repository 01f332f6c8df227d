"""The target-weights chart of a proposal, for the ``trade_proposals`` metadata.

Same figure conventions as :mod:`investor_mimic.research.plots` (an explicit Agg canvas,
no pyplot state, 600 × 350 px): safe inside Dagster's workers and small enough to embed.
"""

from __future__ import annotations

import numpy as np

from investor_mimic.portfolio.book import Book
from investor_mimic.research.plots import new_axes, png_bytes


def target_weights_png(book: Book, title: str) -> bytes:
    """Per name: weight now, weight after the orders, and the target weight."""
    equity = book.equity if book.equity > 0 else 1.0
    now = book.held * book.price / equity
    after = book.after * book.price / equity
    order = np.argsort(-np.maximum(book.target_weight, after), kind="stable")
    fig, ax = new_axes()
    x = np.arange(len(order))
    ax.bar(x - 0.27, now[order], 0.27, label="now")
    ax.bar(x, after[order], 0.27, label="after orders")
    ax.bar(x + 0.27, book.target_weight[order], 0.27, label="target")
    ax.set_xticks(x, [str(t) for t in book.tickers[order]], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of equity")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return png_bytes(fig)
