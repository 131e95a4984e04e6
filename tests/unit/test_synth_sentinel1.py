"""Sentinel-1 GRD forward model: backscatter physics, calibration, geometry, SAFE files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.warp import Resampling, reproject
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from coexplore import layout
from coexplore.synth import generate_state
from coexplore.synth.plan import sentinel1_acquisitions, sentinel1_files
from coexplore.synth.safe_xml import iso
from coexplore.synth.sentinel1 import (
    BARE_LAND,
    BUILT_UP,
    MINING,
    VEGETATION,
    WATER,
    _sample,
    radar_geometry,
    render_sentinel1_product,
    sigma0_db,
    write_sentinel1_product,
)
from coexplore.synth.surface import surface_snapshot

NS = {
    "xfdu": "urn:ccsds:schema:xfdu:1",
    "safe": "http://www.esa.int/safe/sentinel-1.0",
    "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
    "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
    "gml": "http://www.opengis.net/gml",
}


def area() -> dict:
    return {
        "id": "s1",
        "seed": 11,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501200, 4401200],
        },
        "time": {"start": "2021-01-01", "end": "2021-12-31"},
        "sources": ["sentinel1"],
        "synth": {"sentinel1": {"start": "2021-01-01", "end": "2021-12-31", "revisit_days": 48}},
    }


@pytest.fixture(scope="module")
def state():
    return generate_state(area())


@pytest.fixture(scope="module")
def summer(state):
    acq = next(a for a in sentinel1_acquisitions(state.settings) if a.start.month in (7, 8))
    return render_sentinel1_product(state, acq)


@pytest.fixture(scope="module")
def written(state, summer, tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    files = write_sentinel1_product(state, summer, raw)
    return raw, files


def floats(el: ET.Element) -> np.ndarray:
    return np.array(el.text.split(), dtype=float)


def test_written_files_are_the_planned_ones(summer, written):
    raw, files = written
    assert files == sentinel1_files(raw, summer.acquisition)
    assert all(p.is_file() for p in files)
    assert not [p for p in (raw / "sentinel1").iterdir() if p.name.startswith(".")]
    assert layout.discover_sentinel1(raw) == [summer.acquisition.product_id]


def test_rendering_is_deterministic(state, summer):
    again = render_sentinel1_product(state, summer.acquisition)
    for pol in ("vv", "vh"):
        np.testing.assert_array_equal(again.dn[pol], summer.dn[pol])


def test_manifest_structure_and_checksums(summer, written):
    raw, _ = written
    safe = layout.sentinel1_safe_dir(raw, summer.acquisition.product_id)
    root = ET.parse(safe / "manifest.safe").getroot()
    assert root.tag == f"{{{NS['xfdu']}}}XFDU"
    assert root.find("informationPackageMap") is not None
    meta = root.find("metadataSection")
    period = meta.find("metadataObject[@ID='acquisitionPeriod']")
    assert period.find(".//safe:startTime", NS).text == iso(summer.first_line)
    assert period.find(".//safe:stopTime", NS).text == iso(summer.last_line)
    platform = meta.find("metadataObject[@ID='platform']//safe:platform", NS)
    assert platform.find("safe:familyName", NS).text == "SENTINEL-1"
    assert platform.find("safe:number", NS).text == "A"
    assert platform.find(".//s1sarl1:mode", NS).text == "IW"
    orbit = meta.find("metadataObject[@ID='measurementOrbitReference']//safe:orbitReference", NS)
    assert orbit.find(".//s1:pass", NS).text == "ASCENDING"
    assert int(orbit.find("safe:orbitNumber", NS).text) == summer.acquisition.absolute_orbit
    assert int(orbit.find("safe:relativeOrbitNumber", NS).text) == summer.acquisition.relative_orbit
    info = meta.find(".//s1sarl1:standAloneProductInformation", NS)
    assert int(info.find("s1sarl1:missionDataTakeID", NS).text) == summer.acquisition.datatake
    pols = [e.text for e in info.findall("s1sarl1:transmitterReceiverPolarisation", NS)]
    assert pols == ["VV", "VH"] and info.find("s1sarl1:productType", NS).text == "GRD"
    assert len(meta.find(".//gml:coordinates", NS).text.split()) == 4
    objects = root.findall("dataObjectSection/dataObject")
    assert len(objects) == 8
    for obj in objects:
        href = obj.find("byteStream/fileLocation").get("href")
        payload = (safe / href).read_bytes()
        assert int(obj.find("byteStream").get("size")) == len(payload)
        assert obj.find("byteStream/checksum").text == hashlib.md5(payload).hexdigest()


def test_annotation_matches_the_measurement(summer, written):
    raw, _ = written
    safe = layout.sentinel1_safe_dir(raw, summer.acquisition.product_id)
    for pol in ("vv", "vh"):
        stem = summer.acquisition.file_stem(pol)
        root = ET.parse(safe / "annotation" / f"{stem}.xml").getroot()
        assert root.tag == "product"
        assert root.find("adsHeader/polarisation").text == pol.upper()
        assert root.find("adsHeader/startTime").text == iso(summer.first_line)
        assert (
            int(root.find("adsHeader/absoluteOrbitNumber").text)
            == summer.acquisition.absolute_orbit
        )
        assert root.find("generalAnnotation/productInformation/pass").text == "Ascending"
        heading = float(root.find("generalAnnotation/productInformation/platformHeading").text)
        assert heading == pytest.approx(-12.0, abs=0.1)
        info = root.find("imageAnnotation/imageInformation")
        assert float(info.find("rangePixelSpacing").text) == 10.0
        assert float(info.find("azimuthPixelSpacing").text) == 10.0
        with rasterio.open(safe / "measurement" / f"{stem}.tiff") as src:
            assert src.dtypes[0] == "uint16" and src.crs is None
            assert (
                int(info.find("numberOfSamples").text),
                int(info.find("numberOfLines").text),
            ) == (
                src.width,
                src.height,
            )
            gcps, gcp_crs = src.gcps
            np.testing.assert_array_equal(src.read(1), summer.dn[pol])
        assert gcp_crs.to_epsg() == 4326
        grid = root.find("geolocationGrid/geolocationGridPointList")
        points = grid.findall("geolocationGridPoint")
        assert int(grid.get("count")) == len(points) == len(gcps) == 100
        for p, g in zip(points, gcps, strict=True):
            for tag in (
                "azimuthTime",
                "slantRangeTime",
                "height",
                "incidenceAngle",
                "elevationAngle",
            ):
                assert p.find(tag) is not None
            assert (int(p.find("line").text), int(p.find("pixel").text)) == (g.row, g.col)
            assert float(p.find("latitude").text) == pytest.approx(g.y, abs=1e-9)
            assert float(p.find("longitude").text) == pytest.approx(g.x, abs=1e-9)
        lines = {int(p.find("line").text) for p in points}
        assert min(lines) == 0 and max(lines) == src.height - 1


def read_luts(safe, stem: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinearly interpolated sigmaNought and noise LUTs over an n x n image."""
    cal = ET.parse(safe / "annotation" / "calibration" / f"calibration-{stem}.xml").getroot()
    noi = ET.parse(safe / "annotation" / "calibration" / f"noise-{stem}.xml").getroot()

    def grid(vectors, name):
        lines = np.array([int(v.find("line").text) for v in vectors])
        rows = []
        for v in vectors:
            pixel = floats(v.find("pixel"))
            values = floats(v.find(name))
            assert int(v.find(name).get("count")) == len(values) == len(pixel)
            rows.append(np.interp(np.arange(n), pixel, values))
        rows = np.array(rows)
        return np.array([np.interp(np.arange(n), lines, rows[:, j]) for j in range(n)]).T

    sigma = grid(cal.findall("calibrationVectorList/calibrationVector"), "sigmaNought")
    noise = grid(noi.findall("noiseRangeVectorList/noiseRangeVector"), "noiseRangeLut")
    assert noi.find("noiseAzimuthVectorList/noiseAzimuthVector/noiseAzimuthLut") is not None
    return sigma, noise


