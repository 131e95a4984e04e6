"""ingest_landsat8 on small synthetic Collection 2 scene folders with known truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from coexplore.errors import GeometryError, InputError, MetadataError, SceneSkipped
from coexplore.grid import Grid
from coexplore.ingest import IngestResult
from coexplore.ingest.landsat8 import ingest_landsat8
from coexplore.preprocess import atmosphere
from coexplore.sensors import Landsat8

SCENE_ID = "LC08_L1TP_123032_20210622_20210629_02_T1"
CRS = "EPSG:32650"
TRUE = Affine(30.0, 0.0, 499700.0, 0.0, -30.0, 4400900.0)
#: the delivered GeoTIFFs claim a transform off by (1.5, -1.0) pixels
NOMINAL = TRUE @ Affine.translation(1.5, -1.0)
GRID = Grid.from_bounds(CRS, (500000, 4400000, 500600, 4400600), 10)
SIZE = 40
SUN_ELEVATION, ESD, TAU = 55.0, 1.0162, 0.25
K1, K2 = 774.8853, 1321.0789
RAD_MULT = {
    1: 1.2156e-2,
    2: 1.2448e-2,
    3: 1.1470e-2,
    4: 9.6725e-3,
    5: 5.9191e-3,
    6: 1.4720e-3,
    7: 4.9615e-4,
    10: 3.3420e-4,
}
RAD_ADD = {
    1: -60.77864,
    2: -62.23807,
    3: -57.35185,
    4: -48.36231,
    5: -29.59532,
    6: -7.36009,
    7: -2.48074,
    10: 0.1,
}
SPECTRA = {
    # coastal, blue, green, red, nir, swir1, swir2
    "water": (0.03, 0.035, 0.03, 0.015, 0.008, 0.003, 0.002),
    "vegetation": (0.03, 0.04, 0.08, 0.04, 0.35, 0.18, 0.08),
    "bare": (0.10, 0.12, 0.16, 0.20, 0.26, 0.33, 0.28),
}
CLOUD_ROWS, CLOUD_COLS = slice(24, 30), slice(11, 17)


def mtl_text() -> str:
    files = "\n".join(
        f'    FILE_NAME_BAND_{n} = "{SCENE_ID}_B{n}.TIF"' for n in Landsat8.bands.values()
    )
    rescale = []
    for n in RAD_MULT:
        rescale.append(f"    RADIANCE_MULT_BAND_{n} = {RAD_MULT[n]:.4E}")
        rescale.append(f"    RADIANCE_ADD_BAND_{n} = {RAD_ADD[n]:.5f}")
    for n in range(1, 8):
        rescale.append(f"    REFLECTANCE_MULT_BAND_{n} = 2.0000E-05")
        rescale.append(f"    REFLECTANCE_ADD_BAND_{n} = -0.100000")
    rescale_text = "\n".join(rescale)
    return f"""GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    LANDSAT_PRODUCT_ID = "{SCENE_ID}"
    PROCESSING_LEVEL = "L1TP"
{files}
    FILE_NAME_QUALITY_L1_PIXEL = "{SCENE_ID}_QA_PIXEL.TIF"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    SPACECRAFT_ID = "LANDSAT_8"
    DATE_ACQUIRED = 2021-06-22
    SCENE_CENTER_TIME = "03:01:02.1234567Z"
    CLOUD_COVER = 4.50
    SUN_AZIMUTH = 130.00000000
    SUN_ELEVATION = {SUN_ELEVATION:.8f}
    EARTH_SUN_DISTANCE = {ESD:.7f}
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = PROJECTION_ATTRIBUTES
    MAP_PROJECTION = "UTM"
    UTM_ZONE = 50
  END_GROUP = PROJECTION_ATTRIBUTES
  GROUP = LEVEL1_RADIOMETRIC_RESCALING
{rescale_text}
  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING
  GROUP = LEVEL1_THERMAL_CONSTANTS
    K1_CONSTANT_BAND_10 = {K1}
    K2_CONSTANT_BAND_10 = {K2}
  END_GROUP = LEVEL1_THERMAL_CONSTANTS
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def class_map() -> np.ndarray:
    classes = np.full((SIZE, SIZE), "vegetation", dtype=object)
    classes[13:21, 13:21] = "water"
    classes[22:36, 20:36] = "bare"
    return classes


