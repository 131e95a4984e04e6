"""Horn (1981) slope and aspect: known answers on planes, and the real SRTM crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rioxarray
import xarray as xr
from rasterio.enums import Resampling

from coexplore.errors import DataError
from coexplore.features.terrain import horn_gradient, slope_aspect, terrain_features

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def _plane(east: float, north: float, shape=(6, 7), dx=10.0, dy=10.0) -> np.ndarray:
    """z = east * x + north * y (metres), rows from north to south."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = cols * dx
    y = -rows * dy  # northing decreases down the rows
    return 100.0 + east * x + north * y


@pytest.mark.parametrize(
    ("east", "north", "slope", "aspect"),
    [
        (1.0, 0.0, 45.0, 270.0),  # rises eastwards: faces west
        (-1.0, 0.0, 45.0, 90.0),  # rises westwards: faces east
        (0.0, 0.5, np.degrees(np.arctan(0.5)), 180.0),  # rises northwards: faces south
        (0.0, -2.0, np.degrees(np.arctan(2.0)), 0.0),  # rises southwards: faces north
        (1.0, 1.0, np.degrees(np.arctan(np.sqrt(2.0))), 225.0),  # faces south-west
    ],
)
def test_planes_everywhere_including_edges(east, north, slope, aspect):
    s, a = slope_aspect(_plane(east, north), dx=10.0, dy=10.0)
    np.testing.assert_allclose(s, slope, atol=1e-9)
    np.testing.assert_allclose(np.mod(a - aspect + 180.0, 360.0) - 180.0, 0.0, atol=1e-9)


def test_anisotropic_cells_and_gradient_values():
    z = _plane(0.3, -0.4, dx=10.0, dy=30.0)
    dzdx, dzdy = horn_gradient(z, dx=10.0, dy=30.0)
    np.testing.assert_allclose(dzdx, 0.3)
    np.testing.assert_allclose(dzdy, -0.4)
    s, _ = slope_aspect(z, dx=10.0, dy=30.0)
    np.testing.assert_allclose(s, np.degrees(np.arctan(0.5)))  # hypot(0.3, 0.4) = 0.5


def test_flat_has_zero_slope_and_no_aspect():
    s, a = slope_aspect(np.full((4, 4), 7.0), dx=10.0, dy=10.0)
    assert (s == 0).all()
    assert np.isnan(a).all()


def test_bad_inputs():
    with pytest.raises(DataError, match="at least 2x2"):
        horn_gradient(np.ones(5), dx=1.0, dy=1.0)
    with pytest.raises(DataError, match="must be positive"):
        horn_gradient(np.ones((3, 3)), dx=0.0, dy=1.0)


def _dem_da(z: np.ndarray, *, res=10.0, south_up=False, crs="EPSG:32650") -> xr.DataArray:
    h, w = z.shape
    y = 4_000_000.0 - res * (np.arange(h) + 0.5)
    if south_up:
        z, y = z[::-1], y[::-1]
    x = 500_000.0 + res * (np.arange(w) + 0.5)
    da = xr.DataArray(
        z[None], dims=("band", "y", "x"), coords={"band": ["elevation"], "y": y, "x": x}
    )
    return da.rio.write_crs(crs)


@pytest.mark.parametrize("south_up", [False, True])
def test_terrain_features_from_coordinates(south_up):
    z = _plane(0.0, 1.0)  # rises northwards: faces south
    out = terrain_features(_dem_da(z, south_up=south_up))
    assert list(out["band"].values) == ["elevation", "slope", "aspect"]
    assert out.dims == ("band", "y", "x") and out.dtype == np.float32
    np.testing.assert_allclose(out.sel(band="slope"), 45.0, atol=1e-4)
    np.testing.assert_allclose(out.sel(band="aspect"), 180.0, atol=1e-4)
    assert out.rio.crs.to_epsg() == 32650


def test_terrain_features_errors():
    z = _plane(1.0, 0.0)
    with pytest.raises(DataError, match="geographic"):
        terrain_features(_dem_da(z, crs="EPSG:4326"))
    two = xr.concat([_dem_da(z), _dem_da(z)], dim="band")
    with pytest.raises(DataError, match="DEM has 2 bands"):
        terrain_features(two)


@pytest.mark.realdata
def test_real_srtm_crop():
    path = REALDATA / "dem" / "sarsen_Rome-30m-DEM.tif"
    if not path.exists():
        pytest.skip(f"real sample data not found at {path}")
    dem = rioxarray.open_rasterio(path).astype("float64")
    with pytest.raises(DataError, match="EPSG:9707.*geographic"):
        terrain_features(dem)
    utm = dem.rio.reproject("EPSG:32633", resolution=30.0, resampling=Resampling.bilinear)
    utm = utm.where(utm > -1000)  # reprojection fill
    out = terrain_features(utm)
    slope = out.sel(band="slope").values
    aspect = out.sel(band="aspect").values
    ok = np.isfinite(slope)
    assert ok.mean() > 0.8
    assert (slope[ok] >= 0).all() and (slope[ok] < 90).all()
    assert np.nanmin(aspect) >= 0 and np.nanmax(aspect) < 360
    # an independent estimator (central differences) agrees on real relief
    z = utm.isel(band=0).values
    gy, gx = np.gradient(z, 30.0)
    ref = np.degrees(np.arctan(np.hypot(gx, gy)))
    both = ok & np.isfinite(ref)
    assert np.corrcoef(slope[both], ref[both])[0, 1] > 0.9
    assert np.median(np.abs(slope[both] - ref[both])) < 1.0
