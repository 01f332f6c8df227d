"""Cross-sectional normalisation: winsorising, z-scores, sector neutrality, NaN handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from investor_mimic.factors.normalise import normalise, sector_demean, winsorise, zscore
from investor_mimic_tests.helpers.frames import isnan

NAN = np.nan


def frame(rows: list[list[float]], columns: list[str] | None = None) -> pd.DataFrame:
    columns = columns or [f"T{i}" for i in range(len(rows[0]))]
    index = pd.bdate_range("2024-01-02", periods=len(rows))
    return pd.DataFrame(rows, index=index, columns=columns, dtype=float)


def test_winsorise_clips_to_the_dates_quantiles_and_keeps_nan() -> None:
    out = winsorise(frame([[0, 1, 2, 3, 100, NAN], [5, 5, 5, 5, 5, 5]]), q=0.25)
    # 5 values: the 25% quantile is the 2nd smallest (1), the 75% the 4th (3)
    assert out.iloc[0, :5].tolist() == [1, 1, 2, 3, 3]
    assert isnan(out.iloc[0, 5])
    assert out.iloc[1].tolist() == [5] * 6  # each date uses its own quantiles


def test_winsorise_interpolates_and_keeps_a_sparse_factor_informative() -> None:
    # 97 zeros and three trades: a ±3 MAD rule (MAD = 0) would clip everything to 0
    row = [0.0] * 97 + [5.0, -5.0, 10.0]
    out = winsorise(frame([row]), q=0.01).iloc[0]
    # sorted: -5, 0 x 97, 5, 10; 1% at position 0.99 -> -0.05, 99% at 98.01 -> 5.05
    assert out.min() == pytest.approx(-0.05)
    assert out.max() == pytest.approx(5.05)
    assert (out == 0).sum() == 97


def test_zscore_has_mean_0_and_std_1_per_date() -> None:
    out = zscore(frame([[1, 2, 3, NAN], [10, 30, 20, 40]]))
    assert out.iloc[0, :3].tolist() == pytest.approx([-np.sqrt(1.5), 0, np.sqrt(1.5)])
    assert isnan(out.iloc[0, 3])
    for _, row in out.iterrows():
        assert row.mean() == pytest.approx(0, abs=1e-12)
        assert row.std(ddof=0) == pytest.approx(1)


def test_a_date_without_dispersion_is_nan_not_zero() -> None:
    out = zscore(frame([[2, 2, 2], [1, NAN, NAN], [NAN, NAN, NAN], [1, 2, NAN]]))
    assert out.iloc[:3].isna().all().all()
    assert out.iloc[3, :2].tolist() == pytest.approx([-1, 1])


def test_sector_neutral_means_are_zero_within_each_sector() -> None:
    panel = frame([[1, 2, 3, 10, 20, NAN, 7], [4, 1, 1, 0, 30, 5, 7]])
    sectors = pd.Series(["X", "X", "X", "Y", "Y", "Y", "Z"], index=panel.columns)
    demeaned = sector_demean(panel, sectors)
    assert demeaned.iloc[0].tolist()[:5] == pytest.approx([-1, 0, 1, -5, 5])
    out = normalise(panel, q=0.0, sectors=sectors)
    for _, row in out.iterrows():
        by_sector = row.groupby(sectors).mean()
        assert by_sector.tolist() == pytest.approx([0, 0, 0], abs=1e-12)
        assert row.std(ddof=0) == pytest.approx(1)
    assert isnan(out.iloc[0, 5])
    assert out.iloc[0, 6] == 0.0  # alone in its sector: nothing to rank against


def test_sector_demean_needs_a_sector_for_every_ticker() -> None:
    with pytest.raises(ValueError, match="no sector for tickers"):
        sector_demean(frame([[1, 2]]), pd.Series(["X"], index=["T0"]))


def test_each_date_is_normalised_alone() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 200))
    values[rng.random(values.shape) < 0.1] = NAN
    panel = frame(values.tolist())
    sectors = pd.Series([f"S{i % 5}" for i in range(200)], index=panel.columns)
    for by in (None, sectors):
        together = normalise(panel, sectors=by)
        for i in (0, 17, 29):
            alone = normalise(panel.iloc[[i]], sectors=by)
            pd.testing.assert_frame_equal(alone, together.iloc[[i]], check_exact=True)


def test_sector_demean_by_date_follows_a_sector_change() -> None:
    """T1 moves from X to Y on the second day: it is demeaned with X, then with Y."""
    panel = pd.DataFrame([[1.0, 3.0, 10.0], [1.0, 3.0, 10.0]], columns=["T0", "T1", "T2"])
    labels = np.array([["X", "X", "Y"], ["X", "Y", "Y"]], dtype=object)
    out = sector_demean(panel, labels).to_numpy()
    np.testing.assert_allclose(out[0], [-1.0, 1.0, 0.0])
    np.testing.assert_allclose(out[1], [0.0, -3.5, 3.5])
    unlisted = np.array([["X", None, "Y"], ["X", "Y", "Y"]], dtype=object)
    assert np.isnan(sector_demean(panel, unlisted).to_numpy()[0, 1])