def test_calibration_recovers_sigma0(summer, written):
    raw, _ = written
    safe = layout.sentinel1_safe_dir(raw, summer.acquisition.product_id)
    n = summer.geometry.lines
    for pol in ("vv", "vh"):
        sigma_lut, noise_lut = read_luts(safe, summer.acquisition.file_stem(pol), n)
        assert 400 < sigma_lut.min() and sigma_lut.max() < 700
        assert np.all(noise_lut > 0) and np.all(noise_lut < 0.01 * sigma_lut**2)
        dn = summer.dn[pol].astype(float)
        valid = dn > 0
        decoded = (dn**2 - noise_lut) / sigma_lut**2
        rel = np.abs(decoded[valid] / summer.sigma0[pol][valid] - 1)
        assert np.median(rel) < 0.01
        assert np.isnan(summer.sigma0[pol][~valid]).all()


def test_dn_formula_known_answer(summer):
    # DN = round(sqrt(sigma0 A^2 + N)) at one pixel
    pol, row, col = "vv", summer.geometry.lines // 2, summer.geometry.samples // 3
    a = np.interp(col, summer.lut_pixels, summer.sigma_lut)
    noise = np.interp(col, summer.lut_pixels, summer.noise_lut[pol])
    expected = round(math.sqrt(float(summer.sigma0[pol][row, col]) * a**2 + noise))
    assert int(summer.dn[pol][row, col]) == expected


