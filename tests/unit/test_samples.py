"""Patch time-series samples: indices, external features, sampling rules,
storage and the dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from coexplore.errors import ConfigError, DataError, InputError
from coexplore.io.rasters import read_raster
from coexplore.learn import samples as samples_mod
from coexplore.learn.samples import (
    SampleDataset,
    build_samples,
    external_feature_names,
    external_features,
    patch_statistics,
    spectral_indices,
)
from coexplore.learn.splits import spatial_blocks

torch.set_num_threads(1)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
REAL_LANDSAT = REALDATA / "landsat8_l1"

H = W = 40
P = 8
STEPS = 12
METEO = ["temperature", "relative_humidity", "wind_speed", "solar_irradiance"]
# blue, red, nir, swir1 reflectance per class: vegetation, water, built-up,
# bare land, mining, reclaimed
REFLECTANCE = {
    1: (0.03, 0.04, 0.40, 0.15),
    2: (0.05, 0.03, 0.02, 0.01),
    3: (0.12, 0.15, 0.20, 0.22),
    4: (0.15, 0.25, 0.28, 0.35),
    5: (0.20, 0.30, 0.30, 0.40),
    6: (0.05, 0.08, 0.30, 0.20),
}


def make_inputs(seed: int = 0) -> dict:
    """A 40x40 monthly cube 2018-2020 whose reflectance follows the classes."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2018-01-01", "2020-12-01", freq="MS")
    blocks = rng.integers(1, 7, size=(8, 8))
    lab19 = np.kron(blocks, np.ones((5, 5), dtype=int)).astype(np.uint8)
    lab20 = lab19.copy()
    lab20[:20, :20] = 5  # mining spreads in 2020
    lut = np.array([(0, 0, 0, 0), *REFLECTANCE.values()])
    base = lut[lab19].transpose(2, 0, 1)
    optical = base[None] + 0.01 * rng.standard_normal((len(times), 4, H, W))
    vv = -10.0 + rng.standard_normal((len(times), 1, H, W))
    cube = xr.DataArray(
        np.concatenate([optical, vv], axis=1).astype(np.float32),
        dims=("time", "band", "y", "x"),
        coords={"time": times, "band": ["blue", "red", "nir", "swir1", "vv"]},
    )
    meteo = xr.DataArray(
        rng.standard_normal((len(times), len(METEO))).astype(np.float32),
        dims=("time", "band"),
        coords={"time": times, "band": METEO},
    )
    return {
        "cube": cube,
        "external": meteo,
        "labels": {2019: lab19, 2020: lab20},
        "splits": spatial_blocks((H, W), 10, seed=0),
    }


def build(tmp_path: Path, inputs: dict | None = None, **kw: object) -> tuple[Path, dict]:
    inputs = inputs or make_inputs()
    options = {"patch_size": P, "n_steps": STEPS, "samples_per_split": 30, "seed": 0}
    options.update(kw)
    out = tmp_path / "samples"
    summary = build_samples(
        inputs["cube"],
        inputs["external"],
        inputs["labels"],
        inputs["splits"],
        out_dir=out,
        **options,
    )
    return out, summary


def load(out: Path, split: str, name: str) -> np.ndarray:
    return np.load(out / f"{split}_{name}.npy")


# --------------------------------------------------------------- formulas


def test_spectral_indices_known_answer() -> None:
    ndvi, bsi = spectral_indices(
        np.array([0.1, 0.0]), np.array([0.2, 0.0]), np.array([0.6, 0.0]), np.array([0.3, 0.0])
    )
    assert ndvi[0] == pytest.approx(0.4 / 0.8)
    assert bsi[0] == pytest.approx((0.5 - 0.7) / 1.2)
    assert np.isnan(ndvi[1]) and np.isnan(bsi[1])


