"""Classical classifiers, pixel sampling with spatial blocks, the selection experiment."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from coexplore.errors import ConfigError, DataError
from coexplore.learn.classical import (
    SEED_TABLE3,
    SEED_TABLE5,
    compare_selection_with_seed,
    compare_with_seed,
    make_splits,
    run_selection_experiment,
    sample_pixels,
)
from coexplore.learn.splits import TEST, TRAIN, spatial_blocks
from coexplore.models.classical import CLASSIFIERS, make_classifier

SHAPE = (40, 40)
BLOCK = 8


def _scene(seed: int = 0) -> tuple[xr.DataArray, np.ndarray]:
    """Three land-use classes in vertical bands; two informative features of six."""
    rng = np.random.default_rng(seed)
    labels = np.ones(SHAPE, dtype=np.uint8)
    labels[:, 14:27] = 2
    labels[:, 27:] = 4
    labels[:2] = 0  # unlabelled rows
    n_feat = 6
    data = rng.normal(0, 1, (n_feat, *SHAPE)).astype(np.float32)
    data[1] += 3.0 * labels
    data[4] -= 3.0 * (labels == 2)
    data[5, :, :5] = np.nan  # a source that does not cover the western edge
    feats = xr.DataArray(
        data,
        dims=("feature", "y", "x"),
        coords={"feature": [f"f{i}" for i in range(n_feat)]},
    )
    return feats, labels


def _separable(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2, 3], n // 3)
    x = rng.normal(0, 0.3, (n, 3)) + y[:, None]
    return x, y


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_each_classifier_learns_and_is_seeded(name):
    x, y = _separable()
    x[0, 0] = np.nan  # the imputer handles it
    a = make_classifier(name, seed=1).fit(x, y)
    b = make_classifier(name, seed=1).fit(x, y)
    assert (a.predict(x) == y).mean() > 0.95
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    steps = [s for s, _ in a.steps]
    assert steps[0] == "impute" and steps[-1] == "model"
    assert ("scale" in steps) == (name in ("svm", "knn", "ann"))


def test_classifier_errors():
    with pytest.raises(ConfigError, match="unknown classifier 'xgb'"):
        make_classifier("xgb", seed=0)
    with pytest.raises(ConfigError, match="'knn' does not accept parameters"):
        make_classifier("knn", seed=0, n_trees=3)
    plain = make_classifier("svm", seed=0, probability=False).named_steps["model"]
    assert type(plain).__name__ == "SVC"
    calibrated = make_classifier("svm", seed=0).named_steps["model"]
    assert type(calibrated).__name__ == "CalibratedClassifierCV" and calibrated.method == "sigmoid"


def test_sample_pixels_blocked_split_shares_no_block():
    feats, labels = _scene()
    splits = spatial_blocks(SHAPE, BLOCK, seed=3)
    s = sample_pixels(feats, labels, splits, per_class=40, seed=0)
    assert s.x_train.shape == (s.y_train.size, 6)
    assert (splits[s.rows_train, s.cols_train] == TRAIN).all()
    assert (splits[s.rows_test, s.cols_test] == TEST).all()
    train_blocks = set(zip(s.rows_train // BLOCK, s.cols_train // BLOCK, strict=True))
    test_blocks = set(zip(s.rows_test // BLOCK, s.cols_test // BLOCK, strict=True))
    assert train_blocks.isdisjoint(test_blocks)
    assert np.bincount(s.y_train).max() <= 40
    assert set(s.y_train.tolist()) == {1, 2, 4}
    assert (labels[s.rows_train, s.cols_train] == s.y_train).all()
    np.testing.assert_array_equal(s.x_train[:, 1], feats.values[1, s.rows_train, s.cols_train])
    again = sample_pixels(feats, labels, splits, per_class=40, seed=0)
    np.testing.assert_array_equal(again.rows_train, s.rows_train)


def test_random_split_is_leaky():
    feats, labels = _scene()
    splits = make_splits(SHAPE, scheme="random", seed=3)
    s = sample_pixels(feats, labels, splits, per_class=100, seed=0)
    train_blocks = set(zip(s.rows_train // BLOCK, s.cols_train // BLOCK, strict=True))
    test_blocks = set(zip(s.rows_test // BLOCK, s.cols_test // BLOCK, strict=True))
    assert train_blocks & test_blocks  # the leakage the blocked split prevents


def test_class_absent_from_training_is_named():
    feats, labels = _scene()
    splits = spatial_blocks(SHAPE, BLOCK, seed=3)
    labels = labels.copy()
    test_cells = np.argwhere(splits == TEST)[:5]
    labels[test_cells[:, 0], test_cells[:, 1]] = 5  # mining only inside test blocks
    with pytest.raises(
        DataError, match=r"5 \(mining\) \(present in the test split\).*no training pixel"
    ):
        sample_pixels(feats, labels, splits, per_class=10, seed=0)


def test_sample_pixels_errors():
    feats, labels = _scene()
    with pytest.raises(DataError, match="differ"):
        sample_pixels(feats, labels[:10], np.zeros(SHAPE), per_class=5, seed=0)
    with pytest.raises(DataError, match="per_class=0"):
        sample_pixels(feats, labels, np.zeros(SHAPE), per_class=0, seed=0)
    with pytest.raises(ConfigError, match="split scheme 'kfold'"):
        make_splits(SHAPE, scheme="kfold", seed=0)


def test_selection_experiment_table():
    feats, labels = _scene()
    splits = make_splits(SHAPE, block_size=BLOCK, seed=3)
    table = run_selection_experiment(
        feats, labels, splits, k=2, per_class=40, seed=0, n_estimators_selection=30,
        classifiers=("rf", "knn", "nb"),
    )  # fmt: skip
    assert list(table.index) == ["RF", "KNN", "NB"]
    assert list(table.columns.get_level_values("method").unique()) == [
        "all",
        "rf",
        "relieff",
        "combined",
    ]
    assert set(table.columns.get_level_values("metric")) == {"OA", "Kappa"}
    oa = table.xs("OA", axis=1, level="metric")
    assert ((oa >= 0) & (oa <= 100)).all().all()
    assert oa.loc["RF", "combined"] > 90  # two strong features
    assert set(table.attrs["selected"]["combined"]) == {"f1", "f4"}
    assert table.attrs["n_features"] == 6
    beside = compare_with_seed(table)
    assert beside.loc["ResNet50", "seed_OA"] == 95.36 and np.isnan(
        beside.loc["ResNet50", "ours_OA"]
    )
    assert beside.loc["RF", "seed_OA"] == 94.08
    assert beside.loc["RF", "ours_OA"] == table.loc["RF", ("combined", "OA")]
    t5 = compare_selection_with_seed(table)
    assert list(t5.index) == ["All features", "RF", "Relief-F", "Relief-F + RF"]
    assert t5["seed_ResNet50_OA"].tolist() == [94.20, 94.97, 95.10, 95.36]


def test_seed_tables():
    assert SEED_TABLE3.loc["NB", "OA"] == 77.35 and SEED_TABLE3.loc["ResNet50", "Kappa"] == 0.942
    assert SEED_TABLE5["OA"].idxmax() == "combined"


def test_experiment_errors():
    feats, labels = _scene()
    splits = make_splits(SHAPE, block_size=BLOCK, seed=3)
    with pytest.raises(ConfigError, match="unknown classifier"):
        run_selection_experiment(feats, labels, splits, classifiers=("gbm",), seed=0)
    with pytest.raises(ConfigError, match="unknown selection method"):
        run_selection_experiment(feats, labels, splits, methods=("mrmr",), seed=0)