def test_calibration_luts_follow_the_incidence(summer):
    theta = np.radians(summer.geometry.incidence(summer.lut_pixels))
    np.testing.assert_allclose(summer.sigma_lut, 474.0 / np.sqrt(np.sin(theta)), rtol=1e-6)
    np.testing.assert_allclose(summer.gamma_lut, 474.0 / np.sqrt(np.tan(theta)), rtol=1e-6)
    assert np.all(np.diff(summer.sigma_lut) < 0)  # incidence grows across range


def test_radar_geometry_is_an_ascending_right_looking_track(state, summer):
    g = summer.geometry
    to_map = Transformer.from_crs("EPSG:4326", state.grid.crs, always_xy=True)
    by_node = {(p.pixel, p.line): p for p in summer.points}
    n = g.lines - 1

    def xy(pixel, line):
        p = by_node[(pixel, line)]
        return np.array(to_map.transform(p.longitude, p.latitude))

    along = xy(0, n) - xy(0, 0)
    across = xy(n, 0) - xy(0, 0)
    assert math.degrees(math.atan2(along[0], along[1])) == pytest.approx(-12.0, abs=0.2)
    assert math.degrees(math.atan2(across[0], across[1])) == pytest.approx(78.0, abs=0.2)
    assert np.hypot(*along) == pytest.approx(10.0 * n, rel=1e-3)
    incidences = [p.incidence_angle for p in summer.points if p.line == 0]
    assert np.all(np.diff(incidences) > 0)
    # the study area lies inside the valid image
    left, bottom, right, top = state.grid.bounds
    inv = ~g.transform
    for corner in ((left, bottom), (left, top), (right, bottom), (right, top)):
        col, row = inv @ corner
        assert 0 <= col < g.samples and 0 <= row < g.lines
        assert summer.dn["vv"][int(row), int(col)] > 0


def test_gcp_geocoding_lands_on_the_map(state, summer, written):
    raw, _ = written
    safe = layout.sentinel1_safe_dir(raw, summer.acquisition.product_id)
    with rasterio.open(safe / "measurement" / f"{summer.acquisition.file_stem('vv')}.tiff") as src:
        gcps, gcp_crs = src.gcps
    radar = ndimage.uniform_filter(np.nan_to_num(summer.sigma0["vv"]), 5)
    out = np.full(state.grid.shape, np.nan, dtype=np.float64)
    reproject(
        radar,
        out,
        gcps=gcps,
        src_crs=gcp_crs,
        dst_transform=state.grid.transform,
        dst_crs=state.grid.crs,
        resampling=Resampling.bilinear,
        dst_nodata=np.nan,
    )
    snap = surface_snapshot(state, summer.acquisition.start.date())
    wind = float(state.climate.wind[state.climate.index(snap.date)])
    truth = state.crop(10 ** (sigma0_db(state, snap, summer.geometry, wind=wind)["vv"] / 10))
    truth = ndimage.uniform_filter(truth, 5)
    shift, _, _ = phase_cross_correlation(np.log(truth), np.log(out), upsample_factor=20)
    assert np.all(np.abs(shift) < 0.3)


