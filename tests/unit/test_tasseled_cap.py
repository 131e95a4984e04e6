"""Tasseled cap (Baig et al. 2014) on a known reflectance vector."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from coexplore.errors import DataError
from coexplore.features.tasseled_cap import BAIG2014_COEFFICIENTS, TC_BANDS, tasseled_cap

VECTOR = {"blue": 0.05, "green": 0.08, "red": 0.10, "nir": 0.50, "swir1": 0.30, "swir2": 0.20}
# hand sums of coefficient x reflectance, Baig et al. (2014) Table 2
EXPECTED = {
    # 0.3029*.05 + 0.2786*.08 + 0.4733*.1 + 0.5599*.5 + 0.5080*.3 + 0.1872*.2
    "brightness": 0.015145 + 0.022288 + 0.04733 + 0.27995 + 0.1524 + 0.03744,
    # -0.2941*.05 - 0.2430*.08 - 0.5424*.1 + 0.7276*.5 + 0.0713*.3 - 0.1608*.2
    "greenness": -0.014705 - 0.01944 - 0.05424 + 0.3638 + 0.02139 - 0.03216,
    # 0.1511*.05 + 0.1973*.08 + 0.3283*.1 + 0.3407*.5 - 0.7117*.3 - 0.4559*.2
    "wetness": 0.007555 + 0.015784 + 0.03283 + 0.17035 - 0.21351 - 0.09118,
}


def _da(values: dict[str, float], shape=(3, 4)) -> xr.DataArray:
    arr = np.stack([np.full(shape, v, dtype=np.float32) for v in values.values()])
    return xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": list(values)})


def test_known_vector():
    out = tasseled_cap(_da(VECTOR))
    assert list(out["band"].values) == ["brightness", "greenness", "wetness"]
    for name, value in EXPECTED.items():
        np.testing.assert_allclose(out.sel(band=name).values, value, atol=1e-6)


def test_published_coefficients():
    # spot-check the table against the paper's values
    assert BAIG2014_COEFFICIENTS["brightness"][3] == 0.5599
    assert BAIG2014_COEFFICIENTS["greenness"][3] == 0.7276
    assert BAIG2014_COEFFICIENTS["wetness"][4] == -0.7117
    assert TC_BANDS == ("blue", "green", "red", "nir", "swir1", "swir2")


def test_extra_bands_ignored_dims_kept_and_nan_propagates():
    values = {"coastal": 0.9, **VECTOR, "tir": 290.0}
    da = _da(values).expand_dims(time=2).copy()
    da.loc[{"band": "nir"}] = np.where(np.arange(4) == 0, np.nan, 0.5)
    out = tasseled_cap(da)
    assert out.dims == ("time", "band", "y", "x")
    assert np.isnan(out.isel(x=0)).all()
    np.testing.assert_allclose(
        out.sel(band="brightness").isel(x=1).values, EXPECTED["brightness"], atol=1e-6
    )


def test_missing_band():
    values = {k: v for k, v in VECTOR.items() if k != "swir1"}
    with pytest.raises(DataError, match=r"cube 'landsat8' lacks band\(s\) \['swir1'\]"):
        tasseled_cap(_da(values))


def test_unknown_component():
    with pytest.raises(DataError, match="unknown tasseled cap component"):
        tasseled_cap(_da(VECTOR), components=("haze",))
