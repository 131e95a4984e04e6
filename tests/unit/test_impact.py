"""Tests of coexplore.products.impact: NDVI, Theil-Sen trends, rings, reclamation, water."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats as st

from coexplore.errors import DataError
from coexplore.products.impact import (
    annual_ndvi,
    distance_rings,
    impact_tables,
    ndvi,
    reclamation_progress,
    theil_sen_slope,
    vegetation_impact,
    water_affected,
)


def test_ndvi_known_bands_and_annual_median() -> None:
    np.testing.assert_allclose(ndvi(np.array([0.1, 0.0]), np.array([0.3, 0.0])), [0.5, np.nan])
    times = pd.date_range("2020-01-01", periods=24, freq="MS")
    data = np.zeros((24, 2, 1, 1), np.float32)
    data[:, 0] = 0.1  # red
    data[:12, 1] = 0.3  # nir 2020 -> NDVI 0.5
    data[12:, 1] = 0.1  # nir 2021 -> NDVI 0
    cube = xr.DataArray(
        data, dims=("time", "band", "y", "x"), coords={"time": times, "band": ["red", "nir"]}
    )
    out = annual_ndvi(cube)
    assert out["year"].values.tolist() == [2020, 2021]
    np.testing.assert_allclose(out.values[:, 0, 0], [0.5, 0.0])
    with pytest.raises(DataError, match="red and nir"):
        annual_ndvi(cube.sel(band=["red"]))


def test_theil_sen_known_line_outlier_and_scipy() -> None:
    t = np.arange(2015, 2023, dtype=float)
    line = 2.0 + 0.5 * (t - 2015)
    series = np.stack([line, line], axis=1)
    series[3, 1] = 40.0  # one outlier does not move the median slope
    slope, intercept = theil_sen_slope(series, t)
    np.testing.assert_allclose(slope, [0.5, 0.5])
    assert intercept[0] == pytest.approx(2.0 - 0.5 * 2015)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(9, 3, 5))
    y[2, 0, 0] = np.nan
    s, b = theil_sen_slope(y, np.arange(9.0), max_pairs_cells=100)  # forces chunking
    ref = st.theilslopes(y[:, 1, 3], np.arange(9.0))
    assert s[1, 3] == pytest.approx(ref.slope) and b[1, 3] == pytest.approx(ref.intercept)
    ok = np.isfinite(y[:, 0, 0])
    assert s[0, 0] == pytest.approx(st.theilslopes(y[ok, 0, 0], np.arange(9.0)[ok]).slope)
    few = np.full((4, 1), np.nan)
    few[:2, 0] = [1.0, 2.0]
    assert np.isnan(theil_sen_slope(few, np.arange(4.0))[0][0])
    with pytest.raises(DataError, match="strictly increasing"):
        theil_sen_slope(y, np.array([0, 1, 2, 3, 3, 5, 6, 7, 8.0]))
    with pytest.raises(DataError, match="one time per step"):
        theil_sen_slope(y, np.arange(5.0))


def test_distance_rings_known_distances() -> None:
    fp = np.zeros((9, 9), bool)
    fp[4, 4] = True
    ring, dist = distance_rings(fp, pixel_size=100.0, rings=((0, 150), (150, 300)))
    assert ring[4, 4] == 0
    assert ring[4, 5] == 1 and ring[5, 5] == 1  # 100 m and 141 m
    assert ring[4, 6] == 2 and ring[4, 7] == 2  # 200 m and 300 m (upper edge inclusive)
    assert ring[5, 7] == 3 and dist[5, 7] == pytest.approx(np.hypot(100, 300))  # beyond
    with pytest.raises(DataError, match="ascending"):
        distance_rings(fp, pixel_size=100.0, rings=((0, 300), (150, 200)))


def _years() -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """1 x 8 strip, 100 m pixels: mine at column 0, vegetation lost next to it."""
    lu = {
        2019: np.array([[5, 1, 1, 1, 1, 2, 1, 1]], np.uint8),
        2020: np.array([[5, 4, 1, 1, 1, 2, 1, 1]], np.uint8),
        2021: np.array([[6, 5, 1, 1, 1, 4, 1, 1]], np.uint8),
    }
    nd = {
        2019: np.array([[0.1, 0.8, 0.8, 0.8, 0.8, -0.2, 0.8, 0.8]]),
        2020: np.array([[0.1, 0.2, 0.7, 0.8, 0.8, -0.2, 0.8, 0.8]]),
        2021: np.array([[0.4, 0.1, 0.6, 0.8, 0.8, 0.1, 0.8, 0.8]]),
    }
    return lu, nd


def test_vegetation_impact_per_ring() -> None:
    lu, nd = _years()
    # footprint = columns 0 and 1 (mined in some year); rings at 100 m pixels
    df = vegetation_impact(lu, nd, pixel_size=100.0, rings=((0, 100), (100, 300)))
    assert df["ring"].tolist() == ["mine", "0-100 m", "100-300 m", "beyond"]
    mine, r1, r2, beyond = (df.iloc[i] for i in range(4))
    assert mine["vegetation_first_ha"] == pytest.approx(1.0)  # column 1, one 1 ha pixel
    assert mine["vegetation_loss_ha"] == pytest.approx(1.0) and mine["vegetation_loss_pct"] == 100.0
    assert r1["area_ha"] == pytest.approx(1.0) and r1["vegetation_loss_ha"] == 0.0
    assert r1["ndvi_trend_median"] == pytest.approx(-0.1)  # column 2: 0.8, 0.7, 0.6
    assert r2["area_ha"] == pytest.approx(2.0) and r2["ndvi_trend_median"] == pytest.approx(0.0)
    assert beyond["area_ha"] == pytest.approx(3.0)
    assert beyond["browning_share"] == 0.0
    with pytest.raises(DataError, match="at least 2 years"):
        vegetation_impact({2019: lu[2019]}, nd, pixel_size=100.0)
    with pytest.raises(DataError, match="grid"):
        vegetation_impact(lu, {y: a[:, :5] for y, a in nd.items()}, pixel_size=100.0)


def test_reclamation_progress_and_water() -> None:
    lu, nd = _years()
    rec = reclamation_progress(lu, nd, pixel_size=100.0)
    assert rec["year"].tolist() == [2019, 2020, 2021]
    assert rec["reclaimed_ha"].tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(rec["new_reclaimed_ha"][0]) and rec["new_reclaimed_ha"][2] == 1.0
    assert rec["reclaimed_ndvi_mean"][2] == pytest.approx(0.4)
    # reference: columns 2, 3, 4, 6, 7 vegetated every year, 2021 NDVI 0.6, 0.8 x 4
    assert rec["reference_ndvi_mean"][2] == pytest.approx(0.76)
    assert rec["recovery_ratio"][2] == pytest.approx(0.4 / 0.76)
    water = water_affected(lu, pixel_size=100.0, buffer_m=450.0)
    assert water["water_in_buffer_ha"].tolist() == [0.0, 0.0, 0.0]  # 500 m from the mine
    water = water_affected(lu, pixel_size=100.0, buffer_m=500.0)
    assert water["water_in_buffer_ha"].tolist() == [1.0, 1.0, 0.0]
    assert water["water_bodies_affected"].tolist() == [1, 1, 0]
    assert water["water_lost_in_buffer_ha"].tolist()[1:] == [
        0.0,
        1.0,
    ]  # the pond became bare in 2021
    tables = impact_tables(lu, nd, pixel_size=100.0)
    assert set(tables) == {"vegetation", "reclamation", "water"}
    with pytest.raises(DataError, match="buffer_m"):
        water_affected(lu, pixel_size=100.0, buffer_m=-1.0)