def test_patch_statistics_window_and_bare_fraction() -> None:
    bands = np.zeros((1, 4, 12, 12))
    bands[:, :] = np.array([0.03, 0.04, 0.40, 0.15])[None, :, None, None]  # vegetation
    bands[0, :, 5, 6] = [0.15, 0.25, 0.28, 0.35]  # one bare-soil pixel
    stats = patch_statistics(bands, patch_size=4)
    bare = stats[0, 0]
    # a patch of 4 centred on c spans c-2 .. c+1: the pixel (5, 6) is in the
    # patches centred on rows 4..7 and columns 5..8, and in no other
    for row, col in [(4, 5), (7, 8), (6, 7)]:
        assert bare[row, col] == pytest.approx(1 / 16)
    for row, col in [(3, 6), (8, 6), (5, 4), (5, 9)]:
        assert bare[row, col] == 0.0
    ndvi_veg, bsi_veg = spectral_indices(0.03, 0.04, 0.40, 0.15)
    ndvi_bare, bsi_bare = spectral_indices(0.15, 0.25, 0.28, 0.35)
    assert stats[0, 1, 6, 7] == pytest.approx((15 * ndvi_veg + ndvi_bare) / 16, rel=1e-5)
    assert stats[0, 4, 5, 6] == pytest.approx(bsi_bare, rel=1e-5)
    assert stats[0, 2, 9, 2] == pytest.approx(0.0, abs=1e-6)  # uniform patch: no spread
    with pytest.raises(DataError, match=r"expected \(T, 4, H, W\)"):
        patch_statistics(np.zeros((1, 3, 4, 4)), patch_size=2)


@pytest.mark.realdata
def test_patch_statistics_on_a_real_landsat_crop() -> None:
    if not REAL_LANDSAT.is_dir():
        pytest.skip(f"real sample {REAL_LANDSAT} absent (../shared/realdata beside the repo)")
    mtl = (REAL_LANDSAT / "l8_MTL.txt").read_text()

    def reflectance(band: int) -> np.ndarray:
        dn, _ = read_raster(REAL_LANDSAT / f"l8_B{band}.tif", indexes=1)
        mult = float(mtl.split(f"REFLECTANCE_MULT_BAND_{band} = ")[1].split()[0])
        add = float(mtl.split(f"REFLECTANCE_ADD_BAND_{band} = ")[1].split()[0])
        crop = dn[200:260, 300:360].astype(np.float64)
        return np.where(crop > 0, crop * mult + add, np.nan)

    bands = np.stack([reflectance(b) for b in (2, 4, 5, 6)])[None]  # blue, red, nir, swir1
    stats = patch_statistics(bands, patch_size=6)
    ndvi, bsi = spectral_indices(*bands[0])
    assert np.nanmin(ndvi) >= -1 and np.nanmax(ndvi) <= 1
    bare = (bsi > 0.0) & (ndvi < 0.2)
    for row, col in [(10, 10), (30, 41), (52, 7)]:
        window = bare[row - 3 : row + 3, col - 3 : col + 3]
        assert stats[0, 0, row, col] == pytest.approx(window.mean(), abs=1e-6)
        assert stats[0, 1, row, col] == pytest.approx(
            np.nanmean(ndvi[row - 3 : row + 3, col - 3 : col + 3]), abs=1e-5
        )


def test_external_features_known_answers() -> None:
    months = np.array([1, 2, 3] * 5)  # 15 steps, three calendar months
    t = len(months)
    series = np.arange(t, dtype=float)
    meteo = series[:, None, None]
    stats = np.zeros((t, 5, 1))
    stats[:, 0, 0] = np.linspace(0.0, 0.7, t)  # bare fraction rises
    out = external_features(meteo, stats, months, variables=["temperature"], n_external=20)
    names = external_feature_names(["temperature"], n_external=20)
    col = {n: out[:, k, 0] for k, n in enumerate(names)}
    assert len(names) == 20 and names[-3:] == ["pad_0", "pad_1", "pad_2"]
    assert col["temperature_value"][4] == 4.0
    # month 2 at steps 1, 4, 7, 10, 13: mean 7
    assert col["temperature_anomaly"][4] == pytest.approx(4.0 - 7.0)
    assert col["temperature_lag1"][0] == 0.0 and col["temperature_lag1"][5] == 4.0
    assert col["temperature_mean3"][5] == pytest.approx(4.0)
    assert col["temperature_mean3"][0] == 0.0
    assert col["temperature_mean12"][14] == pytest.approx(np.mean(np.arange(3, 15)))
    assert col["bare_fraction_diff1"][3] == pytest.approx(0.05, rel=1e-5)
    assert col["bare_fraction_diff12"][14] == pytest.approx(0.6, rel=1e-5)
    assert col["bare_fraction_max12"][14] == pytest.approx(0.7, rel=1e-5)
    assert col["month_sin"][1] == pytest.approx(0.5)
    assert col["month_cos"][0] == pytest.approx(1.0)
    assert np.all(col["pad_0"] == 0.0)


