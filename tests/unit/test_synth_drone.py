"""Drone orthomosaics: footprint, bands, and class-dependent sub-metre texture."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp

from coexplore import layout
from coexplore.synth import generate_state
from coexplore.synth.drone import drone_geometry, render_orthomosaic, write_orthomosaic
from coexplore.synth.plan import drone_flights
from coexplore.synth.state import BARE_LAND, MINING, RECLAIMED, VEGETATION
from coexplore.synth.surface import surface_snapshot


def area(size_m: float = 100.0) -> dict:
    return {
        "id": "uav",
        "seed": 7,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 501600, 4401600],
        },
        "time": {"start": "2021-01-01", "end": "2022-12-31"},
        "sources": ["drone"],
        "synth": {"drone": {"dates": ["2022-06-20"], "resolution": 0.1, "size_m": size_m}},
    }


@pytest.fixture(scope="module")
def state():
    return generate_state(area(150.0))


@pytest.fixture(scope="module")
def mosaic(state):
    return render_orthomosaic(state, drone_flights(state.settings)[0])


def test_geometry_is_a_square_over_the_pit_inside_the_area(state):
    g = drone_geometry(state)
    assert (g.width, g.height) == (1500, 1500)
    assert g.transform.a == pytest.approx(0.1) and g.transform.e == pytest.approx(-0.1)
    left, bottom, right, top = g.bounds
    a_left, a_bottom, a_right, a_top = state.grid.bounds
    assert a_left <= left and right <= a_right and a_bottom <= bottom and top <= a_top
    inv = ~state.ext.transform
    col, row = inv @ ((left + right) / 2, (bottom + top) / 2)
    year = state.landuse(2022, extended=True)
    window = year[int(row) - 7 : int(row) + 8, int(col) - 7 : int(col) + 8]
    assert (window == MINING).any()


def test_bands_alpha_and_determinism(state, mosaic):
    data, g = mosaic
    assert data.shape == (4, 1500, 1500) and data.dtype == np.uint8
    alpha = data[3]
    assert set(np.unique(alpha)) == {0, 255}
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0 and alpha[750, 750] == 255
    assert 0.8 < (alpha == 255).mean() < 0.98
    assert np.all(data[:3][:, alpha == 0] == 0)
    again, _ = render_orthomosaic(state, drone_flights(state.settings)[0])
    np.testing.assert_array_equal(again, data)


def test_texture_inside_10m_cells_differs_by_class(state, mosaic):
    data, g = mosaic
    snap = surface_snapshot(state, drone_flights(state.settings)[0].date)
    brightness = data[:3].astype(float).mean(axis=0)
    inv = ~state.ext.transform
    stats: dict[int, list[float]] = {}
    # 10 m cells of the state grid that lie wholly inside the footprint
    c0, r0 = inv @ (g.transform.c, g.transform.f)
    for i in range(int(np.ceil(r0)), int(np.floor(r0 + 150 / 10))):
        for j in range(int(np.ceil(c0)), int(np.floor(c0 + 150 / 10))):
            rr = slice(int(round((i - r0) * 100)), int(round((i - r0) * 100)) + 100)
            cc = slice(int(round((j - c0) * 100)), int(round((j - c0) * 100)) + 100)
            if data[3][rr, cc].min() == 0 or data[3][rr, cc].shape != (100, 100):
                continue
            # skip cells next to a class boundary (warped edges mix classes)
            block = snap.cls[i - 1 : i + 2, j - 1 : j + 2]
            if np.all(block == snap.cls[i, j]):
                stats.setdefault(int(snap.cls[i, j]), []).append(float(brightness[rr, cc].std()))
    assert MINING in stats and len(stats) >= 2, stats.keys()
    median = {k: np.median(v) for k, v in stats.items()}
    for other in (BARE_LAND, RECLAIMED):
        if other in median:
            assert median[MINING] > 1.5 * median[other]
    if VEGETATION in median and BARE_LAND in median:
        assert median[VEGETATION] > 1.5 * median[BARE_LAND]


def test_written_orthomosaic(state, tmp_path):
    small = generate_state(area(60.0))
    flight = drone_flights(small.settings)[0]
    path = write_orthomosaic(small, flight, tmp_path)
    assert path == layout.drone_path(tmp_path, "UAV_20220620")
    assert layout.discover_drone(tmp_path) == ["UAV_20220620"]
    data, g = render_orthomosaic(small, flight)
    with rasterio.open(path) as src:
        assert src.count == 4 and src.dtypes == ("uint8",) * 4
        assert src.crs.to_epsg() == 32650 and src.transform == g.transform
        assert src.colorinterp[3] == ColorInterp.alpha
        assert src.tags()["ACQUISITION_DATE"] == "2022-06-20"
        np.testing.assert_array_equal(src.read(), data)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
