"""Drone orthomosaic reading and aggregation to the 10 m grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

import coexplore.ingest.drone as drone_module
from coexplore.errors import ConfigError, InputError, SceneSkipped
from coexplore.grid import Grid
from coexplore.ingest.drone import aggregate_ortho, ingest_drone
from coexplore.io.drone import date_from_name, read_orthomosaic
from coexplore.sensors import Drone

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
REAL_TILE = REALDATA / "drone" / "OSBS_029.tif"

CRS = "EPSG:32650"
X0, Y0 = 500000.0, 4400030.0  # upper-left corner of the test grids
RES = 0.1


def write_ortho(
    path: Path,
    data: np.ndarray,
    *,
    x0: float = X0,
    y0: float = Y0,
    res: float = RES,
    crs: str = CRS,
    nodata: float | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write (bands, rows, cols) pixels as a GeoTIFF with the upper-left corner at (x0, y0)."""
    count, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": Affine(res, 0.0, x0, 0.0, -res, y0),
        "nodata": nodata,
    }
    if count in (3, 4) and data.dtype == np.uint8:
        profile["photometric"] = "RGB"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
    return path


def grid3() -> Grid:
    """3 x 3 cells of 10 m, upper-left corner at (X0, Y0)."""
    return Grid.from_bounds(CRS, (X0, Y0 - 30.0, X0 + 30.0, Y0), 10.0)


# --- reading ---------------------------------------------------------------------------


def test_read_rgba_scales_masks_and_dates(tmp_path):
    data = np.zeros((4, 20, 30), dtype=np.uint8)
    data[0], data[1], data[2] = 51, 102, 255
    data[3, :, :10] = 0
    data[3, :, 10:] = 255
    path = write_ortho(tmp_path / "UAV_20230320.tif", data)
    ortho = read_orthomosaic(path)
    assert ortho.date == dt.date(2023, 3, 20)
    assert ortho.flight_id == "UAV_20230320"
    assert ortho.crs.to_epsg() == 32650
    assert ortho.transform == Affine(RES, 0.0, X0, 0.0, -RES, Y0)
    assert ortho.rgb.dtype == np.float32 and ortho.rgb.shape == (3, 20, 30)
    assert ortho.valid[:, 10:].all() and not ortho.valid[:, :10].any()
    np.testing.assert_allclose(ortho.rgb[:, 0, 15], [0.2, 0.4, 1.0], rtol=1e-6)
    assert (ortho.rgb[:, :, :10] == 0).all()
    np.testing.assert_allclose(ortho.bounds, (X0, Y0 - 2.0, X0 + 3.0, Y0))


def test_read_rgb_nodata_invalid_only_where_all_bands_are_nodata(tmp_path):
    data = np.full((3, 4, 4), 100, dtype=np.uint8)
    data[:, 0, 0] = 255  # nodata in every band: outside
    data[0, 1, 1] = 255  # saturated red only: a real pixel
    ortho = read_orthomosaic(write_ortho(tmp_path / "UAV_20230621.tif", data, nodata=255))
    assert not ortho.valid[0, 0]
    assert ortho.valid.sum() == 15
    assert ortho.rgb[0, 1, 1] == pytest.approx(1.0)


def test_read_uint16_scales_by_dtype_maximum(tmp_path):
    data = np.full((3, 2, 2), 65535 // 5, dtype=np.uint16)
    ortho = read_orthomosaic(write_ortho(tmp_path / "UAV_20230320.tif", data))
    np.testing.assert_allclose(ortho.rgb, 0.2, rtol=1e-6)
    assert ortho.valid.all()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"ACQUISITION_DATE": "2023-06-20"}, dt.date(2023, 6, 20)),
        ({"TIFFTAG_DATETIME": "2022:09:01 10:30:00"}, dt.date(2022, 9, 1)),
        ({}, None),
    ],
)
def test_date_from_tags_when_the_name_has_none(tmp_path, tags, expected):
    data = np.full((3, 2, 2), 7, dtype=np.uint8)
    ortho = read_orthomosaic(write_ortho(tmp_path / "north_field.tif", data, tags=tags))
    assert ortho.date == expected


def test_date_from_name_variants():
    assert date_from_name("UAV_20230320") == dt.date(2023, 3, 20)
    assert date_from_name("flight_2022-06-01_rgb") == dt.date(2022, 6, 1)
    assert date_from_name("UAV_20231399") is None  # not a calendar date
    assert date_from_name("plot_12345") is None


