"""Workflow steps of the exploration products on a small constructed study
area: outputs exist with their bands, units and known areas; bad input raises
a specific error and leaves no output behind."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
import xarray as xr
from pyproj import Transformer

from coexplore.errors import ConfigError, DataError, InputError
from coexplore.grid import Grid
from coexplore.io.cubes import to_dataset, write_cube
from coexplore.io.rasters import write_geotiff
from coexplore.io.vector import read_gpkg
from coexplore.preprocess.meteo import quality_control
from coexplore.products.renewables import FlatTerrainWarning
from coexplore.sensors import Landsat8, Meteo, Sentinel1
from coexplore.steps.products import (
    annual_mean_climatology,
    change_pairs,
    product_targets,
    read_named_band,
    standardise_bands,
    station_weibull,
    step_assess_impact,
    step_detect_change,
    step_export_change_map,
    step_find_conflicts,
    step_map_prospectivity,
    step_map_renewables,
)

torch.set_num_threads(1)

CRS = "EPSG:32650"
N = 32
GRID = Grid.from_bounds(CRS, (500000, 4400000, 500000 + 10 * N, 4400000 + 10 * N), 10)
YEARS = (2021, 2022)
TIMES = pd.date_range("2021-01-01", "2022-12-01", freq="MS")
AREA = {
    "seed": 3,
    "grid": {"crs": CRS, "resolution": 10, "extent": list(GRID.bounds)},
    "time": {"start": "2021-01-01", "end": "2022-12-31", "freq": "MS"},
    "sources": ["landsat8", "sentinel1", "meteo"],
}
SPLIT = {"block_size": 8, "split_fractions": [0.6, 0.2, 0.2]}
CHANGE_CFG = {
    "pairs": None,
    "sources": ["landsat8", "sentinel1"],
    "bands": {"landsat8": ["blue", "green", "red", "nir", "swir1", "swir2"], "sentinel1": ["vv"]},
    "composite": "median",
    "truth_classes": ["mining", "reclaimed"],
    "threshold": 0.5,
    "net": {"width": 4, "depth": 1, "patch": 16, "epochs": 2, "batch_size": 8},
}
PROSPECTIVITY_CFG = {
    "year": None,
    "months": None,
    "lithology_weights": {
        "granite": 0.7,
        "sandstone": 0.3,
        "limestone": 0.8,
        "schist": 0.6,
        "alluvium": 0.1,
    },
    "evidence_weights": None,
    "fault_decay_m": 100.0,
    "method": "weighted",
    "gamma": 0.9,
    "top_fraction": 0.1,
}
RENEWABLES_CFG = {
    "excluded_classes": ["water", "built_up", "mining"],
    "solar": {"albedo": 0.2, "max_slope_deg": 30.0},
    "wind": {
        "hub_height": 100.0,
        "ref_height": 10.0,
        "profile": "log",
        "max_slope_deg": 20.0,
        "weibull_method": "mle",
        "min_station_days": 30,
    },
}
CONFLICTS_CFG = {
    "resources": ["solar", "wind"],
    "top_prospectivity": 20.0,
    "top_solar": 30.0,
    "top_wind": 30.0,
    "min_pixels": 2,
}
IMPACT_CFG = {"rings": [[0, 30], [30, 80]], "water_buffer_m": 100.0}

# reflectance per class: coastal, blue, green, red, nir, swir1, swir2 (then tir in K)
SPECTRA = {
    1: (0.04, 0.04, 0.08, 0.05, 0.35, 0.18, 0.09),
    2: (0.07, 0.06, 0.05, 0.03, 0.02, 0.01, 0.005),
    3: (0.11, 0.12, 0.13, 0.14, 0.20, 0.25, 0.22),
    4: (0.09, 0.10, 0.14, 0.18, 0.25, 0.32, 0.28),
    5: (0.14, 0.15, 0.18, 0.22, 0.28, 0.38, 0.30),
    6: (0.05, 0.06, 0.10, 0.09, 0.25, 0.22, 0.14),
}
SIGMA0 = {1: (-10.0, -16.0), 2: (-22.0, -28.0), 3: (-4.0, -10.0), 4: (-13.0, -20.0),
          5: (-7.0, -13.0), 6: (-11.0, -17.0)}  # fmt: skip


def landuse(year: int, *, predicted: bool = False) -> np.ndarray:
    """Vegetation with a lake, a town, bare land, a growing pit and reclaimed land."""
    lu = np.ones((N, N), np.uint8)
    lu[0:6, 0:8] = 2
    lu[28:32, 0:6] = 3
    lu[26:32, 24:32] = 4
    if year == 2021:
        lu[12:20, 12:20] = 5
        lu[20:24, 12:16] = 6
    else:
        lu[10:22, 10 : 21 if predicted else 22] = 5
        lu[22:26, 12:16] = 6
    return lu


def _station_table(seed: int, *, days: int = 730) -> pd.DataFrame:
    """Two stations (one inside the grid, one 5 km east), Weibull(k=2, c=5) daily wind."""
    rng = np.random.default_rng(seed)
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    rows = []
    for sid, (x, y) in {"IN": (500160.0, 4400160.0), "OUT": (505000.0, 4400160.0)}.items():
        lon, lat = to_wgs.transform(x, y)
        t = pd.date_range("2021-01-01", periods=days, freq="D")
        doy = t.day_of_year.to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "station_id": sid,
                    "lon": lon,
                    "lat": lat,
                    "elevation": 520.0,
                    "time": t,
                    "temperature": 10 - 12 * np.cos(2 * np.pi * doy / 365) + rng.normal(0, 1, days),
                    "relative_humidity": 50 + rng.normal(0, 5, days),
                    "wind_speed": np.round(5.0 * rng.weibull(2.0, days), 2),
                    "solar_irradiance": 180
                    - 80 * np.cos(2 * np.pi * doy / 365)
                    + rng.normal(0, 10, days),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)[list(Meteo.columns)]


def _write_class_map(path: Path, arr: np.ndarray) -> Path:
    return write_geotiff(path, arr, transform=GRID.transform, crs=GRID.crs, nodata=0)


def _build_area(root: Path) -> dict[str, object]:
    rng = np.random.default_rng(11)
    rows, cols = np.mgrid[0:N, 0:N]
    ore = np.zeros((N, N), np.uint8)
    ore[3:8, 22:28] = 1
    alteration = np.exp(-np.hypot(rows - 5, cols - 25) / 3.0)

    # landsat8: (time, band, y, x), alteration lowers swir2 and blue over the ore
    ls = np.zeros((len(TIMES), 8, N, N), np.float32)
    for ti, t in enumerate(TIMES):
        lu = landuse(t.year)
        season = np.sin(2 * np.pi * (t.month - 4) / 12)
        for code, spectrum in SPECTRA.items():
            m = lu == code
            for bi, value in enumerate(spectrum):
                v = value * (1 + 0.15 * season) if (code == 1 and bi == 4) else value
                ls[ti, bi][m] = v
        ls[ti, 6] *= 1 - 0.5 * alteration
        ls[ti, 1] *= 1 - 0.4 * alteration
        ls[ti, :7] += rng.normal(0, 0.004, (7, N, N))
        ls[ti, 7] = 285 + 10 * season + rng.normal(0, 0.5, (N, N))
    landsat = to_dataset(
        ls, grid=GRID, bands=list(Landsat8.bands), times=TIMES, filled=np.zeros(ls.shape, bool)
    )
    landsat["clear_fraction"] = (("y", "x"), (0.6 + 0.3 * cols / (N - 1)).astype(np.float32))
    write_cube(landsat, root / "cubes" / "landsat8.zarr")
    no_clear = landsat.drop_vars("clear_fraction")
    write_cube(no_clear, root / "cubes" / "landsat8_noclear.zarr")

    s1 = np.zeros((len(TIMES), 2, N, N), np.float32)
    for ti, t in enumerate(TIMES):
        lu = landuse(t.year)
        for code, (vv, vh) in SIGMA0.items():
            s1[ti, 0][lu == code] = vv
            s1[ti, 1][lu == code] = vh
        s1[ti] += rng.normal(0, 0.5, (2, N, N))
    write_cube(
        to_dataset(s1, grid=GRID, bands=list(Sentinel1.bands), times=TIMES),
        root / "cubes" / "sentinel1.zarr",
    )

    met = np.zeros((len(TIMES), 4, N, N), np.float32)
    for ti, t in enumerate(TIMES):
        season = -np.cos(2 * np.pi * (t.month - 0.5) / 12)
        met[ti, 0] = 10 + 12 * season
        met[ti, 1] = 50
        met[ti, 2] = 4.0 + 0.5 * cols / (N - 1)
        met[ti, 3] = 180 + 80 * season
    write_cube(
        to_dataset(met, grid=GRID, bands=list(Meteo.variables), times=TIMES),
        root / "cubes" / "meteo.zarr",
    )

    # DEM: a gentle south-facing slope, steep in the east (excluded)
    dem = 500.0 + 2.0 * (N - 1 - rows) + np.where(cols >= 28, 12.0 * (cols - 27), 0.0)
    write_cube(
        to_dataset(dem[None].astype(np.float32), grid=GRID, bands=["elevation"]),
        root / "cubes" / "dem.zarr",
    )
    lith = np.select([cols < 8, cols < 16, cols < 20, cols < 30], [2, 4, 1, 3], 5)
    fault = (cols == 24).astype(np.float32)
    write_cube(
        to_dataset(
            np.stack([lith, fault]).astype(np.float32), grid=GRID, bands=["lithology", "fault"]
        ),
        root / "cubes" / "geology.zarr",
    )
    truth = {y: _write_class_map(root / "truth" / f"landuse_{y}.tif", landuse(y)) for y in YEARS}
    maps = {
        y: _write_class_map(root / "maps" / f"landuse_{y}.tif", landuse(y, predicted=True))
        for y in YEARS
    }
    ore_path = _write_class_map(root / "truth" / "ore_zone.tif", ore)
    stations = root / "meteo" / "stations.csv"
    stations.parent.mkdir(parents=True)
    _station_table(5).to_csv(stations, index=False, date_format="%Y-%m-%d")
    short = root / "meteo" / "short.csv"
    _station_table(6, days=20).to_csv(short, index=False, date_format="%Y-%m-%d")
    return {
        "landsat8": root / "cubes" / "landsat8.zarr",
        "landsat8_noclear": root / "cubes" / "landsat8_noclear.zarr",
        "sentinel1": root / "cubes" / "sentinel1.zarr",
        "meteo": root / "cubes" / "meteo.zarr",
        "dem": root / "cubes" / "dem.zarr",
        "geology": root / "cubes" / "geology.zarr",
        "truth": truth,
        "maps": maps,
        "ore": ore_path,
        "stations": stations,
        "short_stations": short,
    }


@pytest.fixture(scope="module")
def area(tmp_path_factory) -> dict[str, object]:
    return _build_area(tmp_path_factory.mktemp("area"))


@pytest.fixture(scope="module")
def products(area, tmp_path_factory) -> dict[str, Path]:
    """Prospectivity and renewables of the area, the inputs of the conflict step."""
    out = tmp_path_factory.mktemp("products")
    paths = {
        "prospectivity": out / "prospectivity.tif",
        "evaluation": out / "prospectivity_evaluation.json",
        "success": out / "success_rate.csv",
        "solar": out / "solar.tif",
        "wind": out / "wind.tif",
        "exclusion": out / "exclusion.tif",
        "stations": out / "wind_stations.csv",
    }
    step_map_prospectivity(
        area["landsat8"],
        area["geology"],
        area["ore"],
        area=AREA,
        cfg=PROSPECTIVITY_CFG,
        out_map=paths["prospectivity"],
        out_evaluation=paths["evaluation"],
        out_success=paths["success"],
    )
    step_map_renewables(
        area["meteo"],
        area["landsat8"],
        area["maps"][2022],
        area["stations"],
        dem_path=area["dem"],
        area=AREA,
        cfg=RENEWABLES_CFG,
        out_solar=paths["solar"],
        out_wind=paths["wind"],
        out_exclusion=paths["exclusion"],
        out_stations=paths["stations"],
    )
    return paths


def _assert_empty(folder: Path) -> None:
    assert not folder.exists() or list(folder.rglob("*")) == []


def _bands(path: Path) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray, float | None]:
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        return src.descriptions, src.units, src.read(), src.nodata


# --------------------------------------------------------------------------- helpers


def test_change_pairs_default_explicit_and_errors() -> None:
    assert change_pairs([2021, 2019, 2020]) == [(2019, 2020), (2020, 2021), (2019, 2021)]
    assert change_pairs([2021, 2022]) == [(2021, 2022)]
    assert change_pairs([2019, 2020, 2021], [[2019, 2021]]) == [(2019, 2021)]
    with pytest.raises(DataError, match="at least 2 years"):
        change_pairs([2022])
    with pytest.raises(ConfigError, match=r"pairs entry \[2021, 2019\]"):
        change_pairs([2019, 2020, 2021], [[2021, 2019]])
    with pytest.raises(ConfigError, match=r"study years \[2019, 2020\]"):
        change_pairs([2019, 2020], [[2019, 2023]])


def test_product_targets_follow_sources_and_years() -> None:
    cfg = {"change": {"pairs": None}}
    full = product_targets("a", AREA, cfg)
    assert "results/a/products/change/change_2021_2022.tif" in full
    assert {"results/a/products/conflicts.gpkg", "results/a/products/impact_water.csv"} <= set(full)
    no_meteo = product_targets("a", {**AREA, "sources": ["landsat8"]}, cfg)
    assert "results/a/products/prospectivity.tif" in no_meteo
    assert not any(t.endswith(("solar.tif", "conflicts.csv")) for t in no_meteo)
    one_year = {**AREA, "time": {"start": "2022-01-01", "end": "2022-12-31"}}
    single = product_targets("a", one_year, cfg)  # detect_change still runs, and explains
    assert "results/a/products/change/metrics.csv" in single
    assert not any("change_20" in t for t in single)
    assert product_targets("a", {**AREA, "sources": ["sentinel1"]}, cfg) == []
    with pytest.raises(ConfigError, match="products.change.pairs entry"):
        product_targets("a", AREA, {"change": {"pairs": [[2020, 2022]]}})


def test_standardise_bands_known_answer() -> None:
    vals = np.array([[1.0, 3.0], [5.0, 7.0]])  # mean 4, population std sqrt(5)
    comp = xr.DataArray(
        np.stack([np.stack([vals, np.full((2, 2), 2.0)])] * 2),
        dims=("year", "band", "y", "x"),
        coords={"year": [2021, 2022], "band": ["a", "const"]},
    )
    z = standardise_bands(comp)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.sel(year=2021, band="a"), (vals - 4.0) / np.sqrt(5.0), rtol=1e-6)
    np.testing.assert_array_equal(z.sel(band="const"), 0.0)  # constant band: centred only


def test_annual_mean_climatology_weights_days_and_warns(caplog) -> None:
    # value = month number, 15 months (Jan-Mar twice): the per-month mean is still m
    times = pd.date_range("2021-01-01", "2022-03-01", freq="MS")
    da = xr.DataArray(
        np.broadcast_to(times.month.to_numpy()[:, None, None], (len(times), 2, 3)).astype(float),
        dims=("time", "y", "x"),
        coords={"time": times},
    )
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    expected = float(np.sum(np.arange(1, 13) * days) / 365.0)
    np.testing.assert_allclose(annual_mean_climatology(da), expected)
    with caplog.at_level(logging.WARNING):
        part = annual_mean_climatology(da.isel(time=slice(0, 3)))
    np.testing.assert_allclose(part, (1 * 31 + 2 * 28 + 3 * 31) / 90.0)
    assert "months [1, 2, 3] only" in caplog.text


def test_station_weibull_recovers_shape_and_warns_outside(caplog) -> None:
    clean, _ = quality_control(_station_table(1, days=1500))
    with caplog.at_level(logging.WARNING):
        fits = station_weibull(clean, GRID, method="mle", min_days=30)
    assert fits.set_index("station_id")["inside_grid"].to_dict() == {"IN": True, "OUT": False}
    assert fits["used"].all()
    np.testing.assert_allclose(fits["weibull_k"], 2.0, atol=0.15)
    np.testing.assert_allclose(fits["weibull_c"], 5.0, atol=0.25)
    assert "OUT lie outside the grid" in caplog.text
    with pytest.raises(DataError, match="no station has 5000 positive daily wind speeds"):
        station_weibull(clean, GRID, min_days=5000)


# --------------------------------------------------------------------------- change


def test_detect_change_writes_store_metrics_disturbance_and_maps(area, tmp_path) -> None:
    out = tmp_path / "change"
    metrics = step_detect_change(
        {"landsat8": area["landsat8"], "sentinel1": area["sentinel1"]},
        area["truth"],
        area["maps"],
        area=AREA,
        cfg=CHANGE_CFG,
        split_cfg=SPLIT,
        out_maps=out / "change_maps.zarr",
        out_metrics=out / "metrics.csv",
        out_disturbance=out / "disturbance.csv",
    )
    table = pd.read_csv(out / "metrics.csv")
    assert set(table["method"]) == {"cva_otsu", "siamese_fft"} and len(metrics) == 2
    assert {"precision", "recall", "f1", "iou", "n_test"} <= set(table.columns)
    assert table[["f1", "iou"]].apply(lambda c: c.between(0, 1)).all().all()
    assert "sentinel1_vv" in table["bands"].iloc[0] and "sentinel1_vh" not in table["bands"].iloc[0]
    # the pit grows from 8x8 to 12x12 (truth) / 12x11 (predicted); 8 more reclaimed pixels
    dist = pd.read_csv(out / "disturbance.csv").iloc[0]
    assert dist["disturbed_ha_truth"] == pytest.approx(0.80)
    assert dist["disturbed_ha_predicted"] == pytest.approx(0.68)
    assert dist["reclaimed_ha_truth"] == pytest.approx(0.08)
    assert dist["mining_ha_predicted"] == pytest.approx(1.32)

    tif = step_export_change_map(
        out / "change_maps.zarr", year_from=2021, year_to=2022, area=AREA, out=out / "c.tif"
    )
    names, units, data, nodata = _bands(tif)
    assert names == ("cva_magnitude", "cva_change", "net_probability", "net_change")
    assert units == ("standard deviations", "1", "probability", "1")
    assert np.isnan(nodata) and data.shape == (4, N, N)
    assert set(np.unique(data[1])) <= {0.0, 1.0} and (data[2] >= 0).all() and (data[2] <= 1).all()
    with pytest.raises(InputError, match="not 2021-2023"):
        step_export_change_map(
            out / "change_maps.zarr",
            year_from=2021,
            year_to=2023,
            area=AREA,
            out=tmp_path / "x.tif",
        )
    assert not (tmp_path / "x.tif").exists()


def test_detect_change_single_year_raises_and_writes_nothing(area, tmp_path) -> None:
    out = tmp_path / "change"
    kwargs = {
        "area": AREA,
        "cfg": CHANGE_CFG,
        "split_cfg": SPLIT,
        "out_maps": out / "change_maps.zarr",
        "out_metrics": out / "metrics.csv",
        "out_disturbance": out / "disturbance.csv",
    }
    one = {2022: area["truth"][2022]}
    with pytest.raises(DataError, match="change detection needs at least 2 years, got \\[2022\\]"):
        step_detect_change({"landsat8": area["landsat8"]}, one, area["maps"], **kwargs)
    with pytest.raises(InputError, match="cube has no band"):
        step_detect_change({"landsat8": area["sentinel1"]}, area["truth"], area["maps"], **kwargs)
    with pytest.raises(ConfigError, match="source 'drone' is not supported"):
        step_detect_change({"drone": area["landsat8"]}, area["truth"], area["maps"], **kwargs)
    _assert_empty(out)


# --------------------------------------------------------------------------- prospectivity


def test_map_prospectivity_outputs_and_evaluation(products) -> None:
    names, units, data, nodata = _bands(products["prospectivity"])
    assert names[0] == "prospectivity" and {"lithology", "faults", "hydroxyl_pc"} <= set(names)
    assert set(units) == {"1"} and np.isnan(nodata)
    assert np.nanmin(data[0]) >= 0 and np.nanmax(data[0]) <= 1
    summary = json.loads(products["evaluation"].read_text())
    assert summary["year"] == 2022 and summary["months"] == "all"
    assert summary["n_ore_pixels"] == 30
    assert summary["roc_auc"] > 0.9  # alteration, limestone and the fault all mark the ore
    curve = pd.read_csv(products["success"])
    assert curve["ore_fraction"].iloc[0] == 0 and curve["ore_fraction"].iloc[-1] == 1


def test_map_prospectivity_bad_input_writes_nothing(area, tmp_path) -> None:
    out = tmp_path / "p"
    kwargs = {
        "area": AREA,
        "out_map": out / "prospectivity.tif",
        "out_evaluation": out / "e.json",
        "out_success": out / "s.csv",
    }
    with pytest.raises(DataError, match="no landsat8 time step in 2030"):
        step_map_prospectivity(
            area["landsat8"],
            area["geology"],
            area["ore"],
            cfg={**PROSPECTIVITY_CFG, "year": 2030},
            **kwargs,
        )
    bad = {**PROSPECTIVITY_CFG, "lithology_weights": {"granite": 0.5, "basalt": 0.9}}
    with pytest.raises(ConfigError, match=r"\['basalt'\] are unknown"):
        step_map_prospectivity(area["landsat8"], area["geology"], area["ore"], cfg=bad, **kwargs)
    with pytest.raises(InputError, match="dem.zarr: cube has no band"):
        step_map_prospectivity(
            area["landsat8"], area["dem"], area["ore"], cfg=PROSPECTIVITY_CFG, **kwargs
        )
    _assert_empty(out)


# --------------------------------------------------------------------------- renewables


def test_map_renewables_units_exclusions_and_stations(products) -> None:
    names, units, solar, nodata = _bands(products["solar"])
    assert names == ("ghi_w_m2", "energy_kwh_m2_yr", "energy_resource_kwh_m2_yr")
    assert units == ("W m-2", "kWh m-2 yr-1", "kWh m-2 yr-1") and np.isnan(nodata)
    lu = landuse(2022, predicted=True)
    assert np.isnan(solar[1][lu == 2]).all() and np.isnan(solar[1][:, 29:]).all()
    assert np.isfinite(solar[2]).all()  # the resource layer is unmasked
    ok = np.isfinite(solar[1])
    np.testing.assert_allclose(solar[1][ok], solar[0][ok] * 8.76, rtol=1e-5)
    names, units, wind, _ = _bands(products["wind"])
    assert names == ("speed_hub_m_s", "power_density_w_m2", "power_density_resource_w_m2")
    assert units == ("m s-1", "W m-2", "W m-2")
    # the 10 m wind (4..4.5 m/s) is stronger at 100 m
    assert (wind[0] > 4.0).all() and np.isnan(wind[1][lu == 5]).all()
    names, units, excl, nodata = _bands(products["exclusion"])
    assert names == ("solar_excluded", "wind_excluded") and nodata == 255
    assert excl.dtype == np.uint8 and (excl[:, lu == 3] == 1).all()
    fits = pd.read_csv(products["stations"])
    assert fits["used"].all() and set(fits["station_id"]) == {"IN", "OUT"}
    with rasterio.open(products["wind"]) as src:
        k = float(src.tags()["WEIBULL_K"])
    assert k == pytest.approx(float(fits["weibull_k"].median()), abs=1e-4)


def test_map_renewables_flat_fallback_without_dem(area, tmp_path) -> None:
    out = tmp_path / "r"
    with pytest.warns(FlatTerrainWarning, match="assuming flat terrain"):
        step_map_renewables(
            area["meteo"],
            area["landsat8"],
            area["maps"][2022],
            area["stations"],
            dem_path=None,
            area=AREA,
            cfg=RENEWABLES_CFG,
            out_solar=out / "solar.tif",
            out_wind=out / "wind.tif",
            out_exclusion=out / "exclusion.tif",
            out_stations=out / "stations.csv",
        )
    with rasterio.open(out / "solar.tif") as src:
        assert src.tags()["flat_terrain_fallback"] == "1"
        energy = src.read(2)
    assert np.isfinite(energy[:, 29:]).any()  # no slope exclusion without a DEM


def test_map_renewables_bad_input_writes_nothing(area, tmp_path) -> None:
    out = tmp_path / "r"
    outs = {
        "out_solar": out / "solar.tif",
        "out_wind": out / "wind.tif",
        "out_exclusion": out / "exclusion.tif",
        "out_stations": out / "stations.csv",
    }
    common = {"dem_path": area["dem"], "area": AREA, "cfg": RENEWABLES_CFG, **outs}
    with pytest.raises(InputError, match="landsat8_noclear.zarr: cube has no clear_fraction"):
        step_map_renewables(
            area["meteo"], area["landsat8_noclear"], area["maps"][2022], area["stations"], **common
        )
    with pytest.raises(DataError, match="no station has 30 positive daily wind speeds"):
        step_map_renewables(
            area["meteo"], area["landsat8"], area["maps"][2022], area["short_stations"], **common
        )
    with pytest.raises(InputError, match="sentinel1.zarr: cube has no band"):
        step_map_renewables(
            area["sentinel1"], area["landsat8"], area["maps"][2022], area["stations"],
            **{**common, "dem_path": area["dem"]},
        )  # fmt: skip
    with pytest.raises(ConfigError, match=r"excluded_classes \['forest'\]"):
        step_map_renewables(
            area["meteo"], area["landsat8"], area["maps"][2022], area["stations"],
            **{**common, "cfg": {**RENEWABLES_CFG, "excluded_classes": ["forest"]}},
        )  # fmt: skip
    _assert_empty(out)


# --------------------------------------------------------------------------- conflicts


def test_find_conflicts_ranked_zones(area, products, tmp_path) -> None:
    out = tmp_path / "c"
    table = step_find_conflicts(
        products["prospectivity"],
        area["maps"][2022],
        products["solar"],
        products["wind"],
        area=AREA,
        cfg=CONFLICTS_CFG,
        out_csv=out / "conflicts.csv",
        out_gpkg=out / "conflicts.gpkg",
    )
    assert len(table) >= 1
    csv = pd.read_csv(out / "conflicts.csv")
    assert csv["rank"].tolist() == list(range(1, len(csv) + 1))
    assert csv["score"].is_monotonic_decreasing and csv["reasons"].str.len().gt(0).all()
    geoms, attrs, crs = read_gpkg(out / "conflicts.gpkg")
    assert len(geoms) == len(csv) and crs == CRS
    left, bottom, right, top = GRID.bounds
    for g in geoms:
        x0, y0, x1, y1 = g.bounds
        assert left <= x0 and x1 <= right and bottom <= y0 and y1 <= top


def test_find_conflicts_bad_input_writes_nothing(area, products, tmp_path) -> None:
    out = tmp_path / "c"
    kwargs = {
        "area": AREA,
        "cfg": CONFLICTS_CFG,
        "out_csv": out / "c.csv",
        "out_gpkg": out / "c.gpkg",
    }
    with pytest.raises(InputError, match="exclusion.tif: has no band 'energy_resource_kwh_m2_yr'"):
        step_find_conflicts(
            products["prospectivity"], area["maps"][2022], products["exclusion"], None, **kwargs
        )
    with pytest.raises(DataError, match="needs a solar or a wind resource map"):
        step_find_conflicts(products["prospectivity"], area["maps"][2022], None, None, **kwargs)
    other = Grid.from_bounds(CRS, (600000, 4400000, 600160, 4400160), 10)
    moved = write_geotiff(
        tmp_path / "moved.tif",
        np.zeros((16, 16), np.float32),
        transform=other.transform,
        crs=CRS,
        band_names=["prospectivity"],
    )
    with pytest.raises(InputError, match="moved.tif: lies on a"):
        read_named_band(moved, "prospectivity", GRID)
    _assert_empty(out)


# --------------------------------------------------------------------------- impact


def test_assess_impact_tables(area, tmp_path) -> None:
    out = tmp_path / "i"
    tables = step_assess_impact(
        area["landsat8"],
        area["maps"],
        area=AREA,
        cfg=IMPACT_CFG,
        out_vegetation=out / "impact_vegetation.csv",
        out_reclamation=out / "impact_reclamation.csv",
        out_water=out / "impact_water.csv",
    )
    veg = pd.read_csv(out / "impact_vegetation.csv")
    assert veg["ring"].tolist() == ["mine", "0-30 m", "30-80 m", "beyond"]
    # the footprint is every cell mined in any year: the 12x11 predicted pit of 2022
    assert veg.loc[0, "area_ha"] == pytest.approx(1.32)
    rec = pd.read_csv(out / "impact_reclamation.csv")
    assert rec["mining_ha"].tolist() == pytest.approx([0.64, 1.32])
    assert rec["reclaimed_ha"].tolist() == pytest.approx([0.16, 0.16])
    # reclaimed land (NDVI ~0.47) is greener than the lake, less green than vegetation (~0.75)
    assert 0.4 < rec["reclaimed_ndvi_mean"].iloc[0] < rec["reference_ndvi_mean"].iloc[0]
    water = pd.read_csv(out / "impact_water.csv")
    assert water["water_ha"].tolist() == pytest.approx([0.48, 0.48])
    assert set(tables) == {"vegetation", "reclamation", "water"}


def test_assess_impact_single_year_raises_and_writes_nothing(area, tmp_path) -> None:
    out = tmp_path / "i"
    with pytest.raises(DataError, match="at least 2 years with both land use and NDVI"):
        step_assess_impact(
            area["landsat8"],
            {2022: area["maps"][2022]},
            area=AREA,
            cfg=IMPACT_CFG,
            out_vegetation=out / "v.csv",
            out_reclamation=out / "r.csv",
            out_water=out / "w.csv",
        )
    with pytest.raises(InputError, match="sentinel1.zarr: cube has no band"):
        step_assess_impact(
            area["sentinel1"],
            area["maps"],
            area=AREA,
            cfg=IMPACT_CFG,
            out_vegetation=out / "v.csv",
            out_reclamation=out / "r.csv",
            out_water=out / "w.csv",
        )
    _assert_empty(out)
