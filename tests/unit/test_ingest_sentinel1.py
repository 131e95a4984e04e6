"""ingest_sentinel1 on small synthetic SAFE products with known backscatter."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

from coexplore.errors import ConfigError, InputError, SceneSkipped
from coexplore.grid import Grid
from coexplore.ingest.sentinel1 import gcp_rmse_px, ingest_sentinel1
from coexplore.preprocess.sar import to_db

PRODUCT = "S1A_IW_GRDH_1SDV_20210605T101530_20210605T101555_038212_048263_ABCD"
STEM = "s1a-iw-grd-{pol}-20210605t101530-20210605t101555-038212-048263-00{n}"
GRID = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500600, 4400600), 10)
LINES = SAMPLES = 90
X0, Y0 = 499800.0, 4400800.0  # map position of (line 0, pixel 0), 10 m spacing
TRUTH_DB = {"vv": (-8.0, -16.0), "vh": (-14.0, -22.0)}  # west / east of pixel 40
NODES = np.arange(0, 91, 15)

# the measurement GeoTIFFs are written before their GCPs are attached
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def utm_of(line: np.ndarray, pixel: np.ndarray, x0: float = X0) -> tuple[np.ndarray, np.ndarray]:
    return x0 + 10.0 * np.asarray(pixel, float), Y0 - 10.0 * np.asarray(line, float)


def sigma_a(pixel: np.ndarray) -> np.ndarray:
    return 600.0 + 2.0 * np.asarray(pixel, float)


def noise_power(pixel: np.ndarray) -> np.ndarray:
    return 30.0 + 0.5 * np.asarray(pixel, float)


def truth_sigma0(pol: str) -> np.ndarray:
    west, east = TRUTH_DB[pol]
    pixel = np.arange(SAMPLES)
    row = np.where(pixel < 40, 10 ** (west / 10), 10 ** (east / 10))
    return np.broadcast_to(row, (LINES, SAMPLES)).copy()


def manifest(pols: tuple[str, ...]) -> str:
    pol_xml = "".join(
        f"<s1sarl1:transmitterReceiverPolarisation>{p.upper()}</s1sarl1:transmitterReceiverPolarisation>"
        for p in pols
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0"
 xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1"
 xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1">
 <metadataSection>
  <metadataObject ID="platform"><metadataWrap><xmlData><safe:platform>
   <safe:familyName>SENTINEL-1</safe:familyName><safe:number>A</safe:number>
   <safe:instrument><safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>
    <safe:extension><s1sarl1:instrumentMode><s1sarl1:mode>IW</s1sarl1:mode></s1sarl1:instrumentMode></safe:extension>
   </safe:instrument></safe:platform></xmlData></metadataWrap></metadataObject>
  <metadataObject ID="measurementOrbitReference"><metadataWrap><xmlData><safe:orbitReference>
   <safe:extension><s1:orbitProperties><s1:pass>ASCENDING</s1:pass></s1:orbitProperties></safe:extension>
  </safe:orbitReference></xmlData></metadataWrap></metadataObject>
  <metadataObject ID="generalProductInformation"><metadataWrap><xmlData>
   <s1sarl1:standAloneProductInformation>{pol_xml}<s1sarl1:productType>GRD</s1sarl1:productType>
   </s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>
  <metadataObject ID="acquisitionPeriod"><metadataWrap><xmlData><safe:acquisitionPeriod>
   <safe:startTime>2021-06-05T10:15:30.123456</safe:startTime><safe:stopTime>2021-06-05T10:15:55.000000</safe:stopTime>
  </safe:acquisitionPeriod></xmlData></metadataWrap></metadataObject>
 </metadataSection>
</xfdu:XFDU>
"""


def numbers(values) -> str:
    return " ".join(f"{v:.6e}" for v in values)


