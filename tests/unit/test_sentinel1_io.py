"""Sentinel-1 SAFE reader on the real archive, LUT interpolation, error paths."""

from __future__ import annotations

import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import DataError, InputError, MetadataError
from coexplore.io.sentinel1 import (
    CalibrationVector,
    NoiseAzimuthVector,
    NoiseRangeVector,
    calibration_lut,
    noise_lut,
    read_measurement,
    read_safe,
)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
PRODUCT = "S1A_IW_GRDH_1SDV_20210119T031653_20210119T031718_036201_043ED0_8255"
REAL_ZIP = REALDATA / "sentinel1" / f"{PRODUCT}.zip"


@pytest.fixture
def real_zip() -> Path:
    if not REAL_ZIP.is_file():
        pytest.skip(f"real sample data not found at {REAL_ZIP}")
    return REAL_ZIP


@pytest.fixture
def real_safe(real_zip, tmp_path) -> Path:
    with zipfile.ZipFile(real_zip) as z:
        z.extractall(tmp_path)
    return tmp_path / f"{PRODUCT}.SAFE"


@pytest.mark.realdata
def test_read_real_zip(real_zip):
    p = read_safe(real_zip)
    assert p.product_id == PRODUCT
    assert p.mission == "S1A"
    assert (p.product_type, p.mode) == ("GRD", "IW")
    assert p.pass_direction == "DESCENDING"
    assert p.start_time == datetime(2021, 1, 19, 3, 16, 53, 799379)
    assert p.stop_time == datetime(2021, 1, 19, 3, 17, 18, 797132)
    assert p.polarisations == ("vv", "vh")
    vv = p.bands["vv"]
    a = vv.annotation
    assert (a.lines, a.samples) == (16854, 25931)
    assert a.range_spacing == pytest.approx(10.0) and a.azimuth_spacing == pytest.approx(10.0)
    assert len(a.gcps) == 210 and a.incidence_angle.shape == (210,)
    g0 = a.gcps[0]
    assert (g0.row, g0.col) == (0.0, 0.0)
    assert g0.x == pytest.approx(34.98272513645960) and g0.y == pytest.approx(-17.69892962456625)
    lons = np.array([g.x for g in a.gcps])
    lats = np.array([g.y for g in a.gcps])
    # inside the manifest footprint
    assert 32.2 < lons.min() and lons.max() < 35.0 and -19.21 < lats.min() and lats.max() < -17.14
    assert 29.0 < a.incidence_angle.min() and a.incidence_angle.max() < 47.0
    assert len(vv.calibration) == 27
    assert vv.calibration[0].pixel.shape == (650,)
    assert set(vv.calibration[0].values) == {"sigmaNought", "betaNought", "gamma", "dn"}
    assert vv.calibration[0].values["sigmaNought"][0] == pytest.approx(665.7139)
    assert len(vv.noise_range) == 27 and vv.noise_range[0].lut.shape == (653,)
    assert vv.noise_range[0].lut[0] == pytest.approx(2359.446)
    assert len(vv.noise_azimuth) == 3 and vv.noise_azimuth[0].last_sample == 8742
    # the archive ships without imagery
    assert vv.measurement is None and p.bands["vh"].measurement is None


@pytest.mark.realdata
def test_real_folder_equals_zip_and_real_luts(real_safe, real_zip):
    from_dir = read_safe(real_safe)
    from_zip = read_safe(real_zip)
    assert from_dir.polarisations == from_zip.polarisations

    def points(p):
        return [(g.row, g.col, g.x, g.y, g.z) for g in p.bands["vh"].annotation.gcps]

    assert points(from_dir) == points(from_zip)
    vv = from_dir.bands["vv"]
    # a window holding the node (line 674, pixel 2000): there the LUT is the vector value
    lut = calibration_lut(vv.calibration, (40, 50), offset=(660, 1990))
    assert lut.shape == (40, 50)
    node = vv.calibration[1]
    assert node.line == 674
    k = int(np.flatnonzero(node.pixel == 2000)[0])
    assert lut[674 - 660, 2000 - 1990] == pytest.approx(node.values["sigmaNought"][k])
    assert 500.0 < lut.min() and lut.max() < 800.0
    noise = noise_lut(
        vv.noise_range, (40, 50), azimuth_vectors=vv.noise_azimuth, offset=(660, 1990)
    )
    assert noise.shape == (40, 50) and (noise > 0).all()
    with pytest.raises(InputError, match="no measurement image for VV"):
        read_measurement(vv)