def test_not_a_raster_raises(tmp_path):
    path = tmp_path / "UAV_20230320.tif"
    path.write_text("this is not a GeoTIFF")
    with pytest.raises(InputError, match="not a readable raster"):
        read_orthomosaic(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_orthomosaic(tmp_path / "UAV_20230320.tif")


def test_truncated_raster_raises(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, (3, 256, 256), dtype=np.uint8)
    path = write_ortho(tmp_path / "UAV_20230320.tif", data)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_orthomosaic(path)


def test_wrong_band_count_raises(tmp_path):
    path = write_ortho(tmp_path / "UAV_20230320.tif", np.zeros((2, 4, 4), dtype=np.uint8))
    with pytest.raises(InputError, match=r"has 2 band\(s\), expected 3"):
        read_orthomosaic(path)


def test_float_pixels_raise(tmp_path):
    path = write_ortho(tmp_path / "UAV_20230320.tif", np.zeros((3, 4, 4), dtype=np.float32))
    with pytest.raises(InputError, match="float32 pixels, expected unsigned"):
        read_orthomosaic(path)


def test_geographic_crs_raises(tmp_path):
    data = np.zeros((3, 4, 4), dtype=np.uint8)
    path = write_ortho(
        tmp_path / "UAV_20230320.tif", data, x0=117.0, y0=39.7, res=1e-6, crs="EPSG:4326"
    )
    with pytest.raises(InputError, match="geographic CRS EPSG:4326"):
        read_orthomosaic(path)


# --- aggregation: known answers --------------------------------------------------------


def test_checkerboard_gives_known_mean_and_std_per_cell(tmp_path):
    # 300 x 300 px at 0.1 m = the 3 x 3 grid exactly. Red alternates 51/153
    # pixel by pixel (0.2/0.6: mean 0.4, std 0.2); green is 0.4; blue is the
    # cell's column / 5. Brightness = (R + G + B) / 3 has std 0.2 / 3.
    rows, cols = np.indices((300, 300))
    red = np.where((rows + cols) % 2 == 0, 51, 153).astype(np.uint8)
    green = np.full((300, 300), 102, dtype=np.uint8)
    blue = (cols // 100 * 51).astype(np.uint8)
    path = write_ortho(tmp_path / "UAV_20230320.tif", np.stack([red, green, blue]))
    result = ingest_drone(path, grid3())
    data = result.data.values
    assert data.shape == (4, 3, 3) and data.dtype == np.float32
    np.testing.assert_allclose(data[0], 0.4, atol=1e-6)
    np.testing.assert_allclose(data[1], 0.4, atol=1e-6)
    np.testing.assert_allclose(data[2], np.tile([0.0, 0.2, 0.4], (3, 1)), atol=1e-6)
    np.testing.assert_allclose(data[3], 0.2 / 3, atol=1e-5)


def test_partial_coverage_and_mask_weighting(tmp_path):
    # The mosaic covers x 0..27 m (col 2: 70 %) and y 30..7 m (row 2: 30 %).
    # In cell (0, 0) the left 40 columns are outside the footprint (alpha 0)
    # and hold bright garbage that must not count. Cell (1, 1) is a quarter
    # white, three quarters black: brightness mean 0.25, std sqrt(0.25*0.75).
    h, w = 230, 270
    rgba = np.zeros((4, h, w), dtype=np.uint8)
    rgba[:3] = 102  # 0.4 grey everywhere
    rgba[3] = 255
    rgba[3, :100, :40] = 0
    rgba[:3, :100, :40] = 250
    rgba[:3, 100:200, 100:200] = 0
    rgba[:3, 100:150, 100:150] = 255
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgba)
    ortho = read_orthomosaic(path)
    data, coverage = aggregate_ortho(ortho, grid3())
    np.testing.assert_allclose(
        coverage, [[0.6, 1.0, 0.7], [1.0, 1.0, 0.7], [0.3, 0.3, 0.21]], atol=1e-6
    )
    # rows 0-1 are at least 60 % covered; row 2 is below 50 % -> NaN
    assert np.isnan(data[:, 2, :]).all()
    assert np.isfinite(data[:, :2, :]).all()
    np.testing.assert_allclose(data[0, 0, 0], 0.4, atol=1e-6)  # garbage excluded
    np.testing.assert_allclose(data[3, 0, 0], 0.0, atol=1e-4)
    np.testing.assert_allclose(data[:3, 1, 1], 0.25, atol=1e-6)
    np.testing.assert_allclose(data[3, 1, 1], np.sqrt(0.25 * 0.75), atol=1e-5)
    np.testing.assert_allclose(data[:3, 0, 2], 0.4, atol=1e-6)  # 70 % covered: kept


def test_grid_offset_from_mosaic_gives_area_fractions(tmp_path):
    # A 20 x 20 m uniform mosaic under a grid shifted by 5 m: cells are 25 %,
    # 50 % or 100 % covered; with min_coverage 0.2 all those keep the colour.
    rgb = np.stack([np.full((200, 200), v, dtype=np.uint8) for v in (51, 102, 153)])
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgb, x0=X0 + 5.0, y0=Y0 - 5.0)
    ortho = read_orthomosaic(path)
    data, coverage = aggregate_ortho(ortho, grid3(), min_coverage=0.2)
    expected = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    np.testing.assert_allclose(coverage, expected, atol=1e-6)
    colour = np.broadcast_to(np.array([0.2, 0.4, 0.6])[:, None, None], (3, 3, 3))
    np.testing.assert_allclose(data[:3], colour, atol=1e-6)
    data_half, _ = aggregate_ortho(ortho, grid3(), min_coverage=0.5)
    assert np.isfinite(data_half[0]).sum() == 5  # the 25 % corners drop out