def annotation(pol: str, gcps: list[tuple[float, float, float, float]]) -> str:
    points = "".join(
        f"<geolocationGridPoint><azimuthTime>2021-06-05T10:15:30</azimuthTime><line>{int(ln)}</line>"
        f"<pixel>{int(px)}</pixel><latitude>{lat:.10f}</latitude><longitude>{lon:.10f}</longitude>"
        f"<height>0.0</height><incidenceAngle>{30 + 0.1 * px:.4f}</incidenceAngle></geolocationGridPoint>"
        for ln, px, lon, lat in gcps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<product><adsHeader><missionId>S1A</missionId><productType>GRD</productType>
<polarisation>{pol.upper()}</polarisation><mode>IW</mode></adsHeader>
<generalAnnotation><productInformation><pass>Ascending</pass></productInformation></generalAnnotation>
<imageAnnotation><imageInformation><rangePixelSpacing>1.000000e+01</rangePixelSpacing>
<azimuthPixelSpacing>1.000000e+01</azimuthPixelSpacing><numberOfSamples>{SAMPLES}</numberOfSamples>
<numberOfLines>{LINES}</numberOfLines></imageInformation></imageAnnotation>
<geolocationGrid><geolocationGridPointList count="{len(gcps)}">{points}</geolocationGridPointList></geolocationGrid>
</product>
"""


def calibration(pol: str) -> str:
    vectors = "".join(
        f"<calibrationVector><line>{ln}</line><pixel count='{len(NODES)}'>{' '.join(map(str, NODES))}</pixel>"
        f"<sigmaNought>{numbers(sigma_a(NODES))}</sigmaNought><betaNought>{numbers(np.full(len(NODES), 474.0))}</betaNought>"
        f"<gamma>{numbers(sigma_a(NODES) * 0.9)}</gamma><dn>{numbers(np.full(len(NODES), 474.0))}</dn></calibrationVector>"
        for ln in (0, 45, 90)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<calibration><adsHeader><polarisation>{pol.upper()}</polarisation></adsHeader>
<calibrationInformation><absoluteCalibrationConstant>1.0</absoluteCalibrationConstant></calibrationInformation>
<calibrationVectorList count="3">{vectors}</calibrationVectorList></calibration>
"""


def noise(pol: str) -> str:
    vectors = "".join(
        f"<noiseRangeVector><line>{ln}</line><pixel>{' '.join(map(str, NODES))}</pixel>"
        f"<noiseRangeLut>{numbers(noise_power(NODES))}</noiseRangeLut></noiseRangeVector>"
        for ln in (0, 90)
    )
    azimuth = (
        "<noiseAzimuthVector><swath>IW1</swath><firstAzimuthLine>0</firstAzimuthLine>"
        f"<firstRangeSample>0</firstRangeSample><lastAzimuthLine>{LINES - 1}</lastAzimuthLine>"
        f"<lastRangeSample>{SAMPLES - 1}</lastRangeSample><line>0 {LINES - 1}</line>"
        "<noiseAzimuthLut>1.0 1.0</noiseAzimuthLut></noiseAzimuthVector>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<noise><adsHeader><polarisation>{pol.upper()}</polarisation></adsHeader>
<noiseRangeVectorList count="2">{vectors}</noiseRangeVectorList>
<noiseAzimuthVectorList count="1">{azimuth}</noiseAzimuthVectorList></noise>
"""


def make_safe(
    root: Path,
    *,
    pols: tuple[str, ...] = ("vv", "vh"),
    looks: float | None = None,
    x0: float = X0,
    measurement: bool = True,
    seed: int = 0,
) -> Path:
    """A GRD SAFE folder; ``looks`` adds gamma speckle of that many looks."""
    rng = np.random.default_rng(seed)
    safe = root / f"{PRODUCT}.SAFE"
    (safe / "annotation" / "calibration").mkdir(parents=True)
    (safe / "measurement").mkdir()
    (safe / "manifest.safe").write_text(manifest(pols))
    lines, pixels = np.meshgrid(NODES, NODES, indexing="ij")
    xs, ys = utm_of(lines.ravel(), pixels.ravel(), x0)
    lon, lat = warp_transform("EPSG:32650", "EPSG:4326", xs, ys)
    gcps = list(zip(lines.ravel(), pixels.ravel(), lon, lat, strict=True))
    pixel = np.broadcast_to(np.arange(SAMPLES, dtype=float), (LINES, SAMPLES))
    for n, pol in enumerate(pols, start=1):
        stem = STEM.format(pol=pol, n=n)
        (safe / "annotation" / f"{stem}.xml").write_text(annotation(pol, gcps))
        (safe / "annotation" / "calibration" / f"calibration-{stem}.xml").write_text(
            calibration(pol)
        )
        (safe / "annotation" / "calibration" / f"noise-{stem}.xml").write_text(noise(pol))
        if not measurement:
            continue
        sigma0 = truth_sigma0(pol)
        if looks:
            sigma0 = sigma0 * rng.gamma(looks, 1.0 / looks, size=sigma0.shape)
        dn = np.sqrt(sigma0 * sigma_a(pixel) ** 2 + noise_power(pixel))
        with rasterio.open(
            safe / "measurement" / f"{stem}.tiff",
            "w",
            driver="GTiff",
            width=SAMPLES,
            height=LINES,
            count=1,
            dtype="uint16",
        ) as dst:
            dst.write(np.round(dn).astype(np.uint16), 1)
            dst.gcps = (
                [GroundControlPoint(row=r, col=c, x=x, y=y, z=0.0) for r, c, x, y in gcps],
                CRS.from_epsg(4326),
            )
    return safe


def test_ingest_recovers_backscatter_and_position(tmp_path):
    safe = make_safe(tmp_path)
    result = ingest_sentinel1(safe, GRID, speckle_filter="none")
    data = result.data
    assert data.dims == ("band", "y", "x") and data.shape == (2, 60, 60)
    assert list(data.band.values) == ["vv", "vh"] and data.dtype == np.float32
    assert data.attrs["time"] == "2021-06-05T10:15:30Z"
    assert data.attrs["scene_id"] == PRODUCT and data.attrs["units"] == "dB"
    qa = result.qa
    assert qa["status"] == "ok" and qa["pass_direction"] == "ASCENDING"
    assert qa["gcp_count"] == 49 and qa["gcp_rmse_px"] < 0.05
    assert qa["valid_fraction"] == 1.0 and qa["cloud_fraction"] == 0.0
    # the step (image pixel 40 = x 500200) is at grid column 20
    west, east = data.values[:, :, 2:17], data.values[:, :, 23:58]
    for i, pol in enumerate(("vv", "vh")):
        np.testing.assert_allclose(west[i], TRUTH_DB[pol][0], atol=0.1)
        np.testing.assert_allclose(east[i], TRUTH_DB[pol][1], atol=0.1)
    linear = 10 ** (data.values[0] / 10)
    midway = (10 ** (-0.8) + 10 ** (-1.6)) / 2
    crossing = np.argmax(linear.mean(axis=0) < midway)
    assert crossing in (19, 20)


def test_lee_filter_reduces_speckle(tmp_path):
    safe = make_safe(tmp_path, looks=4.0, seed=3)
    raw = ingest_sentinel1(safe, GRID, speckle_filter="none")
    lee = ingest_sentinel1(safe, GRID, speckle_filter="lee", filter_size=7, looks=4.0)
    assert lee.qa["speckle_filter"] == "lee" and lee.qa["filter_size"] == 7
    east = (slice(5, 55), slice(26, 55))
    raw_vv = 10 ** (raw.data.values[0][east] / 10)
    lee_vv = 10 ** (lee.data.values[0][east] / 10)
    truth = 10 ** (TRUTH_DB["vv"][1] / 10)
    assert lee_vv.std() < 0.6 * raw_vv.std()
    assert lee_vv.mean() == pytest.approx(truth, rel=0.1)
    smooth = ingest_sentinel1(safe, GRID, speckle_filter="lee", denoise_sigma=1.5)
    assert np.nanstd(smooth.data.values[0][east]) < np.nanstd(lee.data.values[0][east])


def test_zip_input_gives_the_same_result(tmp_path):
    safe = make_safe(tmp_path / "dir")
    archive = shutil.make_archive(
        str(tmp_path / PRODUCT), "zip", root_dir=safe.parent, base_dir=safe.name
    )
    a = ingest_sentinel1(safe, GRID, speckle_filter="none")
    b = ingest_sentinel1(archive, GRID, speckle_filter="none")
    np.testing.assert_array_equal(a.data.values, b.data.values)


def test_window_read_matches_the_whole_image(tmp_path):
    # a small grid inside the image: only a window of the radar image is read
    # (offset LUTs and GCPs); the result equals that part of the full ingest
    safe = make_safe(tmp_path)
    small = Grid.from_bounds("EPSG:32650", (500300, 4400300, 500500, 4400500), 10)
    part = ingest_sentinel1(safe, small, speckle_filter="lee", filter_size=5)
    whole = ingest_sentinel1(safe, GRID, speckle_filter="lee", filter_size=5)
    np.testing.assert_allclose(part.data.values, whole.data.values[:, 10:30, 30:50], atol=1e-3)


def test_product_outside_the_grid_is_skipped(tmp_path):
    safe = make_safe(tmp_path, x0=560000.0)
    with pytest.raises(SceneSkipped, match="does not overlap the grid"):
        ingest_sentinel1(safe, GRID)


def test_input_errors(tmp_path):
    with pytest.raises(InputError, match="no measurement image for VV"):
        ingest_sentinel1(make_safe(tmp_path / "a", measurement=False), GRID)
    with pytest.raises(InputError, match=r"lacks \['vh'\]"):
        ingest_sentinel1(make_safe(tmp_path / "b", pols=("vv",)), GRID)
    with pytest.raises(ConfigError, match="speckle_filter 'frost' unknown"):
        ingest_sentinel1(tmp_path, GRID, speckle_filter="frost")
    with pytest.raises(ConfigError, match="filter_size 6 must be an odd integer"):
        ingest_sentinel1(tmp_path, GRID, filter_size=6)
    safe = make_safe(tmp_path / "c")
    tif = next((safe / "measurement").glob("*-vh-*.tiff"))
    raw = tif.read_bytes()
    tif.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(InputError, match="measurement image cannot be read"):
        ingest_sentinel1(safe, GRID)


def test_measurement_size_must_match_annotation(tmp_path):
    safe = make_safe(tmp_path)
    tif = next((safe / "measurement").glob("*-vv-*.tiff"))
    tif.unlink()
    with rasterio.open(
        tif, "w", driver="GTiff", width=10, height=10, count=1, dtype="uint16"
    ) as dst:
        dst.write(np.ones((1, 10, 10), np.uint16))
    with pytest.raises(InputError, match="image is 10x10 but the annotation says 90x90"):
        ingest_sentinel1(safe, GRID)


def test_gcp_rmse_px_of_an_exact_and_a_perturbed_grid():
    exact = [
        GroundControlPoint(row=r, col=c, x=117.0 + 1e-4 * c, y=39.7 - 1e-4 * r)
        for r in (0, 10, 20)
        for c in (0, 10, 20)
    ]
    assert gcp_rmse_px(exact) < 1e-6
    moved = list(exact)
    g = moved[4]
    moved[4] = GroundControlPoint(row=g.row + 1.0, col=g.col, x=g.x, y=g.y)
    assert gcp_rmse_px(moved) > 0.05


def test_sigma0_db_matches_formula_at_a_pixel(tmp_path):
    # without speckle filter or resampling effects, a homogeneous area's dB equals
    # 10 log10((DN^2 - eta) / A^2) of its DN
    safe = make_safe(tmp_path)
    vv = np.round(np.sqrt(truth_sigma0("vv") * sigma_a(70.0) ** 2 + noise_power(70.0)))[0, 70]
    expected = to_db(np.array([(vv**2 - noise_power(70.0)) / sigma_a(70.0) ** 2]))[0]
    result = ingest_sentinel1(safe, GRID, speckle_filter="none")
    # image pixel 70 -> x 500500 -> grid column 50
    assert result.data.values[0, 30, 50] == pytest.approx(expected, abs=0.02)


def test_lazy_grid_tile_by_tile_equals_one_tile(tmp_path, monkeypatch):
    # geocoding with the GCPs, the power floor, the denoising and the dB
    # conversion tile by tile (16-pixel tiles of the 60x60 grid)
    safe = make_safe(tmp_path)
    monkeypatch.setattr("coexplore.ingest.sentinel1.INGEST_TILE", 10**6)
    whole = ingest_sentinel1(safe, GRID, filter_size=5, denoise_sigma=1.0)
    monkeypatch.setattr("coexplore.ingest.sentinel1.INGEST_TILE", 16)
    tiled = ingest_sentinel1(safe, GRID, filter_size=5, denoise_sigma=1.0)
    assert tiled.data.chunks[1] == (16, 16, 16, 12)
    np.testing.assert_allclose(tiled.data.values, whole.data.values, atol=1e-4, equal_nan=True)
    assert tiled.qa["valid_fraction"] == whole.qa["valid_fraction"] == 1.0
