import copy

import numpy as np
import pytest
import yaml

from coexplore.config import area_years, load_config, time_index, validate_config
from coexplore.errors import ConfigError
from coexplore.grid import Grid

from ..conftest import ROOT


def test_grid_from_bounds_known_values():
    g = Grid.from_bounds("EPSG:32650", (500000, 4400000, 502000, 4401000), 10)
    assert g.shape == (100, 200)
    assert g.bounds == (500000, 4400000, 502000, 4401000)
    assert g.x_coords()[0] == 500005 and g.y_coords()[0] == 4400995
    assert np.all(np.diff(g.y_coords()) < 0)
    c = g.coarsen(3)
    assert c.shape == (34, 67) and c.resolution == 30


def test_grid_rejects_non_positive_resolution():
    with pytest.raises(ConfigError, match="must be positive"):
        Grid.from_bounds("EPSG:32650", (0, 0, 100, 100), 0)


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml", "paper.yaml"])
def test_shipped_configs_validate(name, schema_path):
    cfg = load_config(ROOT / "config" / name, schema_path)
    area = next(iter(cfg["areas"].values()))
    assert area["synth"]["landsat8"]["revisit_days"] >= 16  # defaults filled
    assert len(time_index(area)) >= 12
    assert area_years(area)[0] == int(area["time"]["start"][:4])


def _tiny(schema_path):
    return yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


def test_unknown_source_is_rejected(schema_path):
    cfg = _tiny(schema_path)
    cfg["areas"]["tiny"]["sources"].append("modis")
    with pytest.raises(ConfigError, match=r"areas/tiny/sources/4.*'modis'"):
        validate_config(cfg, schema_path)


@pytest.mark.parametrize("res", [0, -10])
def test_non_positive_resolution_is_rejected(schema_path, res):
    cfg = _tiny(schema_path)
    cfg["areas"]["tiny"]["grid"]["resolution"] = res
    with pytest.raises(ConfigError, match="areas/tiny/grid/resolution"):
        validate_config(cfg, schema_path)


def test_geographic_crs_and_bad_dates_are_rejected(schema_path):
    cfg = _tiny(schema_path)
    bad = copy.deepcopy(cfg)
    bad["areas"]["tiny"]["grid"]["crs"] = "EPSG:4326"
    with pytest.raises(ConfigError, match="geographic"):
        validate_config(bad, schema_path)
    bad = copy.deepcopy(cfg)
    bad["areas"]["tiny"]["time"]["end"] = "2020-01-01"
    with pytest.raises(ConfigError, match="must be after start"):
        validate_config(bad, schema_path)
    bad = copy.deepcopy(cfg)
    bad["areas"]["tiny"]["raw_dir"] = "/nonexistent/raw"
    with pytest.raises(ConfigError, match="is not a folder"):
        validate_config(bad, schema_path)


def test_unreadable_config_file(tmp_path, schema_path):
    p = tmp_path / "c.yaml"
    p.write_text("areas: [unclosed")
    with pytest.raises(ConfigError, match="c.yaml: cannot read the config"):
        load_config(p, schema_path)
