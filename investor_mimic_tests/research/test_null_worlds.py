"""A world without planted signal is called significant only at the nominal rate.

The null world of a seed shares every document and noise draw with the planted world of
that seed and differs only by the planted drift (size 0). The walk-forward composite is
still fitted there, on noise, so this is the test of the whole chain's honesty: no leak
of future labels and no significance the data cannot support.

How significance is read: every t-stat comes from
:func:`investor_mimic.research.stats.horizon_ttest` (EWC long-run variance, two-sided
p-values from Student t(ν); ν = 5 on a tiny world with 20-day labels), so these tests
read p-values, never ``|t| > 1.96``. Every bound below is the sampling error of the
nominal rate, fixed before the worlds were run — none is fitted to seeds that happened to
be quiet:

* slow (about 20 s), tiny null seeds 1-3: with a calibrated test, two or more of three
  composites with p < 0.05 has probability 0.7 %; of the 48 factor tests (8 factors ×
  IC and rank IC × 3 seeds) more than 7 below 0.05 has probability 0.25 % if they were
  independent, a few percent with the factors' within-world correlation (variance about twice the
  binomial one, measured on 200 seeds).
* slow, tiny null seeds 201-220 (never used when the method was chosen on seeds 1-200,
  ``benchmarks/null_calibration.py``): the factors' false-positive rate at 5 % and at 1 %
  within three standard errors — binomial, or clustered by world when the factors of a
  world move together more than that — and the composite's 20 p-values: at most 4 below
  0.05 (binomial 99.5 %) and normal-equivalent z-scores with mean square in the χ²₂₀
  99 % band.
* the contrast: a planted world of the same size reaches significance, so "not
  significant" above is not a test that can never reject.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from investor_mimic.research.chain import ResearchRun
from investor_mimic.research.fitting import FACTORS
from investor_mimic.settings import FitMethod
from investor_mimic_tests.helpers.research_world import research_run

FAST_SEEDS = (1, 2, 3)
SLOW_SEEDS = tuple(range(201, 221))
#: Planted tiny seed 6 under world generator 6 (listings, delistings, a sector change):
#: p = 0.047, null twin p = 0.54. Of planted seeds 1-12 only 1 (p = 0.0065) and 6 reach
#: p < 0.05, and seed 1's null twin is itself a false positive (p = 0.012): this is an
#: existence proof, not a rate (the slow test over 20 null seeds holds the rate).
CONTRAST_SEED = 6


def factor_pvalues(run: ResearchRun) -> np.ndarray:
    """The 16 p-values of a run's factors: IC and rank IC of each of the 8 factors."""
    signals = run.evaluation.signals
    return np.array([[signals[f].ic_pvalue, signals[f].rank_ic_pvalue] for f in FACTORS]).ravel()


def rate_and_error(rejections: np.ndarray, alpha: float) -> tuple[float, float]:
    """Rejection rate over worlds × tests and its standard error: the binomial one, or the
    clustered one (spread of the per-world rates) when the tests of a world move together."""
    worlds = rejections.shape[0]
    per_world = rejections.mean(axis=1)
    binomial = np.sqrt(alpha * (1 - alpha) / rejections.size)
    clustered = per_world.std(ddof=1) / np.sqrt(worlds)
    return float(rejections.mean()), float(max(binomial, clustered))


def z_scores(tstats: np.ndarray, pvalues: np.ndarray) -> np.ndarray:
    """The standard normal value with the same two-sided p-value and sign as each t."""
    return np.sign(tstats) * stats.norm.isf(pvalues / 2)


@pytest.mark.slow
def test_tiny_null_worlds_are_significant_no_more_than_chance() -> None:
    runs = [research_run("tiny", seed, null=True) for seed in FAST_SEEDS]
    for manifest, run in runs:
        assert manifest.null and all(p.strength == 0 for p in manifest.planted.values())
        assert run.oos.n_dates > 250 and run.oos.df == 5
    composite = np.array([run.oos.rank_ic_pvalue for _, run in runs])
    assert (composite < 0.05).sum() <= 1, composite
    factors = np.concatenate([factor_pvalues(run) for _, run in runs])
    assert np.isfinite(factors).all() and len(factors) == 48
    assert (factors < 0.05).sum() <= 7, np.sort(factors)[:10]


def test_a_planted_tiny_world_reaches_significance_and_its_null_twin_does_not() -> None:
    _, planted = research_run("tiny", CONTRAST_SEED)
    _, null = research_run("tiny", CONTRAST_SEED, null=True)
    assert planted.oos.rank_ic_tstat > 0 and planted.oos.rank_ic_pvalue < 0.05, planted.oos
    assert null.oos.rank_ic_pvalue > 0.05, null.oos


@pytest.mark.slow
def test_false_positive_rate_is_nominal_over_20_null_worlds() -> None:
    runs = [research_run("tiny", seed, null=True)[1] for seed in SLOW_SEEDS]
    pvalues = np.array([factor_pvalues(run) for run in runs])  # world × test
    assert np.isfinite(pvalues).all()
    for alpha in (0.05, 0.01):
        rate, error = rate_and_error(pvalues < alpha, alpha)
        assert abs(rate - alpha) < 3 * error, (alpha, rate, error)

    composite_p = np.array([run.oos.rank_ic_pvalue for run in runs])
    composite_t = np.array([run.oos.rank_ic_tstat for run in runs])
    assert (composite_p < 0.05).sum() <= stats.binom.isf(0.005, len(runs), 0.05), composite_p
    mean_square = float(np.mean(z_scores(composite_t, composite_p) ** 2))
    low, high = stats.chi2.ppf([0.005, 0.995], len(runs)) / len(runs)
    assert low < mean_square < high, (mean_square, low, high, composite_t)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ic", "ridge"])
@pytest.mark.parametrize("seed", [1, 2])
def test_demo_null_world_composite_is_not_significant(seed: int, method: FitMethod) -> None:
    """Per seed at 1 % (a calibrated test fails this one time in a hundred), against the
    planted twin, which is significant at 1 % (demo: 860 dates, ν = 14)."""
    _, null = research_run("demo", seed, null=True, method=method)
    _, planted = research_run("demo", seed, method=method)
    assert null.oos.rank_ic_pvalue > 0.01, null.oos
    assert planted.oos.rank_ic_tstat > 0 and planted.oos.rank_ic_pvalue < 0.01, planted.oos