def write_tif(path: Path, data: np.ndarray, transform: Affine) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=1,
        dtype="uint16",
        crs=CRS,
        transform=transform,
    ) as dst:
        dst.write(data.astype(np.uint16), 1)


@dataclass
class Scene:
    folder: Path
    rho: dict[str, np.ndarray]  # true surface reflectance in image geometry
    bt: np.ndarray  # true brightness temperature


def make_scene(
    root: Path,
    *,
    cloud: str = "block",
    n_gcps: int | None = 10,
    transform: Affine = TRUE,
    seed: int = 0,
) -> Scene:
    """A Collection 2 L1 scene folder whose truth is known in image geometry."""
    rng = np.random.default_rng(seed)
    folder = root / SCENE_ID
    folder.mkdir(parents=True)
    (folder / f"{SCENE_ID}_MTL.txt").write_text(mtl_text())
    classes = class_map()
    water = classes == "water"
    texture = np.where(water, 1.0, 1.0 + 0.03 * rng.standard_normal((SIZE, SIZE)))
    cloudy = np.zeros((SIZE, SIZE), dtype=bool)
    if cloud == "block":
        cloudy[CLOUD_ROWS, CLOUD_COLS] = True
    elif cloud == "all":
        cloudy[:] = True
    mu_s = float(np.sin(np.radians(SUN_ELEVATION)))
    nominal = transform @ Affine.translation(1.5, -1.0)
    rho = {}
    for i, band in enumerate(Landsat8.reflective):
        n = Landsat8.bands[band]
        r = np.vectorize(lambda c, i=i: SPECTRA[c][i])(classes).astype(float) * texture
        rho[band] = r
        seen = np.where(cloudy, 0.6, r)  # a bright cloud over the surface
        lum = atmosphere.at_sensor_radiance(
            seen, Landsat8.wavelength_um[band], Landsat8.esun[band], TAU, mu_s, ESD
        )
        dn = np.round((lum - RAD_ADD[n]) / RAD_MULT[n])
        dn[:, -1] = 0  # fill column at the scene edge (outside the grid)
        write_tif(folder / f"{SCENE_ID}_B{n}.TIF", dn, nominal)
    bt = np.where(water, 295.0, 303.0)
    seen_bt = np.where(cloudy, 250.0, bt)
    lum = K1 / (np.exp(K2 / seen_bt) - 1.0)
    dn = np.round((lum - RAD_ADD[10]) / RAD_MULT[10])
    dn[:, -1] = 0
    write_tif(folder / f"{SCENE_ID}_B10.TIF", dn, nominal)
    qa = np.full((SIZE, SIZE), 1 << 6, dtype=np.uint16)
    qa[water] |= 1 << 7
    qa[cloudy] = (1 << 3) | (1 << 1)
    qa[:, -1] = 1
    write_tif(folder / f"{SCENE_ID}_QA_PIXEL.TIF", qa, nominal)
    if n_gcps:
        col = rng.uniform(2, SIZE - 2, n_gcps)
        row = rng.uniform(2, SIZE - 2, n_gcps)
        xy = np.array([transform @ (c, r) for c, r in zip(col, row, strict=True)])
        xy += rng.normal(scale=1.0, size=xy.shape)  # 1 m survey noise
        lines = ["id,col,row,x,y"] + [
            f"{i},{c:.4f},{r:.4f},{x:.3f},{y:.3f}"
            for i, (c, r, (x, y)) in enumerate(zip(col, row, xy, strict=True))
        ]
        (folder / f"{SCENE_ID}_GCP.csv").write_text("\n".join(lines) + "\n")
    return Scene(folder, rho, bt)


def truth_on_grid(values: np.ndarray, grid: Grid = GRID) -> np.ndarray:
    """Sample an image-geometry array at the grid pixel centres (true geometry)."""
    xs, ys = np.meshgrid(grid.x_coords(), grid.y_coords())
    inv = ~TRUE
    col = np.floor(inv.a * xs + inv.b * ys + inv.c).astype(int)
    row = np.floor(inv.d * xs + inv.e * ys + inv.f).astype(int)
    return values[row, col]


def homogeneous_on_grid(grid: Grid = GRID) -> np.ndarray:
    """Grid pixels whose 5x5 source neighbourhood is one class and cloud-free."""
    classes = class_map()
    codes = np.select([classes == "water", classes == "bare"], [1, 2], 0).astype(float)
    codes[CLOUD_ROWS, CLOUD_COLS] = 9
    from scipy import ndimage

    same = (ndimage.maximum_filter(codes, 5) == ndimage.minimum_filter(codes, 5)) & (codes != 9)
    return truth_on_grid(same, grid)


