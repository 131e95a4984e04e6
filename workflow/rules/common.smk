# Config validation, scene discovery, input functions, wildcard constraints.
from pathlib import Path

from coexplore import layout
from coexplore.config import area_years, validate_config
from coexplore.steps.products import product_targets
from coexplore.sensors import Drone, Landsat8, Meteo, Sentinel1, Static
from coexplore.synth import plan_acquisitions

validate_config(config, Path(workflow.current_basedir).parent / "schemas" / "config.schema.yaml")

AREAS = list(config["areas"])
ENV = "../../envs/coexplore.yaml"
CUBE_SOURCES = {"landsat8": Landsat8, "sentinel1": Sentinel1, "drone": Drone}


wildcard_constraints:
    area="|".join(AREAS),
    scene=r"[A-Za-z0-9_]+",
    source="landsat8|sentinel1|drone",
    layer="dem|geology",
    year=r"\d{4}",
    model="cnn_lstm|cnn|lstm|transformer|mdnn|resnet50",
    seed=r"\d+",
    trial=r"\d+",


def area_cfg(area):
    return config["areas"][area]


def is_synthetic(area):
    return area_cfg(area)["raw_dir"] is None


def raw_dir(area):
    return f"results/{area}/raw" if is_synthetic(area) else area_cfg(area)["raw_dir"]


_SCENES = {}


def scenes(area, source):
    """Scene / product / flight ids of one source: planned for the embedded
    study area (from the config alone), discovered on disk for user data."""
    key = (area, source)
    if key not in _SCENES:
        if source not in area_cfg(area)["sources"]:
            _SCENES[key] = []
        elif is_synthetic(area):
            _SCENES[key] = plan_acquisitions(area_cfg(area)).get(source, [])
        else:
            raw = raw_dir(area)
            _SCENES[key] = {
                "landsat8": layout.discover_landsat,
                "sentinel1": layout.discover_sentinel1,
                "drone": layout.discover_drone,
            }[source](raw)
    return _SCENES[key]


def landsat_inputs(wc):
    raw = raw_dir(wc.area)
    files = [str(p) for p in layout.landsat_scene_files(raw, wc.scene)]
    gcp = str(layout.landsat_gcp_path(raw, wc.scene))
    # the GCP file is optional for user data
    if not is_synthetic(wc.area) and not Path(gcp).exists():
        files.remove(gcp)
    return files


def sentinel1_inputs(wc):
    safe = layout.sentinel1_safe_dir(raw_dir(wc.area), wc.scene)
    if is_synthetic(wc.area):
        return [str(safe / "manifest.safe")]
    return [str(p) for p in sorted(safe.rglob("*")) if p.is_file()]


def scene_outputs(area, source):
    ids = scenes(area, source)
    return {
        "tifs": expand("results/{area}/scenes/{source}/{scene}.tif", area=area, source=source, scene=ids),
        "qas": expand("results/{area}/scenes/{source}/{scene}.qa.json", area=area, source=source, scene=ids),
    }


def cube_inputs(wc):
    return scene_outputs(wc.area, wc.source)


def cubes_of(area):
    srcs = area_cfg(area)["sources"]
    out = [f"results/{area}/cubes/{s}.zarr" for s in srcs]
    out += [f"results/{area}/cubes/{layer}.zarr" for layer in ("dem", "geology")]
    return out


def qa_inputs(wc):
    srcs = [s for s in area_cfg(wc.area)["sources"] if s in CUBE_SOURCES]
    return [f"results/{wc.area}/qa/{s}_scenes.csv" for s in srcs]


def truth_path(area, year):
    return str(layout.truth_landuse_path(raw_dir(area), int(year)))


def classical_years(area):
    years = config["classical"]["years"]
    return years if years is not None else area_years(area_cfg(area))


def feature_cfg(area):
    """The features block restricted to the sources the area has."""
    cfg = dict(config["features"])
    cfg["sources"] = [s for s in cfg["sources"] if s in area_cfg(area)["sources"]]
    return cfg


def feature_inputs(wc):
    srcs = feature_cfg(wc.area)["sources"]
    out = {s: f"results/{wc.area}/cubes/{s}.zarr" for s in srcs}
    out["dem"] = f"results/{wc.area}/cubes/dem.zarr"
    if config["features"].get("geology"):
        out["geology"] = f"results/{wc.area}/cubes/geology.zarr"
    return out


def classical_targets(area):
    years = area_years(area_cfg(area))
    return [
        f"results/{area}/cubes/fused.zarr",
        f"results/{area}/features/selection.csv",
        f"results/{area}/models/classical/metrics.csv",
        *(f"results/{area}/maps/landuse_{y}.tif" for y in years),
    ]


def all_targets(wc=None):
    out = []
    for area in AREAS:
        out += cubes_of(area)
        out.append(f"results/{area}/qa/scenes.csv")
        out += classical_targets(area)
        out += product_targets(area, area_cfg(area), config["products"])
        out += learn_targets(area)
        out += [f"results/{area}/robustness/{n}.csv" for n in ("noise", "table5", "significance")]
    return out


def learn_targets(area):
    learn = config["learn"]
    out = [
        f"results/{area}/models/comparison.csv",
        f"results/{area}/models/benchmark.csv",
    ]
    if learn["dense_maps"] and "cnn_lstm" in learn["models"]:
        out += [f"results/{area}/maps/cnn_lstm_{y}.tif" for y in area_years(area_cfg(area))]
    return out


def learn_cube_inputs(wc):
    """Cubes holding the deep models' image channels ('source:band')."""
    srcs = sorted({c.split(":", 1)[0] for c in config["learn"]["channels"]})
    return {s: f"results/{wc.area}/cubes/{s}.zarr" for s in srcs}
