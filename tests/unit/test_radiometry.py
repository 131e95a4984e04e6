"""Known-answer tests of Landsat 8 radiometry and the dark-object atmospheric correction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from coexplore.errors import DataError
from coexplore.io.landsat import Mtl, read_landsat_scene
from coexplore.preprocess import atmosphere
from coexplore.preprocess.radiometry import (
    FALLBACK_TAU550,
    MAX_DARK_OBJECT_TAU550,
    MIN_WATER_PIXELS,
    atmospheric_correction,
    brightness_temperature,
    dark_object_pixels,
    dark_object_tau550,
    dn_to_radiance,
    estimate_tau550,
    qa_clear_mask,
    qa_flag,
    toa_reflectance,
)
from coexplore.sensors import Landsat8

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def make_mtl(sun_elevation: float = 50.0, earth_sun_distance: float = 1.0) -> Mtl:
    return Mtl(
        path=Path("test_MTL.txt"),
        layout="collection2",
        product_id="LC08_L1TP_123032_20210622_20210629_02_T1",
        date_acquired=datetime(2021, 6, 22, 3, 0, 0),
        sun_elevation=sun_elevation,
        sun_azimuth=130.0,
        earth_sun_distance=earth_sun_distance,
        utm_zone=50,
        cloud_cover=0.0,
        radiance_mult={},
        radiance_add={},
        reflectance_mult={},
        reflectance_add={},
        k1=774.8853,
        k2=1321.0789,
    )


def test_dn_to_radiance_known_values():
    dn = np.array([0, 1, 10000, 65535], dtype=np.uint16)
    out = dn_to_radiance(dn, 0.01, -50.0)
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [-49.99, 50.0, 605.35], rtol=1e-6)
    assert out.dtype == np.float32
    kept = dn_to_radiance(dn, 0.01, -50.0, fill_value=None)
    assert kept[0] == pytest.approx(-50.0)


def test_toa_reflectance_usgs_formula():
    dn = np.array([20000, 0], dtype=np.uint16)
    # rho' = 2e-5 * 20000 - 0.1 = 0.3; sin(30 deg) = 0.5
    out = toa_reflectance(dn, 2e-5, -0.1, 30.0)
    assert out[0] == pytest.approx(0.6, rel=1e-6)
    assert np.isnan(out[1])
    assert toa_reflectance(dn[:1], 2e-5, -0.1, 90.0)[0] == pytest.approx(0.3, rel=1e-6)


def test_toa_reflectance_rejects_sun_below_horizon():
    with pytest.raises(DataError, match="sun elevation -5"):
        toa_reflectance(np.array([1]), 2e-5, -0.1, -5.0)


def test_brightness_temperature_known_value_and_inverse():
    # K2 / ln(K1 / 10 + 1) with the band-10 constants of the real MTLs
    t = brightness_temperature(np.array([10.0, 0.0]), 774.8853, 1321.0789)
    assert t[0] == pytest.approx(302.79470156, abs=1e-4)
    assert np.isnan(t[1])
    temps = np.array([250.0, 290.0, 320.0])
    radiance = 774.8853 / (np.exp(1321.0789 / temps) - 1.0)
    np.testing.assert_allclose(
        brightness_temperature(radiance, 774.8853, 1321.0789), temps, atol=1e-3
    )


def test_qa_collection2_bits():
    clear = 1 << 6
    qa = np.array([clear, 1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, clear | (1 << 7)])
    np.testing.assert_array_equal(
        qa_clear_mask(qa), [True, False, False, False, False, False, False, True]
    )
    np.testing.assert_array_equal(
        qa_clear_mask(qa, exclude=("cloud",)), [True, True, True, True, False, True, True, True]
    )
    np.testing.assert_array_equal(qa_flag(qa, "water"), [0, 0, 0, 0, 0, 0, 0, 1])


def test_qa_pre_collection_bqa_values_of_the_real_crop():
    # values that occur in the real 2015 BQA: cloud/cirrus confidence in bits 14-15 / 12-13
    qa = np.array([20480, 61440, 53248, 36864, 28672, 23552, 1], dtype=np.uint16)
    assert qa_flag(qa, "cloud", layout="pre-collection").tolist() == [
        False,  # cloud low
        True,  # cloud high
        True,  # cloud high
        False,  # cloud medium: not counted
        False,
        False,
        False,
    ]
    assert qa_flag(qa, "cirrus", layout="pre-collection")[[1, 4]].tolist() == [True, True]
    assert qa_flag(qa, "snow", layout="pre-collection")[5]
    assert qa_flag(qa, "fill", layout="pre-collection")[6]
    # no cloud-shadow flag in that layout: ignored
    assert not qa_flag(qa, "cloud_shadow", layout="pre-collection").any()
    np.testing.assert_array_equal(
        qa_clear_mask(qa, layout="pre-collection"), [True, False, False, True, False, False, False]
    )


def test_qa_collection1_bits():
    qa = np.array([0, 1 << 4, 3 << 7, 1 << 7, 3 << 11], dtype=np.uint16)
    np.testing.assert_array_equal(
        qa_clear_mask(qa, layout="collection1"), [True, False, False, True, False]
    )


def test_qa_unknown_layout_and_flag():
    with pytest.raises(DataError, match="unknown QA layout 'collection3'"):
        qa_flag(np.zeros(2, dtype=np.uint16), "cloud", layout="collection3")
    with pytest.raises(DataError, match="unknown QA flag 'haze'"):
        qa_clear_mask(np.zeros(2, dtype=np.uint16), exclude=("haze",))


SPECTRA = {
    # coastal, blue, green, red, nir, swir1, swir2
    "water": (0.03, 0.035, 0.03, 0.015, 0.008, 0.003, 0.002),
    "vegetation": (0.03, 0.04, 0.08, 0.04, 0.35, 0.18, 0.08),
    "bare": (0.10, 0.12, 0.16, 0.20, 0.26, 0.33, 0.28),
    "mining": (0.18, 0.20, 0.25, 0.30, 0.34, 0.40, 0.36),
}


def reflectance_scene(seed: int = 0) -> dict[str, np.ndarray]:
    """64x64 reflectance field: four class blocks with 5 % texture; water top-left."""
    rng = np.random.default_rng(seed)
    classes = np.empty((64, 64), dtype=object)
    classes[:32, :32], classes[:32, 32:] = "water", "vegetation"
    classes[32:, :32], classes[32:, 32:] = "bare", "mining"
    texture = 1.0 + 0.05 * rng.standard_normal((64, 64))
    out = {}
    for i, band in enumerate(Landsat8.reflective):
        base = np.vectorize(lambda c, i=i: SPECTRA[c][i])(classes).astype(float)
        out[band] = np.where(classes == "water", base, base * texture)
    return out


@pytest.mark.parametrize("tau_true", [0.1, 0.3, 0.6])
def test_atmospheric_correction_recovers_tau_and_reflectance(tau_true):
    mtl = make_mtl(sun_elevation=50.0, earth_sun_distance=1.0152)
    rho = reflectance_scene()
    radiance = {
        b: atmosphere.at_sensor_radiance(
            rho[b],
            Landsat8.wavelength_um[b],
            Landsat8.esun[b],
            tau_true,
            mtl.mu_s,
            mtl.earth_sun_distance,
        )
        for b in Landsat8.reflective
    }
    valid = np.ones((64, 64), dtype=bool)
    tau = estimate_tau550(radiance, valid, mtl)
    assert tau == pytest.approx(tau_true, abs=0.1)
    refl, info = atmospheric_correction(radiance, mtl, valid)
    assert info["tau550"] == pytest.approx(tau)
    assert set(info["tau550_by_band"]) == {"red", "nir"}
    assert info["dark_object_source"] == "scene"
    mae = np.mean([np.mean(np.abs(refl[b] - rho[b])) for b in Landsat8.reflective])
    assert mae < 0.02
    # water is recovered as dark water
    assert np.mean(refl["nir"][:32, :32]) == pytest.approx(0.008, abs=0.01)
    # with the true tau the inversion is exact
    exact, _ = atmospheric_correction(radiance, mtl, valid, tau550=tau_true)
    for b in Landsat8.reflective:
        np.testing.assert_allclose(exact[b], rho[b], atol=1e-5)


def test_dark_object_per_band_estimates_bracket_the_truth():
    # red water (0.015) is brighter than the assumed 0.01 -> tau too high;
    # nir water (0.008) darker -> tau too low: their mean is closer than either
    mtl = make_mtl(sun_elevation=45.0)
    rho = reflectance_scene(seed=3)
    radiance = {
        b: atmosphere.at_sensor_radiance(
            rho[b], Landsat8.wavelength_um[b], Landsat8.esun[b], 0.3, mtl.mu_s, 1.0
        )
        for b in ("red", "nir")
    }
    per_band = dark_object_tau550(radiance, np.ones((64, 64), bool), mtl)
    assert per_band["red"]["tau550"] > 0.3 > per_band["nir"]["tau550"]
    mean = np.mean([v["tau550"] for v in per_band.values()])
    assert abs(mean - 0.3) < min(abs(v["tau550"] - 0.3) for v in per_band.values())
    # a dark-object reflectance equal to the truth in one band makes it exact
    exact = dark_object_tau550(
        radiance,
        np.ones((64, 64), bool),
        mtl,
        dark_reflectance={"red": 0.015, "nir": 0.008},
        percentile=0.0,
    )
    assert exact["red"]["tau550"] == pytest.approx(0.3, abs=1e-3)
    assert exact["nir"]["tau550"] == pytest.approx(0.3, abs=1e-3)


def test_water_mask_dark_object_ignores_shore_pixels():
    # a lake whose shore ring is half land (bright in the NIR), flagged water too
    mtl = make_mtl(sun_elevation=40.0)
    rho = {"red": np.full((40, 40), 0.05), "nir": np.full((40, 40), 0.30)}
    water = np.zeros((40, 40), bool)
    water[10:30, 10:30] = True
    core = np.zeros_like(water)
    core[11:29, 11:29] = True
    rho["red"][water], rho["nir"][water] = 0.0325, 0.154  # shore ring: half land
    rho["red"][core], rho["nir"][core] = 0.015, 0.008
    radiance = {
        b: atmosphere.at_sensor_radiance(
            rho[b], Landsat8.wavelength_um[b], Landsat8.esun[b], 0.3, mtl.mu_s, 1.0
        )
        for b in rho
    }
    valid = np.ones((40, 40), bool)
    pixels, source = dark_object_pixels(valid, water_mask=water)
    assert source == "water"
    np.testing.assert_array_equal(pixels, core)
    per_band = dark_object_tau550(radiance, valid, mtl, water_mask=water)
    assert per_band["red"]["n_pixels"] == core.sum()
    tau = estimate_tau550(radiance, valid, mtl, water_mask=water)
    assert tau == pytest.approx(0.3, abs=0.1)
    _, info = atmospheric_correction(radiance, mtl, valid, water_mask=water)
    assert info["dark_object_source"] == "water" and info["tau550"] == pytest.approx(tau)
    # too little water (fewer than MIN_WATER_PIXELS core pixels): whole-scene percentile
    small = np.zeros_like(water)
    small[5:8, 5:8] = True
    assert MIN_WATER_PIXELS > 1
    assert dark_object_pixels(valid, water_mask=small)[1] == "scene"


def test_scene_without_dark_object_falls_back():
    # no water: the darkest NIR pixels are vegetation (0.35), which no
    # plausible atmosphere over a 0.01 surface explains
    mtl = make_mtl(sun_elevation=55.0)
    rho = {"red": np.full((16, 16), 0.04), "nir": np.full((16, 16), 0.35)}
    radiance = {
        b: atmosphere.at_sensor_radiance(
            rho[b], Landsat8.wavelength_um[b], Landsat8.esun[b], 0.4, mtl.mu_s, 1.0
        )
        for b in rho
    }
    valid = np.ones((16, 16), bool)
    per_band = dark_object_tau550(radiance, valid, mtl, bands=("red", "nir"))
    assert per_band["nir"]["tau550"] > MAX_DARK_OBJECT_TAU550
    assert estimate_tau550(radiance, valid, mtl) == FALLBACK_TAU550
    assert estimate_tau550(radiance, valid, mtl, fallback_tau550=0.3) == 0.3
    _, info = atmospheric_correction(radiance, mtl, valid)
    assert info["dark_object_source"] == "fallback" and info["tau550"] == FALLBACK_TAU550


def test_atmospheric_correction_masks_invalid_pixels():
    mtl = make_mtl()
    rho = reflectance_scene()
    radiance = {
        b: atmosphere.at_sensor_radiance(
            rho[b], Landsat8.wavelength_um[b], Landsat8.esun[b], 0.2, mtl.mu_s, 1.0
        )
        for b in Landsat8.reflective
    }
    valid = np.ones((64, 64), dtype=bool)
    valid[40:50, 40:50] = False
    refl, _ = atmospheric_correction(radiance, mtl, valid)
    assert np.isnan(refl["red"][40:50, 40:50]).all()
    assert np.isfinite(refl["red"][valid]).all()


def test_atmospheric_correction_errors():
    mtl = make_mtl()
    lum = np.full((4, 4), 50.0)
    with pytest.raises(DataError, match="band 'tir' has no solar irradiance"):
        atmospheric_correction({"red": lum, "tir": lum}, mtl, np.ones((4, 4), bool))
    with pytest.raises(DataError, match="band 'red' has no valid pixel"):
        estimate_tau550({"red": lum, "nir": lum}, np.zeros((4, 4), bool), mtl)
    with pytest.raises(DataError, match="dark-object band 'nir' not among"):
        estimate_tau550({"red": lum}, np.ones((4, 4), bool), mtl)


@pytest.mark.realdata
def test_real_crop_radiance_and_toa_reflectance_are_plausible():
    folder = REALDATA / "landsat8_l1"
    if not folder.is_dir():
        pytest.skip(f"real sample data not found at {folder}")
    scene = read_landsat_scene(folder)
    mtl = scene.mtl
    clear = qa_clear_mask(scene.qa, layout=scene.qa_layout)
    assert 0.05 < clear.mean() < 0.95  # a cloudy scene with clear parts
    for name in Landsat8.reflective:
        n = Landsat8.bands[name]
        lum = dn_to_radiance(scene.dn[name], mtl.radiance_mult[n], mtl.radiance_add[n])
        rho = toa_reflectance(
            scene.dn[name], mtl.reflectance_mult[n], mtl.reflectance_add[n], mtl.sun_elevation
        )
        assert np.nanmin(lum) > mtl.radiance_add[n]
        assert 0.0 < np.nanmedian(lum[clear]) < 600.0
        assert -0.05 < np.nanpercentile(rho[clear], 1) and np.nanpercentile(rho[clear], 99) < 1.2
        assert 0.0 < np.nanmedian(rho[clear]) < 0.5
    # clouds are bright in the blue band
    blue = toa_reflectance(
        scene.dn["blue"], mtl.reflectance_mult[2], mtl.reflectance_add[2], mtl.sun_elevation
    )
    cloudy = qa_flag(scene.qa, "cloud", layout=scene.qa_layout)
    assert np.nanmedian(blue[cloudy]) > 1.5 * np.nanmedian(blue[clear])
    tir = dn_to_radiance(scene.dn["tir"], mtl.radiance_mult[10], mtl.radiance_add[10])
    bt = brightness_temperature(tir, mtl.k1, mtl.k2)
    # August on the Gulf coast: warm surfaces, colder cloud tops
    assert 285.0 < np.nanmedian(bt[clear]) < 320.0
    assert np.nanmedian(bt[cloudy]) < np.nanmedian(bt[clear])
    reflectance, info = atmospheric_correction(
        {
            b: dn_to_radiance(
                scene.dn[b],
                mtl.radiance_mult[Landsat8.bands[b]],
                mtl.radiance_add[Landsat8.bands[b]],
            )
            for b in Landsat8.reflective
        },
        mtl,
        clear,
    )
    # the crop holds no water (the darkest NIR pixels are land at TOA 0.06):
    # the dark-object estimate is rejected and the fallback used
    assert info["tau550_by_band"]["nir"] > MAX_DARK_OBJECT_TAU550
    assert info["dark_object_source"] == "fallback" and info["tau550"] == FALLBACK_TAU550
    assert 0.0 < np.nanmedian(reflectance["nir"]) < 0.6
