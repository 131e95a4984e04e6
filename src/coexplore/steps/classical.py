"""Steps of the classical branch: feature stacks per year, Relief-F + RF
selection experiment, the five classifiers, land-use maps with area-adjusted
accuracy."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError
from ..features.selection import select_features
from ..features.stack import build_feature_stack, quiet_nan_reductions
from ..grid import Grid
from ..io.atomic import atomic_path
from ..io.cubes import open_cube, write_by_regions
from ..io.rasters import read_raster, write_geotiff
from ..learn.classical import (
    compare_selection_with_seed,
    compare_with_seed,
    make_splits,
    run_selection_experiment,
    sample_pixels,
)
from ..learn.mapping import predict_map, write_landuse_map
from ..learn.metrics import (
    accuracy_report,
    area_adjusted_accuracy,
    map_class_areas,
    sample_by_map_class,
)
from ..learn.splits import TEST
from ..models.classical import CLASSIFIERS, make_classifier
from ..sensors import LandUse

log = logging.getLogger(__name__)


def _write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = True) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)


def _write_json(obj: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1, default=str))


def read_truth(path: str | Path, grid: Grid) -> np.ndarray:
    """A ground-truth class raster on the grid (nearest-neighbour if it is not)."""
    from ..preprocess.resample import reproject_to_grid

    arr, profile = read_raster(path)
    if (
        profile["crs"] == grid.rio_crs
        and profile["transform"] == grid.transform
        and arr.shape[1:] == grid.shape
    ):
        return arr[0].astype(np.uint8)
    out = reproject_to_grid(
        arr.astype("float32"),
        src_transform=profile["transform"],
        src_crs=profile["crs"],
        grid=grid,
        resampling="nearest",
        src_nodata=profile.get("nodata"),
    )
    return np.nan_to_num(out[0], nan=0).astype(np.uint8)


#: edge (cells) of the feature store's chunks and of the regions computed at once
FEATURE_TILE = 256


def step_build_features(
    cube_paths: Mapping[str, str | Path],
    static_paths: Mapping[str, str | Path],
    *,
    year: int,
    cfg: dict,
    out: str | Path,
) -> xr.DataArray:
    """Build and write the (feature, y, x) stack of one year as Zarr.

    The cubes are opened lazily in tiles (:func:`open_cube`, ``"tiles"``) and
    the stack is computed and written one region of :data:`FEATURE_TILE`
    cells a side at a time (:func:`write_by_regions`), the tiles of a region
    in parallel with the dask scheduler in effect: memory follows the
    region, not the area.
    """
    cubes = {s: open_cube(p, chunks="tiles") for s, p in cube_paths.items()}
    static = {s: open_cube(p, chunks="tiles") for s, p in static_paths.items()}
    stack = build_feature_stack(cubes, year=year, static=static, config=cfg)
    ds = xr.Dataset({"data": stack.astype("float32")})
    ds.attrs = {"year": int(year), "n_features": int(stack.sizes["feature"])}
    # Stored chunks of one feature by up to FEATURE_TILE^2 cells (256 KiB): one
    # store write per computed tile would cost more than computing it.
    tile = {d: min(FEATURE_TILE, ds.sizes[d]) for d in ("y", "x")}
    ds = ds.chunk({"feature": 1, **tile})
    with atomic_path(out) as tmp, quiet_nan_reductions():
        write_by_regions(ds, tmp, tile=FEATURE_TILE)
    log.info("year %d: %d features", year, stack.sizes["feature"])
    return stack


def open_features(path: str | Path) -> xr.DataArray:
    """Open a feature stack written by :func:`step_build_features`."""
    try:
        ds = xr.open_zarr(path, consolidated=True, decode_coords="all")
    except Exception as exc:  # zarr raises several unrelated types for broken stores
        from ..errors import InputError

        raise InputError(
            path, f"not a readable feature stack ({exc})", "rerun build_features"
        ) from exc
    return ds["data"]


def pooled_samples_input(
    feature_paths: Mapping[int, str | Path],
    truth_paths: Mapping[int, str | Path],
    *,
    grid: Grid,
    block_size: int,
    fractions: tuple[float, float, float],
    seed: int,
    scheme: str = "blocked",
    splits_path: str | Path | None = None,
) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    """Pool several years side by side along x (features, labels, splits).

    The same spatial blocks hold in every year, so a block of the test split
    is a test block in all years: pooling keeps the spatial separation. The
    blocked split is read from ``splits_path`` (the area's shared split)
    when given; ``scheme="random"`` draws the leaky pixel split.
    """
    from .splits import read_splits

    years = sorted(feature_paths)
    if scheme == "blocked" and splits_path is not None:
        base = read_splits(splits_path, grid)
    else:
        base = make_splits(
            grid.shape, scheme=scheme, block_size=block_size, fractions=fractions, seed=seed
        )
    feats, labels, splits = [], [], []
    names = None
    for y in years:
        f = open_features(feature_paths[y]).load()
        if names is None:
            names = list(f["feature"].values)
        elif list(f["feature"].values) != names:
            raise DataError(
                f"feature stacks of {years[0]} and {y} have different features; rebuild them"
            )
        feats.append(f.drop_vars([c for c in ("x", "spatial_ref") if c in f.coords]))
        labels.append(read_truth(truth_paths[y], grid))
        splits.append(base)
    pooled = xr.concat(feats, dim="x", coords="minimal", compat="override")
    return pooled, np.concatenate(labels, axis=1), np.concatenate(splits, axis=1)


def _seed_table_frame(table: pd.DataFrame) -> pd.DataFrame:
    flat = table.copy()
    flat.columns = [f"{m}_{k}" for m, k in flat.columns]
    return flat


def step_select_features(
    feature_paths: Mapping[int, str | Path],
    truth_paths: Mapping[int, str | Path],
    *,
    area: dict,
    cfg: dict,
    out_table: str | Path,
    out_seed: str | Path,
    out_ranking: str | Path,
    out_selected: str | Path,
    splits_path: str | Path | None = None,
) -> pd.DataFrame:
    """Relief-F, RF and combined selection and the OA/Kappa table per classifier
    (the second seed's Table 5 / Fig. 7) plus the per-feature ranking."""
    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    sel = cfg["selection"]
    features, labels, splits = pooled_samples_input(
        feature_paths,
        truth_paths,
        grid=grid,
        block_size=cfg["block_size"],
        fractions=tuple(cfg["split_fractions"]),
        seed=seed,
        splits_path=splits_path,
    )
    table = run_selection_experiment(
        features,
        labels,
        splits,
        classifiers=cfg["classifiers"],
        k=sel["k"],
        fraction=sel["fraction"] if sel["k"] is None else None,
        per_class=cfg["per_class"],
        per_class_test=cfg["per_class_test"],
        seed=seed,
        n_estimators_selection=sel["n_estimators"],
    )
    samples = sample_pixels(
        features,
        labels,
        splits,
        per_class=cfg["per_class"],
        per_class_test=cfg["per_class_test"],
        seed=seed,
    )
    combined = select_features(
        samples.x_train,
        samples.y_train,
        samples.feature_names,
        method="combined",
        k=sel["k"],
        fraction=sel["fraction"] if sel["k"] is None else None,
        seed=seed,
        n_estimators=sel["n_estimators"],
    )
    _write_csv(_seed_table_frame(table), out_table)
    _write_csv(compare_selection_with_seed(table), out_seed)
    _write_csv(combined.scores.sort_values("rank"), out_ranking)
    _write_json(
        {
            "selected": {m: list(v) for m, v in table.attrs["selected"].items()},
            "n_train": table.attrs["n_train"],
            "n_test": table.attrs["n_test"],
            "n_features": table.attrs["n_features"],
            "years": sorted(int(y) for y in feature_paths),
        },
        out_selected,
    )
    return table


def step_train_classical(
    feature_paths: Mapping[int, str | Path],
    truth_paths: Mapping[int, str | Path],
    selected_json: str | Path,
    *,
    area: dict,
    cfg: dict,
    out_dir: str | Path,
    splits_path: str | Path | None = None,
) -> pd.DataFrame:
    """Train the five classifiers on the combined selection with the blocked
    split; report OA, Kappa, per-class scores and confusion matrices, and
    what a leaky random pixel split would have claimed beside it."""
    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    out_dir = Path(out_dir)
    selected = json.loads(Path(selected_json).read_text())["selected"][cfg["map_features"]]
    rows, per_class_rows, best = [], [], None
    for scheme in ("blocked", "random"):
        features, labels, splits = pooled_samples_input(
            feature_paths,
            truth_paths,
            grid=grid,
            block_size=cfg["block_size"],
            fractions=tuple(cfg["split_fractions"]),
            seed=seed,
            scheme=scheme,
            splits_path=splits_path,
        )
        samples = sample_pixels(
            features.sel(feature=selected),
            labels,
            splits,
            per_class=cfg["per_class"],
            per_class_test=cfg["per_class_test"],
            seed=seed,
        )
        for name in cfg["classifiers"]:
            model = make_classifier(name, seed=seed).fit(samples.x_train, samples.y_train)
            rep = accuracy_report(
                samples.y_test, model.predict(samples.x_test), class_names=LandUse.codes
            )
            rows.append(
                {
                    "classifier": CLASSIFIERS[name],
                    "key": name,
                    "split": scheme,
                    "OA": 100 * rep.overall_accuracy,
                    "Kappa": rep.kappa,
                    "macro_F1": float(rep.per_class["f1"].mean()),
                    "n_train": int(samples.y_train.size),
                    "n_test": int(samples.y_test.size),
                }
            )
            if scheme == "blocked":
                pc = rep.per_class.copy()
                pc.insert(0, "classifier", CLASSIFIERS[name])
                per_class_rows.append(pc)
                _write_csv(rep.confusion, out_dir / f"confusion_{name}.csv")
                if best is None or rep.kappa > best[1]:
                    best = (name, rep.kappa, model)
    long = pd.DataFrame(rows)
    wide = long.pivot(index="classifier", columns="split", values=["OA", "Kappa"])
    wide.columns = [f"{m}_{s}" for m, s in wide.columns]
    wide["OA_leakage"] = wide["OA_random"] - wide["OA_blocked"]
    metrics = (
        long[long.split == "blocked"]
        .set_index("classifier")
        .join(wide[["OA_random", "Kappa_random", "OA_leakage"]])
    )
    metrics = metrics.drop(columns=["split"]).sort_values("Kappa", ascending=False)
    _write_csv(metrics, out_dir / "metrics.csv")
    _write_csv(pd.concat(per_class_rows), out_dir / "per_class.csv")
    ours = pd.DataFrame(
        {("combined", "OA"): metrics["OA"], ("combined", "Kappa"): metrics["Kappa"]}
    )
    ours.columns = ours.columns.set_names(["method", "metric"])
    seed_cmp = compare_with_seed(ours)
    seed_cmp["OA_difference"] = seed_cmp["ours_OA"] - seed_cmp["seed_OA"]
    _write_csv(seed_cmp, out_dir / "seed_comparison.csv")
    if best is None:
        raise DataError(
            "classical.classifiers is empty; list at least one of " + ", ".join(CLASSIFIERS)
        )
    with atomic_path(out_dir / "best_model.pkl") as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump({"name": best[0], "features": selected, "model": best[2]}, fh)
    log.info("best classical model: %s (kappa %.3f)", best[0], best[1])
    return metrics


def step_map_landuse(
    feature_path: str | Path,
    model_path: str | Path,
    truth_path: str | Path,
    *,
    year: int,
    area: dict,
    cfg: dict,
    out_map: str | Path,
    out_probability: str | Path,
    out_uncertainty: str | Path,
    out_accuracy: str | Path,
    splits_path: str | Path | None = None,
) -> pd.DataFrame:
    """The best classifier's land-use map of one year with class probabilities,
    uncertainty, and its area-adjusted accuracy (Olofsson et al. 2014) from a
    sample stratified by map class inside the test blocks."""
    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    with open(model_path, "rb") as fh:
        bundle = pickle.load(fh)  # our own artefact, written by step_train_classical
    features = open_features(feature_path).sel(feature=bundle["features"])
    features = features.rio.write_crs(grid.crs)
    pred = predict_map(bundle["model"], features)
    tags = {"YEAR": str(year), "CLASSIFIER": bundle["name"]}
    write_landuse_map(out_map, pred.classes, tags=tags)
    write_geotiff(
        out_probability,
        pred.probability.values.astype("float32"),
        transform=grid.transform,
        crs=grid.crs,
        nodata=float("nan"),
        band_names=[LandUse.codes[int(c)] for c in pred.probability["class"].values],
        units="probability",
        tags=tags,
    )
    write_geotiff(
        out_uncertainty,
        np.stack([pred.uncertainty["entropy"].values, pred.uncertainty["margin"].values]).astype(
            "float32"
        ),
        transform=grid.transform,
        crs=grid.crs,
        nodata=float("nan"),
        band_names=["normalised_entropy", "margin"],
        units="1",
        tags=tags,
    )
    truth = read_truth(truth_path, grid)
    from .splits import area_splits

    splits = area_splits(
        splits_path,
        grid,
        block_size=cfg["block_size"],
        fractions=cfg["split_fractions"],
        seed=seed,
    )
    class_map = pred.classes.values
    labels = sorted(LandUse.codes)
    map_idx, ref, _ = sample_by_map_class(
        class_map,
        truth,
        per_class=cfg["per_class_test"],
        seed=seed + year,
        mask=(splits == TEST) & (truth > 0),
    )
    # the stratified estimator needs at least 2 sample pixels per mapped class;
    # a class mapped on fewer pixels of the test blocks is left out of the
    # estimate (rows and columns) and listed with a note
    n_per_class = pd.Series(map_idx).value_counts()
    all_areas = map_class_areas(class_map, labels=labels, pixel_area=grid.resolution**2 / 1e4)
    dropped = [c for c in labels if all_areas[c] > 0 and n_per_class.get(c, 0) < 2]
    labels = [c for c in labels if c not in dropped]
    keep = np.isin(map_idx, labels) & np.isin(ref, labels)
    counts = pd.crosstab(
        pd.Series(map_idx[keep], name="map"), pd.Series(ref[keep], name="reference")
    ).reindex(index=labels, columns=labels, fill_value=0)
    aa = area_adjusted_accuracy(counts, {c: all_areas[c] for c in labels}, labels=labels)
    table = aa.per_class.copy()
    table.insert(0, "name", [LandUse.codes[c] for c in table.index])
    table["note"] = ""
    for c in dropped:
        table.loc[c, ["name", "map_area", "note"]] = [
            LandUse.codes[c],
            all_areas[c],
            f"mapped on {int(n_per_class.get(c, 0))} test-block pixel(s): left out of the estimate",
        ]
    table.loc["overall", ["users_accuracy", "users_accuracy_se"]] = [
        aa.overall_accuracy,
        aa.overall_accuracy_se,
    ]
    table.loc["overall", "name"] = "overall accuracy"
    table["year"] = year
    _write_csv(table, out_accuracy)
    return table
