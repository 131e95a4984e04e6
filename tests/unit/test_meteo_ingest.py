"""Station CSV -> meteorological cube on the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from coexplore.errors import ConfigError, DataError, InputError
from coexplore.grid import Grid
from coexplore.ingest.meteo import ingest_meteo, meteo_fields
from coexplore.sensors import Meteo

CRS = "EPSG:32650"
GRID = Grid.from_bounds(CRS, (500000.0, 4400000.0, 500080.0, 4400060.0), 10.0)  # 6 x 8
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
# station A at the centre of cell (1, 2); station B 2 km east of the grid
A_XY = (float(GRID.x_coords()[2]), float(GRID.y_coords()[1]))
B_XY = (GRID.bounds[2] + 2000.0, float(GRID.y_coords()[4]))
MONTHS = pd.date_range("2023-01-01", periods=4, freq="MS")


def write_stations(path: Path) -> tuple[Path, pd.DataFrame]:
    """Daily records Jan-Mar 2023 for A (elevation 300 m) and B (100 m): a
    monthly step plus seeded noise. A has one temperature spike, one solar
    spike and one out-of-range humidity; returns the path and the clean table."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2023-01-01", "2023-03-31", freq="D")
    n = len(days)
    frames = []
    for sid, (x, y), elev, base in (("A", A_XY, 300.0, 5.0), ("B", B_XY, 100.0, 9.0)):
        lon, lat = TO_LONLAT.transform(x, y)
        frames.append(
            pd.DataFrame(
                {
                    "station_id": sid,
                    "lon": lon,
                    "lat": lat,
                    "elevation": elev,
                    "time": days,
                    "temperature": base + days.month + rng.normal(0, 0.3, n),
                    "relative_humidity": 50.0 + 10 * (sid == "B") + rng.normal(0, 1.0, n),
                    "wind_speed": 2.0 + 0.5 * days.month + rng.normal(0, 0.2, n),
                    "solar_irradiance": 150.0 + 20.0 * days.month + rng.normal(0, 5.0, n),
                }
            )
        )
    clean = pd.concat(frames, ignore_index=True)
    dirty = clean.copy()
    dirty.loc[40, "temperature"] = 40.0  # A, 10 Feb: spike
    dirty.loc[60, "solar_irradiance"] = 999.0  # A, 2 Mar: in range, a spike
    dirty.loc[70, "relative_humidity"] = 999.0  # A, 12 Mar: out of range
    dirty.assign(time=days.strftime("%Y-%m-%d").tolist() * 2).to_csv(path, index=False)
    return path, clean


def monthly_truth(clean: pd.DataFrame, station: str, var: str, drop_row: int | None = None):
    """Monthly means of the clean table, leaving out a flagged row."""
    rows = clean.drop(index=[drop_row]) if drop_row is not None else clean
    rows = rows.loc[rows["station_id"] == station]
    return rows.groupby(rows["time"].dt.month)[var].mean().to_numpy()


def test_cube_shape_coords_and_station_values(tmp_path):
    path, clean = write_stations(tmp_path / "stations.csv")
    cube, report = ingest_meteo(path, GRID, time_index=MONTHS)
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.shape == (4, 4, *GRID.shape) and cube.dtype == np.float32
    assert list(cube.band.values) == list(Meteo.variables)
    assert list(pd.DatetimeIndex(cube.time.values)) == list(MONTHS)
    np.testing.assert_allclose(cube.y.values, GRID.y_coords())
    assert cube.rio.crs.to_epsg() == 32650
    assert cube.attrs["source"] == "meteo"
    assert cube.attrs["units"] == list(Meteo.variables.values())
    # station A's own cell gets its monthly means; spikes were removed first
    a = cube.isel(y=1, x=2)
    for var, flagged in (
        ("temperature", 40),
        ("solar_irradiance", 60),
        ("relative_humidity", 70),
        ("wind_speed", None),
    ):
        expected = monthly_truth(clean, "A", var, flagged)
        np.testing.assert_allclose(a.sel(band=var)[:3], expected, rtol=1e-6)
    # April has no record at all: NaN
    assert np.isnan(cube.isel(time=3).values).all()
    # every other cell lies between the two stations' values
    lo, hi = (
        monthly_truth(clean, "A", "temperature")[0],
        monthly_truth(clean, "B", "temperature")[0],
    )
    temp = cube.sel(band="temperature").isel(time=0).values
    assert ((temp >= lo - 1e-5) & (temp <= hi + 1e-5)).all()
    assert report.loc["A", "spike_temperature"] == 1
    assert report.loc["A", "spike_solar_irradiance"] == 1
    assert report.loc["A", "out_of_range_relative_humidity"] == 1
    assert report.drop(columns="rows").loc["B"].sum() == 0


