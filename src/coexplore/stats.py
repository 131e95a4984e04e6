"""Significance tests for comparing models.

* :func:`paired_ttest`: metrics of two models over the same seeds
  (``scipy.stats.ttest_rel``) with the mean difference, its confidence
  interval and Cohen's d_z (mean difference / SD of the differences).
* :func:`wilcoxon_test`: the rank-based alternative (``scipy.stats.wilcoxon``)
  with the matched-pairs rank-biserial correlation as effect size
  (Kerby 2014: r = (R+ - R-) / (R+ + R-) over the non-zero differences).
* :func:`mcnemar_test`: per-sample correctness of two classifiers on the same
  test samples. With b and c the discordant counts (A right/B wrong and
  A wrong/B right), the exact test is the two-sided binomial test of b out of
  b + c at p = 0.5 (``scipy.stats.binomtest``), used when b + c is small
  (< 25 by default, the usual rule of thumb); otherwise the chi-square
  statistic with Edwards' continuity correction (|b - c| - 1)**2 / (b + c) on
  one degree of freedom (``scipy.stats.chi2``). This reproduces statsmodels'
  ``mcnemar`` without depending on it.
* :func:`holm`: Holm's step-down adjustment of a family of p-values.
* :func:`bootstrap_ci`: percentile bootstrap interval (``scipy.stats.bootstrap``), seeded.
* :func:`compare_models`: all of the above for one main model against each control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

from .errors import DataError


def _paired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, what: str):
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise DataError(
            f"{what} needs two 1-D samples of equal length, got shapes {x.shape} and {y.shape}; "
            "pair the values by seed (or sample) first"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError(f"{what}: the samples contain NaN or inf; drop failed runs before testing")
    if x.size < 2:
        raise DataError(f"{what} needs at least 2 pairs, got {x.size}; run more seeds")
    return x, y


def paired_ttest(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired t-test of ``a`` against ``b`` (e.g. one metric per seed).

    Parameters
    ----------
    a, b
        Paired samples (same seeds, same order).
    confidence
        Confidence level of the interval of the mean difference.

    Returns
    -------
    dict
        ``statistic``, ``p_value``, ``mean_diff`` (mean of a - b), ``ci_low``,
        ``ci_high``, ``cohens_dz`` (mean_diff / SD(a - b), ddof=1) and ``n``.
        When all differences are equal the t statistic is undefined: zero
        differences give p = 1 and d_z = 0; a constant non-zero difference
        gives p = 0 and d_z = +-inf (scipy's convention).

    Raises
    ------
    DataError
        If the samples are not paired 1-D arrays of at least 2 finite values.
    """
    x, y = _paired(a, b, "paired t-test")
    d = x - y
    mean_diff = float(d.mean())
    sd = float(d.std(ddof=1))
    # constant differences up to rounding (e.g. x + 0.25 - x): t is undefined
    if np.allclose(d, d[0], rtol=1e-12, atol=0.0):
        if d[0] == 0.0:
            return {
                "statistic": 0.0,
                "p_value": 1.0,
                "mean_diff": 0.0,
                "ci_low": 0.0,
                "ci_high": 0.0,
                "cohens_dz": 0.0,
                "n": int(d.size),
            }
        return {
            "statistic": float(np.copysign(np.inf, mean_diff)),
            "p_value": 0.0,
            "mean_diff": mean_diff,
            "ci_low": mean_diff,
            "ci_high": mean_diff,
            "cohens_dz": float(np.copysign(np.inf, mean_diff)),
            "n": int(d.size),
        }
    res = st.ttest_rel(x, y)
    ci = res.confidence_interval(confidence_level=confidence)
    return {
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "mean_diff": mean_diff,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "cohens_dz": mean_diff / sd,
        "n": int(d.size),
    }