def test_backscatter_physics(state):
    acq = sentinel1_acquisitions(state.settings)[0]
    geometry = radar_geometry(state, acq)
    snap = surface_snapshot(state, dt.date(2021, 7, 20))
    db = sigma0_db(state, snap, geometry, wind=2.0)
    vv, vh = db["vv"], db["vh"]

    def med(band, code):
        return float(np.median(band[snap.cls == code]))

    assert med(vv, WATER) < med(vv, BARE_LAND) < med(vv, MINING) < med(vv, BUILT_UP)
    assert med(vh, WATER) < med(vh, BARE_LAND) < med(vh, VEGETATION)
    assert med(vh, WATER) < -25 and med(vv, BUILT_UP) > -8
    winter = surface_snapshot(state, dt.date(2021, 2, 1))
    assert med(sigma0_db(state, winter, geometry, wind=2.0)["vh"], VEGETATION) < med(vh, VEGETATION)
    # wetter soil is brighter: +3.5 dB per 0.2 m3/m3 on bare land (VV)
    wet = dataclasses.replace(snap, soil_moisture=np.full_like(snap.soil_moisture, 0.35))
    dry = dataclasses.replace(snap, soil_moisture=np.full_like(snap.soil_moisture, 0.15))
    bare = snap.cls == BARE_LAND
    diff = (
        sigma0_db(state, wet, geometry, wind=2.0)["vv"]
        - sigma0_db(state, dry, geometry, wind=2.0)["vv"]
    )
    np.testing.assert_allclose(diff[bare], 3.5, atol=1e-4)
    # wind roughens open water
    windy = sigma0_db(state, snap, geometry, wind=7.0)["vv"]
    np.testing.assert_allclose((windy - vv)[snap.cls == WATER], 7.0, atol=1e-4)


def test_speckle_has_the_configured_number_of_looks(state, summer):
    snap = surface_snapshot(state, summer.acquisition.start.date())
    wind = float(state.climate.wind[state.climate.index(snap.date)])
    db = sigma0_db(state, snap, summer.geometry, wind=wind)
    clean = _sample(ndimage.gaussian_filter(10 ** (db["vv"] / 10), 0.8), state, summer.geometry)
    ratio = summer.sigma0["vv"] / clean
    ratio = ratio[np.isfinite(ratio)]
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert ratio.mean() ** 2 / ratio.var() == pytest.approx(4.0, rel=0.08)


REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
REAL_SAFE = (
    REALDATA
    / "sentinel1"
    / "S1A_IW_GRDH_1SDV_20210119T031653_20210119T031718_036201_043ED0_8255.zip"
)


def element_paths(root: ET.Element) -> set[str]:
    """Every element path (tags joined by '/') and attribute name in a document."""
    paths: set[str] = set()

    def walk(el: ET.Element, prefix: str) -> None:
        here = f"{prefix}/{el.tag}"
        paths.add(here)
        paths.update(f"{here}@{name}" for name in el.attrib)
        for child in el:
            walk(child, here)

    walk(root, "")
    return paths


def test_safe_xml_structure_follows_a_real_product(summer, written):
    if not REAL_SAFE.is_file():
        pytest.skip(f"real Sentinel-1 SAFE sample not found at {REAL_SAFE}")
    raw, _ = written
    safe = layout.sentinel1_safe_dir(raw, summer.acquisition.product_id)
    stem = summer.acquisition.file_stem("vv")
    cal = safe / "annotation" / "calibration"
    ours = {
        "manifest.safe": safe / "manifest.safe",
        "annotation/s1a-iw-grd-vv": safe / "annotation" / f"{stem}.xml",
        "annotation/calibration/calibration-s1a-iw-grd-vv": cal / f"calibration-{stem}.xml",
        "annotation/calibration/noise-s1a-iw-grd-vv": cal / f"noise-{stem}.xml",
    }
    with zipfile.ZipFile(REAL_SAFE) as archive:
        names = archive.namelist()
        for prefix, path in ours.items():
            real_name = next(n for n in names if n.split(".SAFE/", 1)[1].startswith(prefix))
            real = element_paths(ET.fromstring(archive.read(real_name)))
            mine = element_paths(ET.parse(path).getroot())
            assert mine <= real, (prefix, sorted(mine - real))