def centroid(mask: np.ndarray) -> np.ndarray:
    return np.array(np.nonzero(mask)).mean(axis=1)


def test_ingest_recovers_reflectance_temperature_and_geometry(tmp_path):
    scene = make_scene(tmp_path)
    result = ingest_landsat8(scene.folder, GRID)
    assert isinstance(result, IngestResult)
    data = result.data
    assert data.dims == ("band", "y", "x") and data.shape == (8, 60, 60)
    assert list(data.band.values) == list(Landsat8.bands)
    assert data.dtype == np.float32
    np.testing.assert_allclose(data.y.values, GRID.y_coords())
    assert data.attrs["source"] == "landsat8" and data.attrs["scene_id"] == SCENE_ID
    assert data.attrs["time"] == "2021-06-22T03:01:02Z"
    assert data.rio.crs.to_epsg() == 32650

    qa = result.qa
    assert qa["status"] == "ok" and qa["georeferencing"] == "gcp_affine"
    assert qa["gcp_count"] == 10 and qa["gcp_rmse_px"] < 0.1
    assert qa["tau550"] == pytest.approx(TAU, abs=0.1)
    assert qa["dark_object_source"] == "water"
    # the cloud block covers 6x6 source pixels = 18x18 of the 60x60 grid
    assert qa["cloud_fraction"] == pytest.approx(324 / 3600, abs=0.01)
    assert qa["valid_fraction"] == pytest.approx(1 - 324 / 3600, abs=0.01)

    # cloud is masked exactly, in true geometry
    cloud_on_grid = truth_on_grid(_cloud_mask())
    assert np.isnan(data.values[:, cloud_on_grid]).all()
    assert np.isfinite(data.values[:, ~cloud_on_grid]).all()

    good = homogeneous_on_grid()
    assert good.sum() > 1000
    errors = [
        np.abs(data.sel(band=b).values - truth_on_grid(scene.rho[b]))[good].mean()
        for b in Landsat8.reflective
    ]
    assert np.mean(errors) < 0.02
    bt = data.sel(band="tir").values
    assert np.abs(bt - truth_on_grid(scene.bt))[good].max() < 0.5

    # the water body lands where it truly is (GCP affine), not where the
    # nominal transform would put it (4.5 grid px east, 3 px north)
    water_truth = truth_on_grid(class_map() == "water")
    water_seen = data.sel(band="nir").values < 0.18  # midway water-vegetation
    assert np.hypot(*(centroid(water_seen) - centroid(water_truth))) < 0.5


def _cloud_mask() -> np.ndarray:
    m = np.zeros((SIZE, SIZE), dtype=bool)
    m[CLOUD_ROWS, CLOUD_COLS] = True
    return m


def test_nominal_transform_without_gcps_is_offset(tmp_path):
    scene = make_scene(tmp_path, n_gcps=None)
    result = ingest_landsat8(scene.folder, GRID)
    assert result.qa["georeferencing"] == "nominal" and result.qa["gcp_count"] == 0
    assert np.isnan(result.qa["gcp_rmse_px"])
    water_truth = truth_on_grid(class_map() == "water")
    water_seen = result.data.sel(band="nir").values < 0.18
    offset = centroid(water_seen) - centroid(water_truth)
    # rows grow southwards: 1 px north = -3 grid rows, 1.5 px east = +4.5 grid cols
    assert offset[0] == pytest.approx(-3.0, abs=0.6) and offset[1] == pytest.approx(4.5, abs=0.6)


def test_explicit_gcp_path_and_denoise(tmp_path):
    scene = make_scene(tmp_path)
    gcp = next(scene.folder.glob("*_GCP.csv"))
    moved = tmp_path / "elsewhere.csv"
    gcp.rename(moved)
    plain = ingest_landsat8(scene.folder, GRID, gcp_path=moved)
    smooth = ingest_landsat8(scene.folder, GRID, gcp_path=moved, denoise_sigma=1.5)
    assert plain.qa["georeferencing"] == "gcp_affine"
    assert smooth.qa["denoise_sigma"] == 1.5
    veg = truth_on_grid(class_map() == "vegetation") & homogeneous_on_grid()
    red_plain = plain.data.sel(band="red").values[veg]
    red_smooth = smooth.data.sel(band="red").values[veg]
    assert red_smooth.std() < 0.7 * red_plain.std()
    assert red_smooth.mean() == pytest.approx(red_plain.mean(), abs=0.002)
    np.testing.assert_array_equal(np.isnan(smooth.data.values), np.isnan(plain.data.values))