def wilcoxon_test(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Wilcoxon signed-rank test of ``a`` against ``b`` with the rank-biserial effect size.

    Parameters
    ----------
    a, b
        Paired samples.

    Returns
    -------
    dict
        ``statistic`` (scipy's: the smaller of the signed-rank sums),
        ``p_value``, ``rank_biserial`` in [-1, 1] (positive when ``a`` tends
        to exceed ``b``) and ``n`` (non-zero differences). All-zero
        differences give p = 1 and r = 0.

    Raises
    ------
    DataError
        If the samples are not paired 1-D arrays of at least 2 finite values.
    """
    x, y = _paired(a, b, "Wilcoxon signed-rank test")
    d = x - y
    nz = d[d != 0.0]
    if nz.size == 0:
        return {"statistic": 0.0, "p_value": 1.0, "rank_biserial": 0.0, "n": 0}
    res = st.wilcoxon(x, y, zero_method="wilcox")
    ranks = st.rankdata(np.abs(nz))
    r_plus = float(ranks[nz > 0].sum())
    r_minus = float(ranks[nz < 0].sum())
    return {
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "rank_biserial": (r_plus - r_minus) / (r_plus + r_minus),
        "n": int(nz.size),
    }


def mcnemar_test(
    correct_a: Sequence[bool] | np.ndarray,
    correct_b: Sequence[bool] | np.ndarray,
    *,
    exact: bool | None = None,
    exact_below: int = 25,
) -> dict[str, float | str]:
    """McNemar's test on per-sample correctness of two classifiers.

    Parameters
    ----------
    correct_a, correct_b
        Boolean arrays: whether model A (B) classified each test sample correctly.
    exact
        Force the exact binomial (True) or the chi-square version (False);
        ``None`` picks exact when ``b + c < exact_below``.
    exact_below
        Discordant-count threshold for the automatic choice.

    Returns
    -------
    dict
        ``statistic`` (b for the exact test, the corrected chi-square
        otherwise), ``p_value``, ``b`` (A right, B wrong), ``c`` (A wrong,
        B right), ``method`` ("exact" or "chi2") and ``n``.

    Raises
    ------
    DataError
        If the arrays differ in length or are empty.
    """
    a = np.asarray(correct_a, dtype=bool).ravel()
    bb = np.asarray(correct_b, dtype=bool).ravel()
    if a.shape != bb.shape or a.size == 0:
        raise DataError(
            f"McNemar's test needs two non-empty correctness arrays of equal length, got "
            f"{a.size} and {bb.size}; evaluate both models on the same test samples"
        )
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    n_disc = b + c
    use_exact = (n_disc < exact_below) if exact is None else exact
    if n_disc == 0:
        return {"statistic": 0.0, "p_value": 1.0, "b": b, "c": c, "method": "exact", "n": a.size}
    if use_exact:
        p = st.binomtest(b, n_disc, 0.5, alternative="two-sided").pvalue
        return {
            "statistic": float(b),
            "p_value": float(p),
            "b": b,
            "c": c,
            "method": "exact",
            "n": a.size,
        }
    chi2 = (abs(b - c) - 1.0) ** 2 / n_disc
    return {
        "statistic": float(chi2),
        "p_value": float(st.chi2.sf(chi2, df=1)),
        "b": b,
        "c": c,
        "method": "chi2",
        "n": a.size,
    }


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted
    value is ``max_{j <= i} min(1, (m - j + 1) p_(j))``, returned in the
    original order. NaN entries are left NaN and not counted in m.

    Parameters
    ----------
    p_values
        Raw p-values of one family of tests.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values.

    Raises
    ------
    DataError
        If a p-value lies outside [0, 1].

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    ok = np.isfinite(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise DataError(f"p-values must lie in [0, 1], got {p[ok].tolist()}")
    out = np.full_like(p, np.nan)
    vals = p[ok]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * vals[order])
    adj_sorted = np.maximum.accumulate(scaled)
    adj = np.empty(m)
    adj[order] = adj_sorted
    out[ok] = adj
    return out


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    statistic: Callable[..., float] = np.mean,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | np.random.Generator,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a statistic.

    Parameters
    ----------
    values
        1-D sample.
    statistic
        Function of a 1-D array accepting ``axis`` (numpy reductions do).
    confidence
        Confidence level.
    n_resamples
        Number of bootstrap resamples.
    seed
        Seed or generator; the same seed gives the same interval.

    Returns
    -------
    tuple of float
        (low, high).

    Raises
    ------
    DataError
        If fewer than 2 finite values are given.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise DataError(f"bootstrap needs at least 2 finite values, got {x.size}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    res = st.bootstrap(
        (x,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=rng,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare_models(
    results: pd.DataFrame,
    main: str = "cnn_lstm",
    *,
    metric: str = "f1",
    predictions: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Test the main model against every control model.

    Parameters
    ----------
    results
        One row per (model, seed) with columns ``model``, ``seed`` and
        ``metric``. Models are paired on the seeds they share.
    main
        Name of the model under test.
    metric
        Column compared by the paired t-test and the Wilcoxon test.
    predictions
        Optional per-sample correctness for McNemar's test: columns
        ``model``, ``sample`` and ``correct`` (bool), optionally ``seed``
        (then only the smallest seed shared by both models is used, so that
        every sample is counted once).
    confidence
        Level of the t-test confidence interval.

    Returns
    -------
    pandas.DataFrame
        Tidy table, one row per (control, test) with columns ``main``,
        ``control``, ``metric``, ``test`` (paired_t, wilcoxon, mcnemar), ``n``,
        ``statistic``, ``p_value``, ``p_holm``, ``effect_size``,
        ``effect_name``, ``mean_diff``, ``ci_low``, ``ci_high`` and
        ``significant`` (p_holm < 1 - confidence). Holm's correction is
        applied within each test across the controls (one family per test).

    Raises
    ------
    DataError
        If columns are missing, ``main`` is absent, there is no control, or a
        control shares fewer than 2 seeds with ``main``.
    """
    need = {"model", "seed", metric}
    missing = need - set(results.columns)
    if missing:
        raise DataError(
            f"results table lacks columns {sorted(missing)}; give one row per (model, seed) "
            f"with columns model, seed, {metric}"
        )
    models = list(dict.fromkeys(results["model"].astype(str)))
    if main not in models:
        raise DataError(f"main model {main!r} is not in the results (models: {models})")
    controls = [m for m in models if m != main]
    if not controls:
        raise DataError(f"results hold only {main!r}; add at least one control model")
    wide = results.pivot_table(index="seed", columns="model", values=metric, aggfunc="mean")
    rows: list[dict] = []
    for ctrl in controls:
        pair = wide[[main, ctrl]].dropna()
        if len(pair) < 2:
            raise DataError(
                f"{main!r} and {ctrl!r} share {len(pair)} seed(s) with a {metric!r} value; "
                "paired tests need at least 2 common seeds"
            )
        a, b = pair[main].to_numpy(), pair[ctrl].to_numpy()
        t = paired_ttest(a, b, confidence=confidence)
        rows.append(
            {
                "control": ctrl,
                "test": "paired_t",
                "n": t["n"],
                "statistic": t["statistic"],
                "p_value": t["p_value"],
                "effect_size": t["cohens_dz"],
                "effect_name": "cohens_dz",
                "mean_diff": t["mean_diff"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
            }
        )
        w = wilcoxon_test(a, b)
        rows.append(
            {
                "control": ctrl,
                "test": "wilcoxon",
                "n": w["n"],
                "statistic": w["statistic"],
                "p_value": w["p_value"],
                "effect_size": w["rank_biserial"],
                "effect_name": "rank_biserial",
                "mean_diff": t["mean_diff"],
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        )
        if predictions is not None:
            rows.append(_mcnemar_row(predictions, main, ctrl))
    table = pd.DataFrame(rows)
    table.insert(0, "main", main)
    table.insert(2, "metric", metric)
    table["p_holm"] = np.nan
    for _, idx in table.groupby("test").groups.items():
        table.loc[idx, "p_holm"] = holm(table.loc[idx, "p_value"].to_numpy())
    table["significant"] = table["p_holm"] < (1.0 - confidence)
    cols = [
        "main",
        "control",
        "metric",
        "test",
        "n",
        "statistic",
        "p_value",
        "p_holm",
        "effect_size",
        "effect_name",
        "mean_diff",
        "ci_low",
        "ci_high",
        "significant",
    ]
    return table[cols]


def _mcnemar_row(predictions: pd.DataFrame, main: str, ctrl: str) -> dict:
    need = {"model", "sample", "correct"}
    missing = need - set(predictions.columns)
    if missing:
        raise DataError(
            f"predictions table lacks columns {sorted(missing)}; give model, sample, correct"
        )
    pred = predictions
    if "seed" in pred.columns:
        seeds_main = set(pred.loc[pred["model"] == main, "seed"])
        seeds_ctrl = set(pred.loc[pred["model"] == ctrl, "seed"])
        common = sorted(seeds_main & seeds_ctrl)
        if not common:
            raise DataError(f"predictions of {main!r} and {ctrl!r} share no seed")
        pred = pred[pred["seed"] == common[0]]
    pa = pred[pred["model"] == main].set_index("sample")["correct"]
    pb = pred[pred["model"] == ctrl].set_index("sample")["correct"]
    joined = pd.concat([pa.rename("a"), pb.rename("b")], axis=1, join="inner")
    if joined.empty:
        raise DataError(
            f"predictions of {main!r} and {ctrl!r} share no sample; "
            "evaluate both on the same test samples"
        )
    m = mcnemar_test(joined["a"].to_numpy(bool), joined["b"].to_numpy(bool))
    acc_diff = float(joined["a"].mean() - joined["b"].mean())
    n_disc = m["b"] + m["c"]
    # effect size: the odds ratio b/c of the discordant pairs is common, but is
    # infinite for c = 0; the difference in discordant proportions (b - c)/(b + c)
    # is bounded in [-1, 1] and carries the same direction.
    effect = (m["b"] - m["c"]) / n_disc if n_disc else 0.0
    return {
        "control": ctrl,
        "test": "mcnemar",
        "n": m["n"],
        "statistic": m["statistic"],
        "p_value": m["p_value"],
        "effect_size": effect,
        "effect_name": "discordant_difference",
        "mean_diff": acc_diff,
        "ci_low": np.nan,
        "ci_high": np.nan,
    }
