"""Relief-F, random-forest importance, combined ranking and select_features."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import ConfigError, DataError
from coexplore.features.selection import (
    combined_ranking,
    relieff_scores,
    rf_importance,
    select_features,
)


def _informative(seed: int = 0, n: int = 300) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Three classes set by feature 'signal'; four noise features of other scales."""
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 4, n)
    signal = y + rng.normal(0, 0.3, n)
    noise = rng.normal(0, 1, (n, 4)) * np.array([1.0, 10.0, 0.01, 100.0])
    x = np.column_stack([noise[:, :2], signal, noise[:, 2:]])
    return x, y, ["n1", "n2", "signal", "n3", "n4"]


def test_relieff_by_hand():
    # class 0 at (0,0), (0,1); class 1 at (1,0), (1,1); k = 1
    # every instance: nearest hit differs in feature 1 only, nearest miss in feature 0 only
    # W0 = +4 * 1 / (4 * 1) = 1, W1 = -4 * 1 / (4 * 1) = -1
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(relieff_scores(x, y, n_neighbors=1, seed=0), [1.0, -1.0])


def test_relieff_matches_scikit_rebate_on_two_classes():
    rng = np.random.default_rng(42)
    x = rng.random((60, 4))
    y = (x[:, 0] + 0.2 * x[:, 1] > 0.6).astype(int)
    # skrebate 0.8.4: ReliefF(n_neighbors=5).fit(x, y).feature_importances_
    expected = [0.27687035, 0.03774207, 0.0209282, 0.03859773]
    np.testing.assert_allclose(relieff_scores(x, y, n_neighbors=5, seed=0), expected, atol=1e-7)


def test_relieff_ranks_informative_above_noise_and_is_seeded():
    x, y, _ = _informative()
    w = relieff_scores(x, y, n_neighbors=10, seed=0)
    assert np.argmax(w) == 2
    assert w[2] > 0.1 and np.all(np.abs(np.delete(w, 2)) < 0.05)
    a = relieff_scores(x, y, n_neighbors=10, n_samples=100, seed=7)
    b = relieff_scores(x, y, n_neighbors=10, n_samples=100, seed=7)
    np.testing.assert_array_equal(a, b)
    assert np.argmax(a) == 2


def test_relieff_constant_feature_and_errors():
    x, y, _ = _informative()
    x[:, 0] = 5.0
    assert relieff_scores(x, y, seed=0)[0] == 0.0
    x[0, 1] = np.nan
    with pytest.raises(DataError, match="impute NaN first"):
        relieff_scores(x, y, seed=0)
    with pytest.raises(DataError, match="single class"):
        relieff_scores(np.ones((5, 2)), np.zeros(5), seed=0)
    with pytest.raises(DataError, match="do not match"):
        relieff_scores(np.ones((5, 2)), np.zeros(4), seed=0)


@pytest.mark.parametrize("kind", ["impurity", "permutation"])
def test_rf_importance_ranks_informative_first(kind):
    x, y, _ = _informative()
    imp = rf_importance(x, y, seed=0, kind=kind, n_estimators=50)
    assert np.argmax(imp) == 2
    assert imp[2] > 3 * np.delete(imp, 2).max()
    np.testing.assert_array_equal(imp, rf_importance(x, y, seed=0, kind=kind, n_estimators=50))


def test_rf_importance_bad_kind():
    x, y, _ = _informative()
    with pytest.raises(ConfigError, match="kind='gain'"):
        rf_importance(x, y, seed=0, kind="gain")


def test_combined_ranking_known_answer():
    # a ranks 1,2,3,4 ; b ranks 2,1,4,3 -> normalised (rank-1)/3 averaged
    a = np.array([4.0, 3.0, 2.0, 1.0])
    b = np.array([0.3, 0.4, 0.1, 0.2])
    expected = 1 - np.array([(0 + 1) / 2, (1 + 0) / 2, (2 + 3) / 2, (3 + 2) / 2]) / 3
    np.testing.assert_allclose(combined_ranking({"a": a, "b": b}), expected)
    # ties share the mean rank
    np.testing.assert_allclose(
        combined_ranking({"a": np.array([1.0, 1.0, 0.0])}), [0.75, 0.75, 0.0]
    )
    with pytest.raises(DataError, match="differ"):
        combined_ranking({"a": a, "b": b[:3]})


@pytest.mark.parametrize("method", ["rf", "relieff", "combined"])
def test_select_features_picks_the_informative_one(method):
    x, y, names = _informative()
    x[::7, 0] = np.nan  # imputed
    res = select_features(x, y, names, method=method, k=1, seed=0, n_estimators=50)
    assert res.names == ["signal"]
    assert res.indices.tolist() == [2]
    assert res.scores.loc["signal", "rank"] == 1
    assert res.scores["selected"].sum() == 1
    if method == "combined":
        assert {"relieff", "rf", "combined"} <= set(res.scores.columns)
        assert res.scores.loc["signal", "combined"] == 1.0
    more = select_features(x, y, names, method=method, fraction=0.4, seed=0, n_estimators=50)
    assert len(more.names) == 2 and more.names[0] == "signal"


def test_select_all():
    x, y, names = _informative()
    res = select_features(x, y, names, method="all", seed=0)
    assert res.names == names and res.indices.tolist() == [0, 1, 2, 3, 4]


def test_select_errors():
    x, y, names = _informative()
    with pytest.raises(DataError, match="selection keeps no feature"):
        select_features(x, y, names, method="rf", fraction=0.05, seed=0)
    with pytest.raises(DataError, match="selection keeps no feature"):
        select_features(x, y, names, method="relieff", k=0, seed=0)
    with pytest.raises(DataError, match="k=6 exceeds the 5 features"):
        select_features(x, y, names, method="rf", k=6, seed=0)
    with pytest.raises(ConfigError, match="exactly one of k"):
        select_features(x, y, names, method="rf", k=2, fraction=0.5, seed=0)
    with pytest.raises(ConfigError, match="method 'mrmr' unknown"):
        select_features(x, y, names, method="mrmr", k=2, seed=0)
    with pytest.raises(DataError, match="4 feature names for 5 feature columns"):
        select_features(x, y, names[:4], method="rf", k=2, seed=0)
    with pytest.raises(DataError, match="is empty"):
        select_features(np.empty((10, 0)), np.arange(10) % 2, [], method="rf", k=1, seed=0)
