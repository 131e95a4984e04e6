"""Tests of coexplore.io.vector: polygons from labels, GeoPackage and CSV writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from coexplore.errors import DataError, InputError
from coexplore.io.vector import polygons_from_labels, read_gpkg, write_csv, write_gpkg

TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def _labels() -> np.ndarray:
    lab = np.zeros((6, 6), np.int32)
    lab[1:3, 1:3] = 1
    lab[4:6, 0:2] = 2
    lab[4, 5] = 2  # a second, separate part of zone 2
    return lab


def test_polygons_from_labels_areas_and_coordinates() -> None:
    polys = polygons_from_labels(_labels(), transform=TRANSFORM)
    assert sorted(polys) == [1, 2]
    assert polys[1].area == pytest.approx(400.0) and len(polys[1].geoms) == 1
    assert polys[2].area == pytest.approx(500.0) and len(polys[2].geoms) == 2
    assert polys[1].bounds == (500_010.0, 3_999_970.0, 500_030.0, 3_999_990.0)
    with pytest.raises(DataError, match="2-D"):
        polygons_from_labels(np.zeros(3, int), transform=TRANSFORM)
    with pytest.raises(DataError, match=">= 0"):
        polygons_from_labels(-np.ones((2, 2), int), transform=TRANSFORM)


def test_gpkg_roundtrip(tmp_path: Path) -> None:
    polys = polygons_from_labels(_labels(), transform=TRANSFORM)
    attrs = pd.DataFrame(
        {"zone": [1, 2], "area_ha": [0.04, 0.05], "reasons": ["a, b", "c"], "mined": [True, False]}
    )
    out = write_gpkg(
        tmp_path / "z.gpkg", list(polys.values()), attrs, crs="EPSG:32650", layer="zones"
    )
    geoms, table, crs = read_gpkg(out)
    assert crs == "EPSG:32650"
    assert table["reasons"].tolist() == ["a, b", "c"]
    assert table["area_ha"].tolist() == [0.04, 0.05]
    assert [g.geom_type for g in geoms] == ["MultiPolygon", "MultiPolygon"]
    assert geoms[1].area == pytest.approx(500.0)
    empty = write_gpkg(tmp_path / "e.gpkg", [], attrs.iloc[:0], crs="EPSG:32650")
    assert read_gpkg(empty)[0] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.gpkg", "z.gpkg"]


def test_bad_inputs_leave_no_file(tmp_path: Path) -> None:
    polys = polygons_from_labels(_labels(), transform=TRANSFORM)
    with pytest.raises(DataError, match="2 geometries but 1 attribute rows"):
        write_gpkg(
            tmp_path / "bad.gpkg",
            list(polys.values()),
            pd.DataFrame({"zone": [1]}),
            crs="EPSG:32650",
        )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="does not exist"):
        read_gpkg(tmp_path / "missing.gpkg")
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(InputError, match="not a readable vector file"):
        read_gpkg(tmp_path / "junk.gpkg")


def test_write_csv_atomic(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    path = write_csv(df, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(pd.read_csv(path), df)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
