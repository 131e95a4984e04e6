"""Seasonal composites of a monthly cube."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from coexplore.errors import DataError
from coexplore.features.seasonal import season_mask, seasonal_composites


def _monthly(start="2020-11-01", end="2021-12-01") -> xr.DataArray:
    times = pd.date_range(start, end, freq="MS")
    month = times.month.to_numpy().astype(np.float32)
    values = np.broadcast_to(month[:, None, None, None], (times.size, 2, 3, 4)).copy()
    values[:, 1] *= 10.0
    return xr.DataArray(
        values, dims=("time", "band", "y", "x"), coords={"time": times, "band": ["a", "b"]}
    )


def test_median_per_season_with_december_in_next_winter():
    out = seasonal_composites(_monthly(), year=2021)
    assert out.dims == ("season", "band", "y", "x")
    assert list(out["season"].values) == ["spring", "summer", "autumn", "winter"]
    got = out.sel(band="a").isel(y=0, x=0).values.tolist()
    # spring 3,4,5 -> 4; summer 7; autumn 10; winter = Dec 2020, Jan, Feb 2021 -> median(12, 1, 2) = 2
    assert got == [4.0, 7.0, 10.0, 2.0]
    assert float(out.sel(band="b", season="winter").isel(y=0, x=0)) == 20.0


def test_season_mask():
    t = pd.date_range("2020-11-01", "2021-12-01", freq="MS")
    assert t[season_mask(t, season="winter", year=2021)].strftime("%Y-%m").tolist() == [
        "2020-12",
        "2021-01",
        "2021-02",
    ]
    assert t[season_mask(t, season="summer", year=2021)].month.tolist() == [6, 7, 8]
    with pytest.raises(DataError, match="unknown season 'monsoon'"):
        season_mask(t, season="monsoon", year=2021)


def test_nan_skipped_and_all_nan_stays_nan():
    da = _monthly()
    da[da["time.month"] == 7, 0, 0, 0] = np.nan  # one summer month missing at one pixel
    da.loc[{"time": slice("2021-06", "2021-08")}] = da.loc[
        {"time": slice("2021-06", "2021-08")}
    ].where(~((da["y"] == 1) & (da["x"] == 1)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        out = seasonal_composites(da, year=2021, seasons=["summer"])
    assert float(out.sel(band="a").isel(season=0, y=0, x=0)) == 7.0  # median(6, 8)
    assert np.isnan(out.sel(band="a").isel(season=0, y=1, x=1))


def test_dask_equals_numpy_and_mean():
    da = _monthly()
    eager = seasonal_composites(da, year=2021)
    lazy = seasonal_composites(da.chunk({"time": 2, "y": 2}), year=2021)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(eager.values, lazy.compute().values)
    mean = seasonal_composites(da, year=2021, statistic="mean", seasons=["winter"])
    assert float(mean.sel(band="a").isel(season=0, y=0, x=0)) == pytest.approx(5.0)  # (12+1+2)/3


def test_missing_season_and_bad_statistic():
    with pytest.raises(
        DataError,
        match=r"cube 'landsat8' has no time step in winter 2021 \(it covers 2021-03 to 2021-12\)",
    ):
        seasonal_composites(_monthly(start="2021-03-01"), year=2021, source="landsat8")
    with pytest.raises(DataError, match="unknown composite statistic 'max'"):
        seasonal_composites(_monthly(), year=2021, statistic="max")
