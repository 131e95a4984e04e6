"""Landsat 8 forward model: geometry, GCPs, radiometry, clouds and QA, MTL."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from coexplore import layout
from coexplore.preprocess.atmosphere import path_radiance, surface_reflectance, total_transmittance
from coexplore.sensors import Landsat8
from coexplore.synth import generate_state
from coexplore.synth.clouds import cast_shadow, cloud_fraction, qa_pixel, shadow_length_px
from coexplore.synth.landsat import (
    render_footprints,
    render_landsat_scene,
    scene_grid,
    thermal_radiance,
    to_dn,
    write_landsat_scene,
)
from coexplore.synth.mtl import ESUN_BY_NUMBER, REFLECTANCE_ADD, REFLECTANCE_MULT, Rescaling
from coexplore.synth.plan import landsat_acquisitions
from coexplore.synth.surface import hidden_surface_reflectance

QA = Landsat8.qa_bits


def area() -> dict:
    return {
        "id": "ls",
        "seed": 7,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501600, 4401600],
        },
        "time": {"start": "2021-01-01", "end": "2021-12-31"},
        "sources": ["landsat8"],
        "synth": {"landsat8": {"revisit_days": 16, "margin_m": 300, "n_gcps": 10}},
    }


@pytest.fixture(scope="module")
def state():
    return generate_state(area())


@pytest.fixture(scope="module")
def scenes(state):
    return [render_landsat_scene(state, acq) for acq in landsat_acquisitions(state.settings)]


def bit(qa: np.ndarray, n: int) -> np.ndarray:
    return ((qa >> n) & 1).astype(bool)


def pair(qa: np.ndarray, n: int) -> np.ndarray:
    return (qa >> n) & 3


def parse_odl(text: str) -> dict:
    """Minimal ODL reader for the test: {group: {key: raw value}}."""
    groups: dict = {}
    stack: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line == "END":
            continue
        key, _, value = (s.strip() for s in line.partition("="))
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            assert stack.pop() == value
        else:
            groups[stack[-1]][key] = value.strip('"')
    assert not stack
    return groups


def test_scene_grid_is_offset_from_the_10m_grid(state):
    t, width, height = scene_grid(state)
    assert t.a == 30 and t.e == -30
    assert t.c % 30 == 15 and t.f % 30 == 15 and t.c % 10 != 0
    left, bottom, right, top = state.grid.bounds
    assert t.c <= left - 300 and t.f >= top + 300
    assert t.c + 30 * width >= right + 300 and t.f - 30 * height <= bottom - 300


def test_render_footprints_area_averages_onto_a_rotated_grid(state):
    x, y = state.coords()
    ramp = np.stack([x - x.min(), y - y.min()]).astype(np.float32)
    nominal, width, height = scene_grid(state)
    dst = (
        nominal
        @ Affine.translation(40, 40)
        @ Affine.rotation(0.05)
        @ Affine.translation(-40.7, -39.2)
    )
    out = render_footprints(ramp, state.ext.transform, state.grid.crs, dst, (height, width))
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    ex, ey = dst @ (cols, rows)
    # the mean of a linear field over a pixel footprint is its value at the centre
    np.testing.assert_allclose(out[0], ex - x.min(), atol=0.05)
    np.testing.assert_allclose(out[1], ey - y.min(), atol=0.05)


def test_rendering_is_deterministic(state, scenes):
    again = render_landsat_scene(state, landsat_acquisitions(state.settings)[3])
    for band in Landsat8.bands:
        np.testing.assert_array_equal(again.dn[band], scenes[3].dn[band])
    np.testing.assert_array_equal(again.qa, scenes[3].qa)
    assert not np.array_equal(scenes[3].dn["red"], scenes[4].dn["red"])


def test_distortion_is_injected_within_bounds(scenes):
    worst = 0.0
    for sc in scenes:
        h, w = sc.shape
        inv = ~sc.nominal_transform
        for corner in ((0, 0), (w, 0), (0, h), (w, h)):
            c, r = inv @ (sc.true_transform @ corner)
            offset = math.hypot(c - corner[0], r - corner[1])
            # shift <= 1.5 px per axis, rotation 0.05 deg and scale 5e-4 add < 0.1 px here
            assert offset < 1.5 * math.sqrt(2) + 0.1
            worst = max(worst, offset)
    assert worst > 0.5


def fit_affine(gcp: pd.DataFrame) -> Affine:
    design = np.column_stack([gcp["col"], gcp["row"], np.ones(len(gcp))])
    (a, b, c), *_ = np.linalg.lstsq(design, gcp["x"].to_numpy(), rcond=None)
    (d, e, f), *_ = np.linalg.lstsq(design, gcp["y"].to_numpy(), rcond=None)
    return Affine(a, b, c, d, e, f)


def misfit_px(fitted: Affine, true: Affine, shape: tuple[int, int]) -> tuple[float, float]:
    """RMS and maximum image-space error of ``fitted`` over a 5 x 5 grid spanning the image."""
    h, w = shape
    inv = ~true
    errors = [
        math.hypot(*(np.array(inv @ (fitted @ (w * i / 4, h * j / 4))) - (w * i / 4, h * j / 4)))
        for i in range(5)
        for j in range(5)
    ]
    return float(np.sqrt(np.mean(np.square(errors)))), float(np.max(errors))


def test_gcp_affine_fit_recovers_the_true_transform(state, scenes, tmp_path):
    for sc in scenes[:6]:
        write_landsat_scene(state, sc, tmp_path)
        gcp = pd.read_csv(layout.landsat_gcp_path(tmp_path, sc.acquisition.scene_id))
        assert list(gcp.columns) == ["id", "col", "row", "x", "y"]
        assert len(gcp) == 10
        rms, worst = misfit_px(fit_affine(gcp), sc.true_transform, sc.shape)
        # 10 points measured with 0.15 px noise: ~0.2 px over the image, more at the corners
        assert rms < 0.5
        assert worst < 1.0
        h, w = sc.shape
        # the points are spread over the image
        assert np.ptp(gcp["col"]) > 0.6 * w and np.ptp(gcp["row"]) > 0.6 * h


def test_noise_free_gcps_give_the_exact_transform():
    exact = area()
    exact["synth"]["landsat8"]["gcp_noise_px"] = 0.0
    state = generate_state(exact)
    sc = render_landsat_scene(state, landsat_acquisitions(state.settings)[0])
    gcp = pd.DataFrame(sc.gcps, columns=["col", "row", "x", "y"])
    _, worst = misfit_px(fit_affine(gcp), sc.true_transform, sc.shape)
    assert worst < 1e-6
    assert misfit_px(sc.nominal_transform, sc.true_transform, sc.shape)[1] > 1e-3


def test_qa_pixel_known_values():
    f = np.zeros((1, 1), dtype=bool)
    t = ~f
    assert int(qa_pixel(f, f, f, f, f, f)[0, 0]) == 21824  # clear land
    assert int(qa_pixel(f, f, f, f, f, t)[0, 0]) == 21952  # clear water
    assert int(qa_pixel(t, f, f, f, f, f)[0, 0]) == 22280  # high-confidence cloud
    assert int(qa_pixel(f, t, t, f, f, f)[0, 0]) == 22018  # dilated, medium cloud confidence
    shadow = int(qa_pixel(f, f, f, t, f, f)[0, 0])
    assert shadow == 21824 | (1 << 4) | (2 << 10)  # 23888: shadow keeps the clear bit in C2
    assert shadow == 23888


def test_qa_bits_agree_with_the_cloud_masks(scenes):
    partly = [sc for sc in scenes if 0 < sc.cloud_mask.mean() < 0.9]
    assert partly, "no partly cloudy scene in the year"
    for sc in scenes:
        qa = sc.qa
        np.testing.assert_array_equal(bit(qa, QA["cloud"]), sc.cloud_mask)
        np.testing.assert_array_equal(bit(qa, QA["dilated_cloud"]), sc.dilated)
        np.testing.assert_array_equal(bit(qa, QA["cloud_shadow"]), sc.shadow_mask)
        np.testing.assert_array_equal(bit(qa, QA["clear"]), ~sc.cloud_mask & ~sc.dilated)
        np.testing.assert_array_equal(bit(qa, QA["water"]), sc.water_mask)
        assert not bit(qa, QA["fill"]).any() and not bit(qa, QA["snow"]).any()
        assert np.all(pair(qa, 8)[sc.cloud_mask] == 3)
        assert np.all(pair(qa, 10)[sc.shadow_mask] == 3)
        # every pixel touched by cloud is flagged cloud or dilated cloud
        assert not np.any((sc.cloud > 0.02) & ~sc.cloud_mask & ~sc.dilated)
        # the dilation reaches 3 pixels beyond the clouds
        if 0 < sc.cloud_mask.mean() < 0.9:
            assert sc.dilated.sum() > 0
            assert (
                float(
                    sc.qa[
                        ~sc.cloud_mask
                        & ~sc.dilated
                        & ~sc.shadow_mask
                        & ~sc.water_mask
                        & ~sc.cirrus_mask
                    ].min()
                )
                == 21824
            )


def test_clouds_are_bright_and_cold(scenes):
    sc = next(s for s in scenes if 0.1 < s.cloud_mask.mean() < 0.9)
    clear = ~sc.cloud_mask & ~sc.dilated & ~sc.shadow_mask
    assert np.median(sc.dn["blue"][sc.cloud_mask]) > 1.5 * np.median(sc.dn["blue"][clear])
    assert np.median(sc.dn["tir"][sc.cloud_mask]) < np.median(sc.dn["tir"][clear])
    if sc.shadow_mask.sum() > 10:
        assert np.median(sc.dn["nir"][sc.shadow_mask & ~sc.dilated]) < np.median(
            sc.dn["nir"][clear]
        )


def test_cast_shadow_moves_away_from_the_sun():
    alpha = np.zeros((41, 41), dtype=np.float32)
    alpha[20, 20] = 1.0
    length = shadow_length_px(1500.0, 45.0)
    assert length == pytest.approx(50.0)
    south_sun = cast_shadow(alpha, length_px=10.0, sun_azimuth=180.0)
    assert np.unravel_index(np.argmax(south_sun), alpha.shape) == (10, 20)  # north
    east_sun = cast_shadow(alpha, length_px=10.0, sun_azimuth=90.0)
    assert np.unravel_index(np.argmax(east_sun), alpha.shape) == (20, 10)  # west


def test_cloud_fraction_distribution():
    rng = np.random.default_rng(0)
    draws = np.array([cloud_fraction(rng, 0.35, 0.4) for _ in range(4000)])
    cloudy = draws >= 0.05
    # P(cloudy) = 0.35 * (0.4 + 1.2 * 0.4)
    assert np.mean(cloudy) == pytest.approx(0.308, abs=0.03)
    assert np.mean(draws == 1.0) == pytest.approx(0.1 * 0.308, abs=0.012)
    assert np.mean(draws == 0.0) == pytest.approx(0.5 * 0.692, abs=0.03)
    assert cloud_fraction(np.random.default_rng(1), 0.0, 1.0) < 0.05


def test_dn_and_thermal_known_answers():
    r = Rescaling.for_distance(1.0)
    radiance = r.radiance_add[4] + r.radiance_mult[4] * np.array([1234.0, -5.0, 1e9])
    np.testing.assert_array_equal(to_dn(radiance, r, 4), [1234, 1, 65535])
    assert float(thermal_radiance(300.0)) == pytest.approx(9.5968, abs=1e-4)
    # inverse Planck gives the temperature back
    k1, k2 = 774.8853, 1321.0789
    assert k2 / math.log(k1 / float(thermal_radiance(287.5)) + 1) == pytest.approx(287.5, abs=1e-9)


def test_rescaling_is_self_consistent_with_esun():
    d = 0.9861
    r = Rescaling.for_distance(d)
    dn = np.array([5000.0, 20000.0, 60000.0])
    for n, esun in ESUN_BY_NUMBER.items():
        via_radiance = np.pi * d**2 * (r.radiance_mult[n] * dn + r.radiance_add[n]) / esun
        np.testing.assert_allclose(
            via_radiance, REFLECTANCE_MULT * dn + REFLECTANCE_ADD, rtol=2e-4, atol=2e-5
        )
    assert r.radiance_mult[10] == 3.342e-4 and r.radiance_add[10] == 0.1


def test_clear_scene_inverts_to_the_hidden_reflectance(state, scenes):
    sc = min(
        scenes, key=lambda s: s.cloud_mask.mean() + s.shadow_mask.mean() + s.cirrus_mask.mean()
    )
    assert sc.cloud_mask.mean() < 0.02
    rho = hidden_surface_reflectance(state, sc.acquisition.date, extended=True)
    truth = render_footprints(rho, state.ext.transform, state.grid.crs, sc.true_transform, sc.shape)
    mu_s = math.sin(math.radians(sc.sun_elevation))
    ok = ~sc.cloud_mask & ~sc.dilated & ~sc.shadow_mask & ~sc.cirrus_mask
    for band in ("blue", "red", "nir", "swir2"):
        n = Landsat8.bands[band]
        wl, esun = Landsat8.wavelength_um[band], Landsat8.esun[band]
        radiance = sc.rescaling.radiance_mult[n] * sc.dn[band] + sc.rescaling.radiance_add[n]
        t = total_transmittance(wl, sc.tau550, mu_s)
        l_path = path_radiance(wl, esun, sc.tau550, mu_s, sc.earth_sun_distance)
        est = surface_reflectance(radiance, l_path, t, 1.0, esun, mu_s, sc.earth_sun_distance)
        i = Landsat8.reflective.index(band)
        # terrain illumination is the only difference left: small and unbiased
        err = est[ok] - truth[i][ok]
        assert abs(np.median(err)) < 0.006, band
        assert np.median(np.abs(err)) < 0.015, band


def test_written_scene_files_and_mtl(state, scenes, tmp_path):
    sc = scenes[5]
    sid = sc.acquisition.scene_id
    files = write_landsat_scene(state, sc, tmp_path)
    assert files == layout.landsat_scene_files(tmp_path, sid)
    assert all(p.is_file() for p in files)
    assert not [p for p in (tmp_path / "landsat8").iterdir() if p.name.startswith(".")]
    with rasterio.open(layout.landsat_band_path(tmp_path, sid, "B4")) as src:
        assert src.dtypes[0] == "uint16" and src.crs.to_epsg() == 32650
        assert src.transform == sc.nominal_transform
        np.testing.assert_array_equal(src.read(1), sc.dn["red"])
    with rasterio.open(layout.landsat_band_path(tmp_path, sid, "QA_PIXEL")) as src:
        np.testing.assert_array_equal(src.read(1), sc.qa)

    text = layout.landsat_mtl_path(tmp_path, sid).read_text()
    mtl = parse_odl(text)
    assert text.startswith("GROUP = LANDSAT_METADATA_FILE") and text.rstrip().endswith("END")
    body = mtl["LANDSAT_METADATA_FILE"] if "LANDSAT_METADATA_FILE" in mtl else mtl
    pc, ia, pa = mtl["PRODUCT_CONTENTS"], mtl["IMAGE_ATTRIBUTES"], mtl["PROJECTION_ATTRIBUTES"]
    rr, tc = mtl["LEVEL1_RADIOMETRIC_RESCALING"], mtl["LEVEL1_THERMAL_CONSTANTS"]
    assert body is not None
    assert pc["LANDSAT_PRODUCT_ID"] == sid and pc["PROCESSING_LEVEL"] == "L1TP"
    for n in (1, 2, 3, 4, 5, 6, 7, 10):
        assert (tmp_path / "landsat8" / sid / pc[f"FILE_NAME_BAND_{n}"]).is_file()
    assert pc["FILE_NAME_QUALITY_L1_PIXEL"] == f"{sid}_QA_PIXEL.TIF"
    assert pc["FILE_NAME_METADATA_ODL"] == f"{sid}_MTL.txt"
    assert ia["SPACECRAFT_ID"] == "LANDSAT_8" and ia["SENSOR_ID"] == "OLI_TIRS"
    assert (ia["WRS_PATH"], ia["WRS_ROW"]) == ("123", "32")
    assert ia["DATE_ACQUIRED"] == f"{sc.acquisition.date:%Y-%m-%d}"
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}\.\d{7}Z", ia["SCENE_CENTER_TIME"])
    assert float(ia["CLOUD_COVER"]) == pytest.approx(sc.cloud_cover, abs=0.006)
    assert float(ia["SUN_ELEVATION"]) == pytest.approx(sc.sun_elevation, abs=1e-6)
    assert float(ia["SUN_AZIMUTH"]) == pytest.approx(sc.sun_azimuth, abs=1e-6)
    assert float(ia["EARTH_SUN_DISTANCE"]) == pytest.approx(sc.earth_sun_distance, abs=1e-6)
    assert pa["MAP_PROJECTION"] == "UTM" and pa["UTM_ZONE"] == "50" and pa["DATUM"] == "WGS84"
    assert (int(pa["REFLECTIVE_LINES"]), int(pa["REFLECTIVE_SAMPLES"])) == sc.shape
    assert float(pa["GRID_CELL_SIZE_REFLECTIVE"]) == 30.0 and pa["ORIENTATION"] == "NORTH_UP"
    # corners are the centres of the corner pixels
    assert float(pa["CORNER_UL_PROJECTION_X_PRODUCT"]) == pytest.approx(sc.nominal_transform.c + 15)
    assert float(pa["CORNER_LR_PROJECTION_Y_PRODUCT"]) == pytest.approx(
        sc.nominal_transform.f - 30 * sc.shape[0] + 15
    )
    for n in range(1, 12):
        assert float(rr[f"RADIANCE_MULT_BAND_{n}"]) == sc.rescaling.radiance_mult[n]
        assert float(rr[f"RADIANCE_ADD_BAND_{n}"]) == sc.rescaling.radiance_add[n]
    for n in range(1, 10):
        assert float(rr[f"REFLECTANCE_MULT_BAND_{n}"]) == 2.0e-5
        assert float(rr[f"REFLECTANCE_ADD_BAND_{n}"]) == -0.1
    assert (
        float(tc["K1_CONSTANT_BAND_10"]) == 774.8853
        and float(tc["K2_CONSTANT_BAND_10"]) == 1321.0789
    )
    assert rr["RADIANCE_MULT_BAND_4"] == f"{sc.rescaling.radiance_mult[4]:.4E}"


REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
REAL_MTL = REALDATA / "landsat8_mtl" / "torchgeo_LC08_L2SP_023032_20210622_20210629_02_T1_MTL.txt"


def decimals(value: str) -> tuple[int, bool]:
    """Digits after the decimal point and whether an exponent is written."""
    mantissa = value.split("E")[0]
    return (len(mantissa.split(".")[1]) if "." in mantissa else 0, "E" in value)


def test_mtl_keys_and_number_formats_match_a_real_collection2_file(state, scenes, tmp_path):
    if not REAL_MTL.is_file():
        pytest.skip(f"real Collection 2 MTL sample not found at {REAL_MTL}")
    real = parse_odl(REAL_MTL.read_text())
    sc = scenes[0]
    write_landsat_scene(state, sc, tmp_path)
    ours = parse_odl(layout.landsat_mtl_path(tmp_path, sc.acquisition.scene_id).read_text())
    assert list(ours) == [g for g in real if g in ours]  # same groups, same order
    for group in (
        "IMAGE_ATTRIBUTES",
        "PROJECTION_ATTRIBUTES",
        "LEVEL1_MIN_MAX_RADIANCE",
        "LEVEL1_MIN_MAX_REFLECTANCE",
        "LEVEL1_MIN_MAX_PIXEL_VALUE",
        "LEVEL1_RADIOMETRIC_RESCALING",
        "LEVEL1_THERMAL_CONSTANTS",
        "LEVEL1_PROJECTION_PARAMETERS",
    ):
        assert set(ours[group]) <= set(real[group]), group
        for key, value in ours[group].items():
            assert decimals(value) == decimals(real[group][key]), (group, key, value)
    level1_files = {k for k in real["LEVEL1_PROCESSING_RECORD"] if k.startswith("FILE_NAME_BAND_")}
    assert {k for k in ours["PRODUCT_CONTENTS"] if k.startswith("FILE_NAME_BAND_")} <= level1_files