def test_small_window_matches_the_whole_scene(tmp_path):
    # with a 2-pixel context only a window of the 40x40 scene is read
    scene = make_scene(tmp_path)
    small = Grid.from_bounds(CRS, (500100, 4400100, 500400, 4400400), 10)
    part = ingest_landsat8(scene.folder, small, context_px=2)
    whole = ingest_landsat8(scene.folder, GRID)
    # the water body is inside the window too: same aerosol estimate
    assert part.qa["tau550"] == pytest.approx(whole.qa["tau550"], abs=1e-6)
    np.testing.assert_allclose(
        part.data.values, whole.data.values[:, 20:50, 10:40], atol=1e-4, equal_nan=True
    )


def test_all_cloud_scene_is_skipped(tmp_path):
    scene = make_scene(tmp_path, cloud="all")
    with pytest.raises(SceneSkipped, match=r"skipped: only 0\.0% of the grid is clear"):
        ingest_landsat8(scene.folder, GRID)


def test_max_cloud_fraction_threshold(tmp_path):
    scene = make_scene(tmp_path)
    # 9 % of the grid is cloud: kept at 0.95, skipped when at most 5 % cloud is allowed
    with pytest.raises(SceneSkipped, match="max_cloud_fraction is 0.05"):
        ingest_landsat8(scene.folder, GRID, max_cloud_fraction=0.05)


def test_scene_outside_the_grid_is_skipped(tmp_path):
    scene = make_scene(tmp_path)
    far = Grid.from_bounds(CRS, (600000, 4400000, 600600, 4400600), 10)
    with pytest.raises(SceneSkipped, match="does not overlap the grid"):
        ingest_landsat8(scene.folder, far)


def test_broken_inputs(tmp_path):
    scene = make_scene(tmp_path / "a")
    mtl = next(scene.folder.glob("*_MTL.txt"))
    mtl.write_text(
        "\n".join(ln for ln in mtl_text().splitlines() if "RADIANCE_MULT_BAND_4 " not in ln)
    )
    with pytest.raises(MetadataError, match="MTL has no RADIANCE_MULT_BAND_4"):
        ingest_landsat8(scene.folder, GRID)

    scene = make_scene(tmp_path / "b")
    gcp = next(scene.folder.glob("*_GCP.csv"))
    gcp.write_text("\n".join(gcp.read_text().splitlines()[:3]) + "\n")
    with pytest.raises(GeometryError, match=r"only 2 GCP\(s\)"):
        ingest_landsat8(scene.folder, GRID)

    scene = make_scene(tmp_path / "c")
    band = next(scene.folder.glob("*_B5.TIF"))
    raw = band.read_bytes()
    band.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match=r"_B5\.TIF: .*truncated"):
        ingest_landsat8(scene.folder, GRID)

    with pytest.raises(InputError, match="GCP file does not exist"):
        ingest_landsat8(make_scene(tmp_path / "d").folder, GRID, gcp_path=tmp_path / "none.csv")


def test_lazy_grid_tile_by_tile_equals_one_tile(tmp_path, monkeypatch):
    # the warp, the masks and the denoising tile by tile (16-pixel tiles of
    # the 60x60 grid) give the single-tile numbers
    scene = make_scene(tmp_path)
    monkeypatch.setattr("coexplore.ingest.landsat8.INGEST_TILE", 10**6)
    whole = ingest_landsat8(scene.folder, GRID, denoise_sigma=1.0)
    monkeypatch.setattr("coexplore.ingest.landsat8.INGEST_TILE", 16)
    tiled = ingest_landsat8(scene.folder, GRID, denoise_sigma=1.0)
    assert tiled.data.chunks[1] == (16, 16, 16, 12)  # lazy until read
    np.testing.assert_allclose(tiled.data.values, whole.data.values, atol=1e-6, equal_nan=True)
    for key in ("cloud_fraction", "clear_fraction", "valid_fraction"):
        assert tiled.qa[key] == whole.qa[key]
