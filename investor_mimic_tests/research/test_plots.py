"""Plots are real, small PNGs, and the Markdown embeds exactly those bytes."""

from __future__ import annotations

import base64
import re
import struct

import numpy as np
import pandas as pd
import pytest

from investor_mimic.research.plots import (
    cumulative_ic_png,
    markdown_image,
    quantile_returns_png,
    weights_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _charts() -> list[bytes]:
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2024-01-02", periods=60)
    daily = pd.DataFrame(rng.normal(0.02, 0.1, (60, 3)), index=days, columns=["a", "b", "c"])
    quantiles = pd.DataFrame(
        [[-0.01, 0.0, 0.01], [0.0, 0.0, 0.0]], index=["a", "composite"], columns=[1, 2, 3]
    )
    weights = pd.DataFrame(
        {
            "refit_date": np.repeat(pd.to_datetime(["2024-01-02", "2024-02-01"]), 2),
            "factor": ["a", "b"] * 2,
            "weight": [0.7, 0.3, 0.4, 0.6],
        }
    )
    return [cumulative_ic_png(daily), quantile_returns_png(quantiles), weights_png(weights)]


def test_charts_are_600_by_350_pngs() -> None:
    for png in _charts():
        assert _size(png) == (600, 350)
        assert len(png) < 150_000


def test_markdown_embeds_the_png_bytes() -> None:
    png = _charts()[0]
    md = markdown_image(png, "cumulative IC [test]")
    match = re.fullmatch(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert match is not None
    assert match.group(1) == "cumulative IC (test)"
    assert base64.b64decode(match.group(2)) == png


def test_markdown_refuses_bytes_that_are_not_png() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        markdown_image(b"GIF89a...", "x")
