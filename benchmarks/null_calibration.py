"""Calibration of the evaluation's significance tests on null demo worlds (figures, not tests).

A null world plants no signal, so every factor's and the composite's out-of-sample IC is
zero in truth, and a test at level α should call it significant in α of the worlds. This
script runs the research chain (:func:`investor_mimic.research.chain.run_research`, IC
weights, the same code as the ``factor_evaluation`` asset) on null worlds and prints, per
method, the share of daily-rank-IC tests with p < 0.05 and p < 0.01 and the spread of the
normal-equivalent z-scores (1 when calibrated):

* ``ewc`` — :func:`investor_mimic.research.stats.horizon_ttest`, what the evaluation uses;
* ``newey-west`` — the former test: Bartlett kernel at max(h − 1, 4 (n/100)^(2/9)) lags,
  normal p-values (kept here, and only here, for the comparison);
* ``non-overlapping`` — every h-th date from the first, Student t(m − 1): exact when
  the ICs of non-overlapping windows are independent, but it uses 1/h of the dates.

It also prints the quantile bucket sizes of ``insider_net_buying`` (0 for most names) under
the former rule (ties averaged) and the current one (ties broken by ticker).

Worlds come from the test helper ``investor_mimic_tests.helpers.research_world`` (truth
frames into a SQLite warehouse, every SQL model run), the loader the research tests use.

Run: ``python benchmarks/null_calibration.py [--seeds 1-20] [--size tiny] [--horizon 20]``
(about 3 s per tiny world on this box).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from _common import print_machine, print_table
from scipy import stats


def newey_west(x: np.ndarray, horizon: int) -> tuple[float, float]:
    """The former evaluation t-stat (Bartlett kernel) and its normal two-sided p-value."""
    x = x[np.isfinite(x)]
    n = len(x)
    d = x - x.mean()
    var = float(d @ d) / n
    lags = max(horizon - 1, int(4 * (n / 100) ** (2 / 9)))
    for k in range(1, min(lags, n - 1) + 1):
        var += 2.0 * (1.0 - k / (lags + 1)) * float(d[k:] @ d[:-k]) / n
    t = float(x.mean() / np.sqrt(var / n))
    return t, float(2 * stats.norm.sf(abs(t)))


def non_overlapping(x: np.ndarray, horizon: int) -> tuple[float, float]:
    x = x[np.isfinite(x)][::horizon]
    t = float(x.mean() / (x.std(ddof=1) / np.sqrt(len(x))))
    return t, float(2 * stats.t.sf(abs(t), len(x) - 1))


def ewc(x: np.ndarray, horizon: int) -> tuple[float, float]:
    from investor_mimic.research.stats import horizon_ttest

    test = horizon_ttest(x, horizon)
    return test.tstat, test.pvalue


METHODS = {"ewc": ewc, "newey-west": newey_west, "non-overlapping": non_overlapping}


def bucket_sizes(signal: np.ndarray, n_quantiles: int) -> dict[str, np.ndarray]:
    """Per rule, the number of names in each bucket on each date with ≥ n names."""
    from investor_mimic.research.evaluation import _buckets
    from investor_mimic.research.stats import rank_rows

    finite = np.isfinite(signal)
    count = finite.sum(axis=1, keepdims=True)
    ranks = rank_rows(np.where(finite, signal, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        averaged = np.where(finite, np.ceil(ranks * n_quantiles / count), 0)
    rows = count[:, 0] >= n_quantiles
    out = {}
    for rule, buckets in (
        ("ties averaged (former)", averaged),
        ("ties by ticker", _buckets(signal, n_quantiles)),
    ):
        out[rule] = np.stack(
            [(buckets[rows] == q).sum(axis=1) for q in range(1, n_quantiles + 1)], axis=1
        )
    return out


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        first, last = (int(v) for v in text.split("-"))
        return list(range(first, last + 1))
    return [int(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20", help="e.g. 1-20 or 3,5,8")
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--horizon", type=int, default=20)
    args = parser.parse_args()
    print_machine()

    from investor_mimic.research.fitting import FACTORS
    from investor_mimic.research.grid import Grid
    from investor_mimic_tests.helpers.research_world import research_run

    rows, sizes = [], {}
    started = time.perf_counter()
    for seed in seeds_of(args.seeds):
        t0 = time.perf_counter()
        _, run = research_run(args.size, seed, null=True, horizon=args.horizon)
        for signal, series in run.evaluation.daily_rank_ic.items():
            kind = "composite" if signal == "composite" else "factor"
            for method, test in METHODS.items():
                t, p = test(series.to_numpy(dtype="float64"), args.horizon)
                rows.append((seed, kind, method, t, p))
        oos = run.panel[run.panel["date"] >= run.weights["refit_date"].min()]
        grid = Grid.of(oos)
        signal = np.where(grid.present(oos), grid.matrix(oos, "insider_net_buying"), np.nan)
        for rule, table in bucket_sizes(signal, 5).items():
            sizes.setdefault(rule, []).append(table)
        print(f"seed {seed}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    frame = pd.DataFrame(rows, columns=["seed", "kind", "method", "t", "p"])
    frame["z"] = np.sign(frame["t"]) * stats.norm.isf(frame["p"] / 2)

    n_worlds = frame["seed"].nunique()
    table = []
    for (kind, method), g in frame.groupby(["kind", "method"], sort=False):
        table.append(
            (
                kind,
                method,
                len(g),
                f"{(g['p'] < 0.05).mean():.1%}",
                f"{(g['p'] < 0.01).mean():.1%}",
                g["z"].std(),
                g["t"].std(),
            )
        )
    print_table(
        f"null {args.size} worlds: {n_worlds} seeds ({args.seeds}), daily rank IC, "
        f"{args.horizon}-day labels; {len(FACTORS)} factors per world",
        table,
        ["signal", "method", "tests", "p < 0.05", "p < 0.01", "sd of z", "sd of t"],
    )
    print_table(
        "insider_net_buying: mean names per quintile bucket and share of dates with an "
        "empty bucket (out-of-sample dates of every world)",
        [
            (
                rule,
                *np.concatenate(t).mean(axis=0),
                f"{(np.concatenate(t) == 0).any(axis=1).mean():.0%}",
            )
            for rule, t in sizes.items()
        ],
        ["rule", "Q1", "Q2", "Q3", "Q4", "Q5", "dates with an empty bucket"],
    )
    print(f"\n{n_worlds} worlds in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