def test_dem_adjusts_temperature_only(tmp_path):
    path, clean = write_stations(tmp_path / "stations.csv")
    dem = np.full(GRID.shape, 300.0)
    cube, _ = ingest_meteo(path, GRID, time_index=MONTHS[:3], dem=dem, lapse_rate=-0.0065)
    flat, _ = ingest_meteo(path, GRID, time_index=MONTHS[:3])
    t_a = monthly_truth(clean, "A", "temperature", 40)
    t_b = monthly_truth(clean, "B", "temperature")
    # A's cell at A's elevation: its own observation
    np.testing.assert_allclose(cube.sel(band="temperature").isel(y=1, x=2), t_a, rtol=1e-6)
    # elsewhere: IDW at sea level, then back to 300 m. A (300 m) reduces by
    # +1.95 degC, B (100 m) by +0.65. The IDW weight of B per cell comes from
    # the run without a DEM: flat = t_a + (t_b - t_a) w_b.
    for m in range(3):
        w_b = (flat.sel(band="temperature").isel(time=m).values - t_a[m]) / (t_b[m] - t_a[m])
        sea_a, sea_b = t_a[m] + 0.0065 * 300.0, t_b[m] + 0.0065 * 100.0
        expected = sea_a + (sea_b - sea_a) * w_b - 0.0065 * 300.0
        np.testing.assert_allclose(cube.sel(band="temperature").isel(time=m), expected, atol=1e-4)
    for band in ("relative_humidity", "wind_speed", "solar_irradiance"):
        np.testing.assert_array_equal(cube.sel(band=band).values, flat.sel(band=band).values)


def test_time_index_without_frequency_raises(tmp_path):
    path, _ = write_stations(tmp_path / "stations.csv")
    irregular = pd.DatetimeIndex(["2023-01-01", "2023-01-20", "2023-03-01"])
    with pytest.raises(ConfigError, match="has no regular frequency"):
        ingest_meteo(path, GRID, time_index=irregular)
    with pytest.raises(ConfigError, match="time_index is empty"):
        ingest_meteo(path, GRID, time_index=pd.DatetimeIndex([]))


def test_dem_of_wrong_shape_raises(tmp_path):
    path, _ = write_stations(tmp_path / "stations.csv")
    with pytest.raises(DataError, match=r"DEM shape \(2, 2\) differs"):
        ingest_meteo(path, GRID, time_index=MONTHS, dem=np.zeros((2, 2)))


def test_malformed_csv_raises_input_error(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("station_id,time\nA,2023-01-01\n")
    with pytest.raises(InputError, match=r"missing column\(s\) lon, lat, elevation"):
        ingest_meteo(path, GRID, time_index=MONTHS)


def test_fields_windows_equal_the_whole_cube(tmp_path):
    path, _ = write_stations(tmp_path / "stations.csv")
    dem = 200.0 + 10.0 * np.arange(GRID.height * GRID.width).reshape(GRID.shape)
    whole, _ = ingest_meteo(path, GRID, time_index=MONTHS, dem=dem)
    fields, clean, _ = meteo_fields(path, GRID, time_index=MONTHS, dem=dem)
    assert fields.shape == whole.shape and set(clean["station_id"]) == {"A", "B"}
    tiled = np.full(whole.shape, -1.0, dtype="float32")
    for y0 in range(0, GRID.height, 4):  # 4 x 3 windows, a band and two steps at a time
        for x0 in range(0, GRID.width, 3):
            for b0 in range(whole.shape[1]):
                part = fields[1:3, b0 : b0 + 1, y0 : y0 + 4, x0 : x0 + 3]
                tiled[1:3, b0 : b0 + 1, y0 : y0 + 4, x0 : x0 + 3] = part
    np.testing.assert_array_equal(tiled[1:3], whole.values[1:3])
    assert np.isfinite(whole.values[1:3]).all() and np.isnan(whole.values[3]).all()  # April
    with pytest.raises(TypeError, match="step 1"):
        fields[::2, :, :, :]
    with pytest.raises(TypeError, match="four slices"):
        fields[0]


def test_meteo_cube_step_fills_tile_by_tile_like_the_whole_cube(tmp_path, monkeypatch):
    import coexplore.cube as cube_mod
    from coexplore.cube import fill_gaps, write_static_cube
    from coexplore.io.cubes import open_cube
    from coexplore.steps.spine import step_build_meteo_cube

    path, _ = write_stations(tmp_path / "stations.csv")
    dem = (200.0 + 10.0 * np.arange(GRID.height * GRID.width).reshape(GRID.shape)).astype("f4")
    write_static_cube(
        dem[None], grid=GRID, layer="dem", bands=["elevation"], out_path=tmp_path / "dem.zarr"
    )
    left, bottom, right, top = GRID.bounds
    area = {
        "id": "t",
        "grid": {"crs": CRS, "resolution": 10.0, "extent": [left, bottom, right, top]},
        "time": {"start": "2023-01-01", "end": "2023-04-30", "freq": "MS"},
    }
    cube_cfg = {"gap_fill": {"sources": ["meteo"], "smooth_sigma": 1.0, "edge_limit": 1}}
    monkeypatch.setattr(cube_mod, "FILL_TILE_MIN", 4)  # 4 x 4 tiles of 2 x 2 chunks
    qc = step_build_meteo_cube(
        path,
        tmp_path / "dem.zarr",
        area=area,
        cube_cfg={**cube_cfg, "chunks": 2},
        out=tmp_path / "meteo.zarr",
        qc_out=tmp_path / "qc.csv",
    )
    assert (tmp_path / "qc.csv").exists() and len(qc)
    whole, _ = ingest_meteo(path, GRID, time_index=MONTHS, dem=dem)
    expected, was = fill_gaps(whole.values.copy(), smooth_sigma=1.0, edge_limit=1)
    got = open_cube(tmp_path / "meteo.zarr")
    np.testing.assert_allclose(got["data"].values, expected, rtol=1e-6)
    np.testing.assert_array_equal(got["filled"].values, was)
    assert was[3].all()  # April, after the last record, within edge_limit
    assert got.attrs["stations"] == '["A", "B"]'
