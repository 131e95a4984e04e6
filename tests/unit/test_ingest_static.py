"""ingest_static: real DEM (EPSG:9707) onto a UTM grid, synthetic geology, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import transform as warp_transform

from coexplore.errors import ConfigError, InputError
from coexplore.grid import Grid
from coexplore.ingest.static import ingest_static
from coexplore.sensors import Static

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
DEM = REALDATA / "dem" / "sarsen_Rome-30m-DEM.tif"
# 2 km x 2 km around (12.5 E, 42.0 N) in UTM 33N, inside the Rome DEM crop
ROME = Grid.from_bounds("EPSG:32633", (291950, 4651800, 293950, 4653800), 10)
GEO_GRID = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500300, 4400300), 10)


@pytest.fixture
def dem() -> Path:
    if not DEM.is_file():
        pytest.skip(f"real sample data not found at {DEM}")
    return DEM


@pytest.mark.realdata
def test_real_dem_onto_utm_grid(dem):
    out = ingest_static(dem, ROME, layer="dem")
    assert out.dims == ("band", "y", "x") and out.shape == (1, 200, 200)
    assert list(out.band.values) == ["elevation"] and out.dtype == np.float32
    assert out.attrs["source"] == "dem" and out.attrs["resampling"] == "cubic"
    assert out.rio.crs.to_epsg() == 32633
    values = out.values[0]
    assert np.isfinite(values).all()
    with rasterio.open(dem) as src:
        raw = src.read(1)
        # the crop's elevations bound the resampled ones (up to cubic overshoot)
        assert raw.min() - 5 < values.min() and values.max() < raw.max() + 5
        # known answer: the grid centre equals the DEM at the same place
        cx, cy = ROME.x_coords()[100], ROME.y_coords()[100]
        lon, lat = warp_transform("EPSG:32633", "EPSG:4326", [cx], [cy])
        row, col = src.index(lon[0], lat[0])
        window = raw[row - 1 : row + 2, col - 1 : col + 2].astype(float)
    assert window.min() - 1 <= values[100, 100] <= window.max() + 1


def write(path: Path, data: np.ndarray, *, nodata=None, crs="EPSG:32650") -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        crs=crs,
        nodata=nodata,
        transform=Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4400300.0),
    ) as dst:
        dst.write(data)
    return path


def test_geology_uses_nearest_and_keeps_classes(tmp_path):
    rng = np.random.default_rng(0)
    litho = rng.integers(1, 6, size=(10, 10)).astype(np.uint8)
    litho[0, 0] = 255  # nodata
    fault = np.zeros((10, 10), np.uint8)
    fault[:, 5] = 1
    path = write(tmp_path / "geology.tif", np.stack([litho, fault]), nodata=255)
    out = ingest_static(path, GEO_GRID, layer="geology")
    assert list(out.band.values) == list(Static.geology)
    assert out.attrs["resampling"] == "nearest"
    lith = out.sel(band="lithology").values
    assert np.isnan(lith[:3, :3]).all()
    assert set(np.unique(lith[np.isfinite(lith)])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    # nearest: each 30 m cell becomes 3x3 copies of its code
    np.testing.assert_array_equal(lith[3:, 3:], np.repeat(np.repeat(litho, 3, 0), 3, 1)[3:, 3:])
    f = out.sel(band="fault").values
    assert (f[:, 15:18] == 1).all() and f.sum() == 30 * 3


def test_errors(tmp_path):
    path = write(tmp_path / "dem.tif", np.ones((1, 10, 10), np.float32))
    with pytest.raises(ConfigError, match="static layer 'soil' unknown"):
        ingest_static(path, GEO_GRID, layer="soil")
    with pytest.raises(InputError, match=r"geology raster has 1 band\(s\), expected 2"):
        ingest_static(path, GEO_GRID, layer="geology")
    far = Grid.from_bounds("EPSG:32650", (700000, 4400000, 700300, 4400300), 10)
    with pytest.raises(InputError, match="dem footprint .* does not overlap the grid"):
        ingest_static(path, far, layer="dem")
    with pytest.raises(InputError, match="file does not exist"):
        ingest_static(tmp_path / "absent.tif", GEO_GRID, layer="dem")
    with rasterio.open(
        tmp_path / "nocrs.tif",
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        transform=Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4400300.0),
    ) as dst:
        dst.write(np.ones((1, 4, 4), np.float32))
    with pytest.raises(InputError, match=r"nocrs\.tif: raster has no CRS"):
        ingest_static(tmp_path / "nocrs.tif", GEO_GRID, layer="dem")
    text = tmp_path / "text.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match="not a readable raster"):
        ingest_static(text, GEO_GRID, layer="dem")