def test_reprojects_to_a_different_grid_crs(tmp_path):
    rgb = np.stack([np.full((300, 300), v, dtype=np.uint8) for v in (51, 102, 153)])
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgb)
    from rasterio.warp import transform_bounds

    left, bottom, right, top = transform_bounds(CRS, "EPSG:3857", X0, Y0 - 30.0, X0 + 30.0, Y0)
    grid = Grid.from_bounds("EPSG:3857", (left, bottom, right, top), 10.0)
    result = ingest_drone(path, grid)
    data = result.data.values
    inner = np.isfinite(data[0])
    assert inner.sum() >= 4 and result.qa["reprojected"] is True
    np.testing.assert_allclose(data[:3][:, inner].T, [[0.2, 0.4, 0.6]] * inner.sum(), atol=1e-5)
    np.testing.assert_allclose(data[3][inner], 0.0, atol=1e-3)


def test_ingest_result_metadata(tmp_path):
    rgb = np.full((3, 100, 100), 128, dtype=np.uint8)
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgb)
    result = ingest_drone(path, grid3())
    arr = result.data
    assert arr.dims == ("band", "y", "x")
    assert list(arr.band.values) == list(Drone.bands)
    np.testing.assert_allclose(arr.y.values, grid3().y_coords())
    np.testing.assert_allclose(arr.x.values, grid3().x_coords())
    assert arr.rio.crs.to_epsg() == 32650
    assert arr.attrs == {"source": "drone", "scene_id": "UAV_20230320", "time": "2023-03-20"}
    assert result.qa["status"] == "ok"
    assert result.qa["valid_fraction"] == pytest.approx(1 / 9)
    assert result.qa["valid_cells"] == 1


def test_date_argument_overrides_and_missing_date_raises(tmp_path):
    rgb = np.full((3, 100, 100), 128, dtype=np.uint8)
    path = write_ortho(tmp_path / "north_field.tif", rgb)
    with pytest.raises(InputError, match="no acquisition date"):
        ingest_drone(path, grid3())
    assert ingest_drone(path, grid3(), date="2023-05-02").data.attrs["time"] == "2023-05-02"
    with pytest.raises(ConfigError, match="not an ISO date"):
        ingest_drone(path, grid3(), date="May 2nd")


def test_flight_outside_the_grid_is_skipped(tmp_path):
    rgb = np.full((3, 100, 100), 128, dtype=np.uint8)
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgb, x0=X0 + 1000.0)
    with pytest.raises(SceneSkipped, match="does not overlap the grid"):
        ingest_drone(path, grid3())