def test_external_features_exactly_32_for_four_variables() -> None:
    assert len(external_feature_names(METEO)) == 32
    assert not any(n.startswith("pad_") for n in external_feature_names(METEO))
    with pytest.raises(ConfigError, match="raise n_external to at least 32"):
        external_feature_names(METEO, n_external=16)


# --------------------------------------------------------------- build_samples


def test_shapes_meta_and_dataset(tmp_path: Path) -> None:
    out, summary = build(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["channels"] == ["blue", "red", "nir", "swir1", "vv"]
    assert len(meta["external_features"]) == 32
    assert meta["years"] == [2019, 2020]
    assert meta["windows"]["2019"] == ["2019-01-01", "2019-12-01"]
    for split, n in summary["n_samples"].items():
        assert 0 < n <= 30
        assert load(out, split, "x").shape == (n, STEPS, 5, P, P)
        assert load(out, split, "external").shape == (n, STEPS, 32)
        assert sum(meta["counts"][split].values()) == n
    ds = SampleDataset(out, "train")
    x, ext, label, target = ds[0]
    assert x.shape == (STEPS, 5, P, P) and x.dtype == torch.float32
    assert ext.shape == (STEPS, 32)
    assert label.dtype == torch.int64 and int(label) == int(ds.labels[0]) - 1
    assert float(target) == pytest.approx(float(ds.targets[0]))


def test_no_patch_straddles_splits_and_values_are_the_cube(tmp_path: Path) -> None:
    inputs = make_inputs()
    out, _ = build(tmp_path, inputs)
    cube = inputs["cube"].values
    times = pd.DatetimeIndex(inputs["cube"].time.values)
    h = P // 2
    for code, split in enumerate(("train", "val", "test")):
        positions = load(out, split, "position")
        x = load(out, split, "x")
        for i, (year, row, col, _) in enumerate(positions):
            window = inputs["splits"][row - h : row - h + P, col - h : col - h + P]
            assert window.shape == (P, P) and np.all(window == code)
            end = np.flatnonzero(times.year == year).max()
            expected = cube[
                end - STEPS + 1 : end + 1, :, row - h : row - h + P, col - h : col - h + P
            ]
            np.testing.assert_array_equal(x[i], expected)


def test_labels_and_targets_from_the_truth(tmp_path: Path) -> None:
    inputs = make_inputs()
    out, summary = build(tmp_path, inputs)
    h = P // 2
    for split in ("train", "val", "test"):
        labels = load(out, split, "label")
        targets = load(out, split, "target")
        for i, (year, row, col, target_year) in enumerate(load(out, split, "position")):
            assert labels[i] == inputs["labels"][year][row, col]
            # next year's truth, the same year for the last one
            assert target_year == (2020 if year == 2019 else 2020)
            patch = inputs["labels"][target_year][row - h : row - h + P, col - h : col - h + P]
            assert targets[i] == pytest.approx(np.isin(patch, (4, 5)).mean())
    same = summary["target_same_year"]
    assert sum(same.values()) == sum(
        int((load(out, s, "position")[:, 0] == 2020).sum()) for s in ("train", "val", "test")
    )


def test_drop_last_year(tmp_path: Path) -> None:
    out, summary = build(tmp_path, last_year_target="drop")
    assert summary["years"] == [2019]
    assert "2020" in json.loads((out / "meta.json").read_text())["skipped_years"]
    assert sum(summary["target_same_year"].values()) == 0


def test_stratified_even_classes_with_cap(tmp_path: Path) -> None:
    out, summary = build(tmp_path, samples_per_split={"train": 24, "val": 12, "test": 12})
    train = summary["counts"]["train"]
    assert sum(train.values()) == 24
    # every class that has enough candidates gets the same share
    assert max(train.values()) - min(train.values()) <= 1 or min(train.values()) < 4


def test_normalisation_stats_from_train_only(tmp_path: Path) -> None:
    out, _ = build(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    train = load(out, "train", "x").astype(np.float64)
    np.testing.assert_allclose(
        meta["stats"]["channel_mean"], train.mean(axis=(0, 1, 3, 4)), rtol=1e-6
    )
    np.testing.assert_allclose(
        meta["stats"]["channel_std"], train.std(axis=(0, 1, 3, 4)), rtol=1e-5
    )
    every = np.concatenate([load(out, s, "x") for s in ("train", "val", "test")]).astype(np.float64)
    assert not np.allclose(meta["stats"]["channel_mean"], every.mean(axis=(0, 1, 3, 4)), rtol=1e-7)
    ext = load(out, "train", "external").astype(np.float64)
    np.testing.assert_allclose(meta["stats"]["external_mean"], ext.mean(axis=(0, 1)), atol=1e-6)
    # the dataset applies them: train inputs become zero-mean
    ds = SampleDataset(out, "train")
    xs = torch.stack([ds[i][0] for i in range(len(ds))])
    assert torch.allclose(xs.mean(dim=(0, 1, 3, 4)), torch.zeros(5), atol=1e-4)


def test_missing_values_are_filled_with_the_train_mean(tmp_path: Path) -> None:
    inputs = make_inputs()
    cube = inputs["cube"].copy()
    cube.values[:, 4, :, :] = np.where(
        np.random.default_rng(1).random((cube.sizes["time"], H, W)) < 0.05,
        np.nan,
        cube.values[:, 4],
    )
    out, summary = build(tmp_path, {**inputs, "cube": cube})
    meta = json.loads((out / "meta.json").read_text())
    assert summary["nan_filled"]["train"]["x"] > 0
    for split in ("train", "val", "test"):
        assert np.isfinite(load(out, split, "x")).all()
        assert np.isfinite(load(out, split, "external")).all()
    vv = load(out, "train", "x")[:, :, 4]
    assert np.isclose(vv, np.float32(meta["stats"]["channel_mean"][4])).sum() >= 1


def test_same_seed_same_samples(tmp_path: Path) -> None:
    a, _ = build(tmp_path / "a", seed=3)
    b, _ = build(tmp_path / "b", seed=3)
    c, _ = build(tmp_path / "c", seed=4)
    pa, pb, pc = (load(d, "train", "position") for d in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(pa, pc)


def test_spatial_meteo_and_prefixed_channels(tmp_path: Path) -> None:
    inputs = make_inputs()
    cube = inputs["cube"].assign_coords(
        band=["landsat8:blue", "landsat8:red", "landsat8:nir", "landsat8:swir1", "sentinel1:vv"]
    )
    meteo = inputs["external"].expand_dims(y=H, x=W).transpose("time", "band", "y", "x")
    out, _ = build(tmp_path, {**inputs, "cube": cube, "external": meteo.copy()})
    meta = json.loads((out / "meta.json").read_text())
    assert meta["channel_groups"] == {"landsat8": [0, 1, 2, 3], "sentinel1": [4]}
    assert meta["index_bands"][0] == "landsat8:blue"


def test_failure_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(arrays: dict) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(samples_mod, "_normalisation", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build(tmp_path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------- errors


def test_input_errors(tmp_path: Path) -> None:
    inputs = make_inputs()
    with pytest.raises(DataError, match="splits have shape"):
        build(tmp_path, {**inputs, "splits": inputs["splits"][:10]})
    bad = {2019: inputs["labels"][2019].copy()}
    bad[2019][0, 0] = 9
    with pytest.raises(DataError, match=r"classes \[9\] outside 1..6"):
        build(tmp_path, {**inputs, "labels": bad})
    with pytest.raises(DataError, match="lacks some of the cube's time steps"):
        build(tmp_path, {**inputs, "external": inputs["external"].isel(time=slice(0, 20))})
    with pytest.raises(DataError, match="no usable year"):
        build(tmp_path, n_steps=40)
    with pytest.raises(DataError, match="cannot find the 'swir1' channel"):
        build(tmp_path, {**inputs, "cube": inputs["cube"].isel(band=[0, 1, 2, 4])})
    with pytest.raises(DataError, match="channel dimension"):
        build(tmp_path, {**inputs, "cube": inputs["cube"].rename(band="wavelength")})
    with pytest.raises(ConfigError, match=r"unknown splits \['validation'\]"):
        build(tmp_path, samples_per_split={"validation": 3})
    with pytest.raises(ConfigError, match="last_year_target='skip' is unknown"):
        build(tmp_path, last_year_target="skip")
    gappy = inputs["cube"].drop_sel(time=np.datetime64("2019-06-01"))
    with pytest.raises(DataError, match="not one step per month"):
        build(tmp_path, {**inputs, "cube": gappy})
    assert not (tmp_path / "samples").exists()


def test_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no meta.json"):
        SampleDataset(tmp_path, "train")
    out, _ = build(tmp_path)
    with pytest.raises(ConfigError, match="split 'dev' is unknown"):
        SampleDataset(out, "dev")
    (out / "val_x.npy").unlink()
    with pytest.raises(InputError, match="sample array is missing"):
        SampleDataset(out, "val")[0]
