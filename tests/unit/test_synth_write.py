"""write_study_area end to end on a small area: plan agreement, determinism, atomicity."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio

from coexplore import layout
from coexplore.errors import ConfigError
from coexplore.sensors import LandUse, Static
from coexplore.synth import plan_acquisitions, planned_files, write_study_area
from coexplore.synth import sentinel1 as s1_module


def micro(seed: int = 3) -> dict:
    return {
        "id": "micro",
        "seed": seed,
        "grid": {
            "crs": "EPSG:32650",
            "resolution": 10,
            "extent": [500000, 4400000, 500600, 4400600],
        },
        "time": {"start": "2021-03-01", "end": "2021-10-31"},
        "sources": ["landsat8", "sentinel1", "drone", "meteo"],
        "synth": {
            "landsat8": {"revisit_days": 64, "margin_m": 150, "n_gcps": 6},
            "sentinel1": {"start": "2021-03-01", "end": "2021-10-31", "revisit_days": 96},
            "drone": {"dates": ["2021-07-01"], "resolution": 0.2, "size_m": 40},
            "meteo": {"n_stations": 2},
        },
    }


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    raw = tmp_path_factory.mktemp("first")
    return raw, write_study_area(micro(), raw)


def test_written_files_are_exactly_the_planned_ones(first):
    raw, files = first
    assert sorted(files) == sorted(planned_files(micro(), raw))
    assert sorted(p for p in raw.rglob("*") if p.is_file()) == sorted(files)
    assert not [p for p in raw.rglob(".*")]
    plan = plan_acquisitions(micro())
    assert layout.discover_landsat(raw) == plan["landsat8"]
    assert layout.discover_sentinel1(raw) == plan["sentinel1"]
    assert layout.discover_drone(raw) == plan["drone"]
    assert len(plan["landsat8"]) >= 3 and len(plan["sentinel1"]) >= 2


def test_same_seed_same_bytes_other_seed_differs(first, tmp_path):
    raw, _ = first
    again = tmp_path / "again"
    write_study_area(micro(), again)
    assert digest(again) == digest(raw)
    other = tmp_path / "other"
    area = micro(seed=4)
    area["sources"] = ["meteo"]
    write_study_area(area, other)
    assert digest(other)["truth/landuse_2021.tif"] != digest(raw)["truth/landuse_2021.tif"]
    assert digest(other)["meteo/stations.csv"] != digest(raw)["meteo/stations.csv"]


def test_truth_rasters(first):
    raw, _ = first
    with rasterio.open(layout.truth_landuse_path(raw, 2021)) as src:
        lu = src.read(1)
        assert src.dtypes[0] == "uint8" and src.nodata == LandUse.nodata
        assert src.res == (10.0, 10.0) and src.shape == (60, 60)
        assert src.bounds == (500000, 4400000, 500600, 4400600)
        assert tuple(src.colormap(1)[1][:3]) == LandUse.colours[1]
        assert src.tags()["CLASS_5"] == "mining"
    assert set(np.unique(lu)) <= set(LandUse.codes)
    with rasterio.open(layout.truth_ore_path(raw)) as src:
        assert set(np.unique(src.read(1))) <= {0, 1}


def test_static_layers(first):
    raw, _ = first
    with rasterio.open(layout.static_path(raw, "dem")) as dem:
        z = dem.read(1)
        assert dem.dtypes[0] == "float32" and dem.res == (30.0, 30.0)
        left, bottom, right, top = dem.bounds
        assert left <= 500000 - 150 and top >= 4400600 + 150
        assert right >= 500600 + 150 and bottom <= 4400000 - 150
        assert 300 < z.min() < z.max() < 800
        assert dem.descriptions == Static.dem
    with rasterio.open(layout.static_path(raw, "geology")) as geo:
        assert geo.count == 2 and geo.dtypes == ("uint8", "uint8")
        assert geo.descriptions == Static.geology
        assert geo.transform == dem.transform
        litho, fault = geo.read()
        assert set(np.unique(litho)) <= set(Static.lithology)
        assert set(np.unique(fault)) <= {0, 1}


def test_interrupted_write_leaves_no_partial_product(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(s1_module, "manifest_xml", broken)
    raw = tmp_path / "raw"
    with pytest.raises(RuntimeError, match="disk full"):
        write_study_area(micro(), raw)
    # the Landsat scenes before were completed, no SAFE folder (or its temporary) is left
    assert layout.discover_landsat(raw) == plan_acquisitions(micro())["landsat8"]
    assert not list((raw / "sentinel1").iterdir())


def test_bad_config_is_rejected_before_writing(tmp_path):
    area = micro()
    area["synth"]["drone"]["dates"] = ["2025-01-01"]
    with pytest.raises(ConfigError, match="outside the study period"):
        write_study_area(area, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()