def test_flight_covering_no_cell_enough_is_skipped(tmp_path):
    rgb = np.full((3, 30, 30), 128, dtype=np.uint8)  # 3 x 3 m: 9 % of one cell
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgb)
    with pytest.raises(SceneSkipped, match="no grid cell is covered by at least 50%"):
        ingest_drone(path, grid3())


def test_invalid_min_coverage_raises(tmp_path):
    path = write_ortho(tmp_path / "UAV_20230320.tif", np.full((3, 10, 10), 1, dtype=np.uint8))
    with pytest.raises(ConfigError, match="min_coverage 0 must be in"):
        ingest_drone(path, grid3(), min_coverage=0)


# --- the real tile ---------------------------------------------------------------------


@pytest.fixture
def real_tile() -> Path:
    if not REAL_TILE.exists():
        pytest.skip(f"real sample {REAL_TILE} absent (../shared/realdata beside the repo)")
    return REAL_TILE


@pytest.mark.realdata
def test_real_tile_reads(real_tile):
    ortho = read_orthomosaic(real_tile)
    assert ortho.shape == (400, 400)
    assert ortho.crs.to_epsg() == 32617
    assert ortho.date is None  # OSBS_029 carries no date
    with rasterio.open(real_tile) as src:
        raw = src.read()
    np.testing.assert_array_equal(ortho.valid, (raw != 255).any(axis=0))
    assert 0.9 < ortho.valid.mean() <= 1.0


@pytest.mark.realdata
def test_real_tile_aggregates_to_4x4_cells(real_tile):
    with rasterio.open(real_tile) as src:
        raw = src.read().astype(np.float64) / 255.0
        left, bottom, right, top = src.bounds
    grid = Grid.from_bounds("EPSG:32617", (left, bottom, right, top), 10.0)
    assert grid.shape == (4, 4)
    result = ingest_drone(real_tile, grid, date="2018-06-01")
    data = result.data.values
    assert np.isfinite(data).all()
    # Independent answer: block statistics over the valid pixels of each 100 x 100 block.
    valid = (raw != 1.0).any(axis=0)
    for r in range(4):
        for c in range(4):
            block = (slice(r * 100, (r + 1) * 100), slice(c * 100, (c + 1) * 100))
            m = valid[block]
            rgb = raw[(slice(None), *block)][:, m]
            np.testing.assert_allclose(data[:3, r, c], rgb.mean(axis=1), atol=1e-5)
            np.testing.assert_allclose(data[3, r, c], rgb.mean(axis=0).std(), atol=1e-4)
    assert 0.05 < float(data[3].mean()) < 0.5  # a forest canopy is textured


def test_flight_on_a_large_grid_aggregated_around_it_only(tmp_path, monkeypatch):
    # a 27 x 23 m flight, offset 5 m from the cell edges, on a 4 km grid:
    # only the cells around it are aggregated, the rest is lazily NaN, and
    # the numbers equal aggregating onto the whole grid
    rgba = np.zeros((4, 230, 270), dtype=np.uint8)
    rgba[:3] = np.arange(270, dtype=np.uint8)[None, None, :] // 2
    rgba[3] = 255
    rgba[3, :50, :60] = 0
    path = write_ortho(tmp_path / "UAV_20230320.tif", rgba, x0=X0 + 2005.0, y0=Y0 - 1995.0)
    grid = Grid.from_bounds(CRS, (X0, Y0 - 4000.0, X0 + 4000.0, Y0), 10.0)  # 400 x 400
    monkeypatch.setattr("coexplore.ingest.drone.INGEST_TILE", 64)
    seen = []
    original = drone_module.aggregate_ortho

    def spy(ortho, grid_, **kw):
        seen.append(grid_.shape)
        return original(ortho, grid_, **kw)

    monkeypatch.setattr("coexplore.ingest.drone.aggregate_ortho", spy)
    result = ingest_drone(path, grid, min_coverage=0.3)
    # rows 199-201 x cols 200-203 under the flight, plus 2 cells around
    assert result.data.chunks[1][0] == 64 and seen == [(7, 8)]
    whole, _ = original(read_orthomosaic(path), grid, min_coverage=0.3)
    np.testing.assert_array_equal(result.data.values, whole)
    valid = np.isfinite(whole[0])
    assert 6 <= valid.sum() <= 12
    assert result.qa["valid_cells"] == valid.sum()
    assert result.qa["valid_fraction"] == valid.sum() / grid.width / grid.height
