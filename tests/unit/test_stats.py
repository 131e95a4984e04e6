"""Tests of coexplore.stats against scipy and hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from coexplore.errors import DataError
from coexplore.stats import (
    bootstrap_ci,
    compare_models,
    holm,
    mcnemar_test,
    paired_ttest,
    wilcoxon_test,
)

A = np.array([0.81, 0.84, 0.79, 0.86, 0.83, 0.85, 0.80, 0.82])
B = np.array([0.78, 0.80, 0.79, 0.81, 0.80, 0.83, 0.76, 0.79])


def test_paired_ttest_matches_scipy_and_hand_ci() -> None:
    res = paired_ttest(A, B)
    ref = st.ttest_rel(A, B)
    assert res["statistic"] == pytest.approx(ref.statistic)
    assert res["p_value"] == pytest.approx(ref.pvalue)
    d = A - B
    sd = d.std(ddof=1)
    half = st.t.ppf(0.975, d.size - 1) * sd / np.sqrt(d.size)
    assert res["mean_diff"] == pytest.approx(d.mean())
    assert res["ci_low"] == pytest.approx(d.mean() - half)
    assert res["ci_high"] == pytest.approx(d.mean() + half)
    assert res["cohens_dz"] == pytest.approx(d.mean() / sd)
    assert res["n"] == 8


def test_paired_ttest_degenerate_differences() -> None:
    same = paired_ttest(A, A)
    assert same["p_value"] == 1.0 and same["cohens_dz"] == 0.0
    shifted = paired_ttest(A + 0.25, A)
    assert shifted["p_value"] == 0.0 and shifted["cohens_dz"] == np.inf
    assert shifted["ci_low"] == pytest.approx(0.25)


def test_wilcoxon_matches_scipy_and_rank_biserial_by_hand() -> None:
    res = wilcoxon_test(A, B)
    ref = st.wilcoxon(A, B)
    assert res["statistic"] == pytest.approx(ref.statistic)
    assert res["p_value"] == pytest.approx(ref.pvalue)
    # differences 1, 2, -3, 4, 5: R+ = 12, R- = 3, r = (12 - 3) / 15
    x = np.array([1.0, 2.0, -3.0, 4.0, 5.0])
    r = wilcoxon_test(x, np.zeros(5))
    assert r["rank_biserial"] == pytest.approx(0.6)
    assert r["statistic"] == pytest.approx(3.0)
    assert wilcoxon_test(A, A)["p_value"] == 1.0


def test_mcnemar_exact_and_chi2_known_answers() -> None:
    # b = 10 (A right, B wrong), c = 2: exact two-sided p = 2 * P(X <= 2 | 12, 0.5)
    a = np.array([True] * 10 + [False] * 2 + [True] * 5 + [False] * 3)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5 + [False] * 3)
    res = mcnemar_test(a, b)
    assert res["method"] == "exact" and (res["b"], res["c"]) == (10, 2)
    assert res["p_value"] == pytest.approx(2 * (1 + 12 + 66) / 4096)
    # b = 30, c = 10: chi2 = (|30 - 10| - 1)^2 / 40 = 9.025
    a2 = np.array([True] * 30 + [False] * 10 + [True] * 50)
    b2 = np.array([False] * 30 + [True] * 10 + [True] * 50)
    res2 = mcnemar_test(a2, b2)
    assert res2["method"] == "chi2"
    assert res2["statistic"] == pytest.approx(9.025)
    assert res2["p_value"] == pytest.approx(st.chi2.sf(9.025, 1))
    assert mcnemar_test(a2, a2)["p_value"] == 1.0


def test_holm_hand_computed() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005=0.02, 3*0.01=0.03, 2*0.03=0.06, max(0.04, 0.06)
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    out = holm([0.02, np.nan, 0.04])
    np.testing.assert_allclose(out[[0, 2]], [0.04, 0.04])
    assert np.isnan(out[1])
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]"):
        holm([0.1, 1.5])


def test_bootstrap_ci_seeded_and_covers_mean() -> None:
    x = np.random.default_rng(0).normal(10.0, 1.0, size=200)
    lo, hi = bootstrap_ci(x, seed=1, n_resamples=500)
    assert lo < x.mean() < hi
    assert (lo, hi) == bootstrap_ci(x, seed=1, n_resamples=500)
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(200), rel=0.25)
    with pytest.raises(DataError, match="at least 2 finite"):
        bootstrap_ci([1.0], seed=0)


def _results() -> pd.DataFrame:
    rows = []
    for seed in range(8):
        rows.append({"model": "cnn_lstm", "seed": seed, "f1": A[seed]})
        rows.append({"model": "random_forest", "seed": seed, "f1": B[seed]})
        rows.append({"model": "lstm", "seed": seed, "f1": A[seed] - 0.001 * (seed % 3)})
    return pd.DataFrame(rows)


def test_compare_models_table() -> None:
    rng = np.random.default_rng(4)
    truth_correct = rng.random(300) < 0.9
    preds = pd.DataFrame(
        {
            "model": ["cnn_lstm"] * 300 + ["random_forest"] * 300 + ["lstm"] * 300,
            "sample": list(range(300)) * 3,
            "correct": np.concatenate(
                [truth_correct, truth_correct & (rng.random(300) < 0.8), truth_correct]
            ),
        }
    )
    table = compare_models(_results(), main="cnn_lstm", predictions=preds)
    assert set(table["test"]) == {"paired_t", "wilcoxon", "mcnemar"}
    assert len(table) == 6
    t_rf = table[(table.control == "random_forest") & (table.test == "paired_t")].iloc[0]
    assert t_rf["p_value"] == pytest.approx(st.ttest_rel(A, B).pvalue)
    for test in ("paired_t", "wilcoxon", "mcnemar"):
        sub = table[table.test == test]
        np.testing.assert_allclose(sub["p_holm"], holm(sub["p_value"].to_numpy()))
    mc = table[(table.control == "random_forest") & (table.test == "mcnemar")].iloc[0]
    assert mc["effect_size"] == 1.0 and mc["significant"]
    mc_same = table[(table.control == "lstm") & (table.test == "mcnemar")].iloc[0]
    assert mc_same["p_value"] == 1.0


def test_compare_models_bad_input() -> None:
    res = _results()
    with pytest.raises(DataError, match="lacks columns \\['f1'\\]"):
        compare_models(res.drop(columns="f1"))
    with pytest.raises(DataError, match="main model 'transformer' is not in the results"):
        compare_models(res, main="transformer")
    with pytest.raises(DataError, match="add at least one control"):
        compare_models(res[res.model == "cnn_lstm"])
    short = pd.concat([res[res.model == "cnn_lstm"], res[(res.model == "lstm") & (res.seed == 0)]])
    with pytest.raises(DataError, match="share 1 seed"):
        compare_models(short)
    with pytest.raises(DataError, match="at least 2 pairs"):
        paired_ttest([1.0], [2.0])
    with pytest.raises(DataError, match="equal length"):
        wilcoxon_test([1.0, 2.0], [1.0])
    with pytest.raises(DataError, match="same test samples"):
        mcnemar_test([True], [True, False])
