"""Tests of coexplore.products.conflicts: zones, ranking, reasons, CSV and GeoPackage export."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from coexplore.errors import DataError
from coexplore.io.vector import read_gpkg
from coexplore.products.conflicts import conflict_zones, export_conflicts

TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def _scene() -> dict[str, np.ndarray]:
    """Zone A (rows 2-5, cols 2-5): top prospectivity under strong wind.
    Zone B (rows 12-15, cols 12-17): good prospectivity and active mining under high solar."""
    rng = np.random.default_rng(0)
    n = 20
    p = 0.1 + 0.3 * rng.random((n, n))
    p[2:6, 2:6] = 0.95
    p[12:16, 12:18] = 0.7
    wind = 100.0 + 100.0 * rng.random((n, n))
    wind[2:7, 2:9] = 400.0
    solar = 1500.0 + 50.0 * rng.random((n, n))
    solar[10:18, 10:20] = 1800.0
    mining = np.zeros((n, n), bool)
    mining[14:16, 16:18] = True
    mining[18, 2] = True  # mining without energy: no zone
    return {"prospectivity": p, "wind": wind, "solar": solar, "mining": mining}


def test_conflict_zones_ranked_with_reasons() -> None:
    s = _scene()
    labels, table = conflict_zones(
        s["prospectivity"],
        mining=s["mining"],
        solar=s["solar"],
        wind=s["wind"],
        pixel_size=10.0,
        top_prospectivity=10.0,
        top_solar=20.0,
        top_wind=10.0,
        transform=TRANSFORM,
    )
    assert len(table) == 2
    assert table["rank"].tolist() == [1, 2]
    a, b = table.iloc[0], table.iloc[1]
    # zone A: every cell at the top of prospectivity and of wind -> score ~1
    assert (labels[2:6, 2:6] == 1).all() and (labels == 1).sum() == 16
    assert (labels[12:16, 12:18] == 2).all() and (labels == 2).sum() == 24
    assert a["score"] > b["score"]
    assert a["area_ha"] == pytest.approx(16 * 0.01)
    assert b["mining_ha"] == pytest.approx(0.04)
    assert labels[18, 2] == 0
    assert a["reasons"] == "prospectivity 0.95 (top 4%), wind power density 400 W/m2 (top 9%)"
    assert re.fullmatch(
        r"prospectivity 0\.70 \(top 10%\), solar 1800 kWh/m2/yr \(top 20%\), 0\.04 ha active mining",
        b["reasons"],
    )
    # centroid of zone A (rows 2-5, cols 2-5) in map coordinates
    assert a["centroid_x"] == pytest.approx(500_000 + 40.0)
    assert a["centroid_y"] == pytest.approx(4_000_000 - 40.0)


def test_min_pixels_and_no_zone() -> None:
    s = _scene()
    labels, table = conflict_zones(
        s["prospectivity"],
        mining=s["mining"],
        solar=s["solar"],
        wind=s["wind"],
        pixel_size=10.0,
        top_wind=10.0,
        min_pixels=20,
    )
    assert table["n_pixels"].tolist() == [24] and (labels == 1).sum() == 24
    flat = np.zeros((5, 5))
    flat[0, 0] = 1.0
    energy = np.zeros((5, 5))
    energy[4, 4] = 1.0
    labels, table = conflict_zones(
        flat, wind=energy, pixel_size=10.0, top_prospectivity=4, top_wind=4
    )
    assert table.empty and not labels.any() and "reasons" in table.columns


def test_conflict_bad_inputs() -> None:
    s = _scene()
    with pytest.raises(DataError, match="solar or a wind"):
        conflict_zones(s["prospectivity"], pixel_size=10.0)
    with pytest.raises(DataError, match="misaligned"):
        conflict_zones(s["prospectivity"], wind=s["wind"][:, :-1], pixel_size=10.0)
    with pytest.raises(DataError, match=r"top_solar=150"):
        conflict_zones(s["prospectivity"], solar=s["solar"], pixel_size=10.0, top_solar=150)


def test_export_csv_and_gpkg(tmp_path: Path) -> None:
    s = _scene()
    labels, table = conflict_zones(
        s["prospectivity"],
        mining=s["mining"],
        solar=s["solar"],
        wind=s["wind"],
        pixel_size=10.0,
        top_wind=10.0,
        transform=TRANSFORM,
    )
    csv, gpkg = export_conflicts(
        labels,
        table,
        transform=TRANSFORM,
        crs="EPSG:32650",
        csv_path=tmp_path / "zones.csv",
        gpkg_path=tmp_path / "zones.gpkg",
    )
    back = pd.read_csv(csv)
    assert back["reasons"].tolist() == table["reasons"].tolist()
    geoms, attrs, crs = read_gpkg(gpkg)
    assert crs == "EPSG:32650"
    assert attrs["rank"].tolist() == [1, 2]
    assert geoms[0].area == pytest.approx(16 * 100.0)
    assert geoms[1].area == pytest.approx(24 * 100.0)
    minx, miny, maxx, maxy = geoms[0].bounds
    assert (minx, maxy) == (500_020.0, 3_999_980.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zones.csv", "zones.gpkg"]
    with pytest.raises(DataError, match=r"zones \[3\]"):
        export_conflicts(
            labels,
            pd.concat([table, table.iloc[[0]].assign(zone=3)]),
            transform=TRANSFORM,
            crs="EPSG:32650",
            csv_path=tmp_path / "x.csv",
            gpkg_path=tmp_path / "x.gpkg",
        )