def test_calibration_lut_is_bilinear():
    def f(line, pixel):
        return 100.0 + 2.0 * line + 3.0 * pixel + 0.01 * line * pixel

    pixels = np.array([0.0, 10.0, 20.0])
    vectors = [
        CalibrationVector(line, pixels, {"sigmaNought": f(line, pixels), "dn": np.ones(3)})
        for line in (0, 8, 16)
    ]
    lut = calibration_lut(vectors, (17, 21))
    rows, cols = np.mgrid[0:17, 0:21]
    # bilinear reproduces a bilinear function exactly
    np.testing.assert_allclose(lut, f(rows, cols), rtol=1e-12)
    # beyond the last vector and pixel the values are held
    wide = calibration_lut(vectors, (20, 25))
    np.testing.assert_allclose(wide[19, 24], f(16, 20))
    window = calibration_lut(vectors, (3, 4), offset=(5, 7))
    np.testing.assert_allclose(window, f(rows[5:8, 7:11], cols[5:8, 7:11]), rtol=1e-12)
    np.testing.assert_allclose(calibration_lut(vectors, (2, 2), kind="dn"), 1.0)


def test_lut_with_differing_pixel_grids_and_one_vector():
    a = CalibrationVector(0, np.array([0.0, 10.0]), {"sigmaNought": np.array([10.0, 20.0])})
    b = CalibrationVector(
        10, np.array([0.0, 5.0, 10.0]), {"sigmaNought": np.array([30.0, 35.0, 40.0])}
    )
    lut = calibration_lut([b, a], (11, 11))  # order does not matter
    assert lut[5, 5] == pytest.approx(25.0)
    assert lut[0, 10] == pytest.approx(20.0) and lut[10, 5] == pytest.approx(35.0)
    np.testing.assert_allclose(calibration_lut([a], (3, 11))[2], np.linspace(10, 20, 11))


def test_noise_lut_range_times_azimuth():
    ranges = [
        NoiseRangeVector(line, np.array([0.0, 9.0]), np.array([100.0, 190.0])) for line in (0, 9)
    ]
    az = NoiseAzimuthVector(
        first_line=0,
        last_line=9,
        first_sample=5,
        last_sample=9,
        line=np.array([0.0, 9.0]),
        lut=np.array([1.0, 2.0]),
    )
    out = noise_lut(ranges, (10, 10), azimuth_vectors=[az])
    np.testing.assert_allclose(out[:, 0], 100.0)  # outside the azimuth block
    np.testing.assert_allclose(out[:, 9], 190.0 * np.linspace(1.0, 2.0, 10))
    np.testing.assert_allclose(noise_lut(ranges, (1, 10))[0], np.arange(100.0, 200.0, 10.0))


def test_lut_errors():
    v = CalibrationVector(0, np.array([0.0]), {"sigmaNought": np.array([1.0])})
    with pytest.raises(DataError, match="no calibration vectors"):
        calibration_lut([], (2, 2))
    with pytest.raises(DataError, match="lack 'gamma'"):
        calibration_lut([v], (2, 2), kind="gamma")
    with pytest.raises(DataError, match=r"LUT shape \(0, 2\) is empty"):
        calibration_lut([v], (0, 2))
    with pytest.raises(DataError, match="no noise range vectors"):
        noise_lut([], (2, 2))


@pytest.mark.realdata
def test_missing_calibration_file(real_safe):
    next((real_safe / "annotation" / "calibration").glob("calibration-*-vh-*.xml")).unlink()
    with pytest.raises(InputError, match=r"calibration-s1a-iw-grd-vh-.*\.xml: file missing"):
        read_safe(real_safe)


@pytest.mark.realdata
def test_truncated_annotation_xml(real_safe):
    ann = next((real_safe / "annotation").glob("s1a-iw-grd-vv-*.xml"))
    data = ann.read_bytes()
    ann.write_bytes(data[: len(data) // 2])
    with pytest.raises(MetadataError, match=r"s1a-iw-grd-vv-.*\.xml: malformed XML"):
        read_safe(real_safe)


@pytest.mark.realdata
def test_annotation_without_geolocation_grid(real_safe):
    ann = next((real_safe / "annotation").glob("s1a-iw-grd-vh-*.xml"))
    text = ann.read_text()
    ann.write_text(text.replace("geolocationGrid>", "geolocationGridX>"))
    with pytest.raises(MetadataError, match="has no <geolocationGrid/geolocationGridPointList>"):
        read_safe(real_safe)


@pytest.mark.realdata
def test_missing_manifest_and_annotation(real_safe):
    ann = next((real_safe / "annotation").glob("s1a-iw-grd-vh-*.xml"))
    ann.unlink()
    with pytest.raises(InputError, match="0 annotation files for polarisation VH"):
        read_safe(real_safe)
    (real_safe / "manifest.safe").unlink()
    with pytest.raises(InputError, match=r"manifest\.safe: file missing"):
        read_safe(real_safe)


def test_not_a_product(tmp_path):
    with pytest.raises(InputError, match="SAFE product does not exist"):
        read_safe(tmp_path / "absent.SAFE")
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    with pytest.raises(InputError, match="neither a .SAFE folder nor a zip archive"):
        read_safe(junk)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("readme.txt", "nothing")
    with pytest.raises(InputError, match=r"zip holds 0 \.SAFE folders"):
        read_safe(empty)


@pytest.mark.realdata
def test_copied_zip_still_reads(real_zip, tmp_path):
    copy = tmp_path / "copy.zip"
    shutil.copy(real_zip, copy)
    assert read_safe(copy).product_id == PRODUCT
