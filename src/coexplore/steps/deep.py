"""Steps of the deep-learning branch: patch samples, training (one model and
seed per job), hyperparameter trials, model comparison, throughput benchmark,
dense CNN-LSTM maps."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..config import area_years
from ..errors import ConfigError, DataError
from ..grid import Grid
from ..io.atomic import atomic_path
from ..io.cubes import open_cube
from .classical import read_truth

log = logging.getLogger(__name__)

#: reflectances the external mining-history features are computed from
INDEX_ROLES = ("blue", "red", "nir", "swir1")


def _write_json(obj: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1, default=float))


def _write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)


def channel_cube(cube_paths: Mapping[str, str | Path], channels: Sequence[str]) -> xr.DataArray:
    """The (time, channel, y, x) input of the deep models from ``source:band`` names.

    Raises
    ------
    DataError
        A named source has no cube or a named band is absent.
    """
    parts = []
    for name in channels:
        if ":" not in name:
            raise ConfigError(
                f"learn.channels entry {name!r} must be 'source:band' (e.g. 'fused:pc1')"
            )
        source, band = name.split(":", 1)
        if source not in cube_paths:
            raise DataError(f"learn.channels names {name!r} but the area has no {source} cube")
        cube = open_cube(cube_paths[source])["data"]
        if band not in [str(b) for b in cube["band"].values]:
            raise DataError(
                f"learn.channels names {name!r} but {cube_paths[source]} has bands "
                f"{[str(b) for b in cube['band'].values]}"
            )
        parts.append(cube.sel(band=[band]).assign_coords(band=[name]))
    da = xr.concat(parts, dim="band", join="exact", coords="minimal", compat="override")
    da = da.assign_coords(source=("band", [c.split(":", 1)[0] for c in channels]))
    return da.drop_vars([c for c in ("spatial_ref",) if c in da.coords])


def step_build_samples(
    cube_paths: Mapping[str, str | Path],
    meteo_path: str | Path,
    truth_paths: Mapping[int, str | Path],
    *,
    area: dict,
    learn_cfg: dict,
    split_cfg: dict,
    out_dir: str | Path,
    splits_path: str | Path | None = None,
) -> dict:
    """Cut patch time series, external series, labels and targets into memory-mapped arrays."""
    from ..learn.samples import build_samples

    grid = Grid.from_config(area["grid"])
    seed = int(area["seed"])
    channels = list(learn_cfg["channels"])
    cube = channel_cube(cube_paths, channels)
    meteo = open_cube(meteo_path)["data"]
    labels = {int(y): read_truth(p, grid) for y, p in truth_paths.items()}
    from .splits import area_splits

    splits = area_splits(
        splits_path,
        grid,
        block_size=split_cfg["block_size"],
        fractions=split_cfg["split_fractions"],
        seed=seed,
    )
    index_bands = {r: f"landsat8:{r}" for r in INDEX_ROLES}
    missing = [c for c in index_bands.values() if c not in channels]
    if missing:
        raise ConfigError(
            f"learn.channels lacks {missing}: the mining-history features of the external "
            "series need the Landsat blue, red, nir and swir1 reflectances"
        )
    summary = build_samples(
        cube,
        meteo,
        labels,
        splits,
        patch_size=int(learn_cfg["patch_size"]),
        n_steps=int(learn_cfg["n_steps"]),
        n_external=int(learn_cfg["n_external"]),
        samples_per_split=dict(learn_cfg["samples_per_split"]),
        seed=seed,
        out_dir=out_dir,
        index_bands=index_bands,
    )
    log.info("samples: %s", json.dumps(summary, default=str)[:2000])
    return summary


def _optimiser(learn_cfg: dict, override: Mapping | None = None) -> dict:
    opt = dict(learn_cfg["optimizer"])
    if override:
        opt.update({k: v for k, v in override.items() if k in opt})
    return opt


def _fit(
    model: str,
    model_cfg: dict,
    samples_dir: str | Path,
    out_dir: str | Path,
    *,
    opt: dict,
    epochs: int,
    learn_cfg: dict,
    seed: int,
) -> pd.DataFrame:
    """One training run with the optimiser settings ``opt`` (see learn.train.train)."""
    from ..errors import CheckpointMismatch
    from ..learn.train import train

    def run(resume: bool) -> pd.DataFrame:
        return train(
            model,
            model_cfg,
            samples_dir,
            out_dir,
            lr=opt["lr"],
            momentum=opt["momentum"],
            batch_size=int(opt["batch_size"]),
            weight_decay=opt["weight_decay"],
            epochs=int(epochs),
            patience=int(learn_cfg["patience"]),
            seed=int(seed),
            device=learn_cfg["device"],
            resume=resume,
        )

    try:  # a killed job resumes from its last checkpoint ...
        return run(resume=True)
    except CheckpointMismatch as exc:
        # ... but Snakemake reran it because its settings changed: start afresh
        log.warning("%s; training from scratch", exc)
        return run(resume=False)


def step_train_model(
    samples_dir: str | Path,
    *,
    model: str,
    seed: int,
    learn_cfg: dict,
    out_dir: str | Path,
    search_result: str | Path | None = None,
) -> dict:
    """Train one model under one seed, then score it on the test split.

    Writes ``best_model.pt``, ``history.csv`` (per epoch), ``metrics.json``,
    ``predictions.csv`` (per test sample), ``confusion.csv`` and, for models
    with attention, ``attention.csv`` (mean weight per time step over the
    test samples).
    """

    from ..learn.evaluate import evaluate
    from ..learn.train import load_trained

    out_dir = Path(out_dir)
    model_cfg = dict(learn_cfg["model_cfg"].get(model, {}))
    opt = _optimiser(learn_cfg)
    if search_result is not None:
        best = json.loads(Path(search_result).read_text())
        if best.get("model") == model:
            model_cfg.update(best["model_cfg"])
            opt.update(best["train_kwargs"])
            log.info("using the searched configuration %s", best)
    history = _fit(
        model,
        model_cfg,
        samples_dir,
        out_dir,
        opt=opt,
        epochs=learn_cfg["epochs"],
        learn_cfg=learn_cfg,
        seed=seed,
    )
    net, _ = load_trained(out_dir / "best_model.pt", device=learn_cfg["device"])
    metrics, predictions = evaluate(
        net,
        samples_dir,
        split="test",
        device=learn_cfg["device"],
        predictions_path=out_dir / "predictions.csv",
    )
    confusion = metrics.pop("confusion", None)
    if confusion is not None:
        _write_csv(pd.DataFrame(confusion), out_dir / "confusion.csv", index=True)
    metrics.update({"model": model, "seed": int(seed), "epochs_run": int(len(history))})
    _write_json(metrics, out_dir / "metrics.json")
    att = attention_profile(net, samples_dir, device=learn_cfg["device"])
    if att is not None:
        _write_csv(att, out_dir / "attention.csv")
    return metrics


def attention_profile(
    net: Any, samples_dir: str | Path, *, device: str = "cpu"
) -> pd.DataFrame | None:
    """Mean and spread of the attention weight per time step over the test samples
    (None for models without attention)."""
    import torch
    from torch.utils.data import DataLoader

    from ..learn.samples import SampleDataset
    from ..learn.train import resolve_device

    ds = SampleDataset(samples_dir, "test")
    if len(ds) == 0:
        return None
    dev = resolve_device(device)
    net = net.to(dev).eval()
    weights = []
    with torch.inference_mode():
        for x, ext, _, _ in DataLoader(ds, batch_size=256):
            out = net(x.to(dev), ext.to(dev))
            if out[2] is None:
                return None
            weights.append(out[2].float().cpu().numpy())
    w = np.concatenate(weights)
    return pd.DataFrame({"step": np.arange(w.shape[1]), "weight": w.mean(0), "std": w.std(0)})


def step_train_trial(
    samples_dir: str | Path,
    trials_json: str | Path,
    *,
    trial: int,
    learn_cfg: dict,
    seed: int,
    out_dir: str | Path,
) -> dict:
    """Train one hyperparameter trial (search.epochs) and record its validation score."""
    from ..learn.hparam import trial_settings

    search = learn_cfg["search"]
    trials = json.loads(Path(trials_json).read_text())
    params = trials[trial]
    model_cfg, train_kwargs = trial_settings(
        params, search["model"], base_model_cfg=learn_cfg["model_cfg"].get(search["model"], {})
    )
    opt = _optimiser(learn_cfg, train_kwargs)
    history = _fit(
        search["model"],
        model_cfg,
        samples_dir,
        out_dir,
        opt=opt,
        epochs=search["epochs"],
        learn_cfg=learn_cfg,
        seed=seed,
    )
    best = history.loc[history["val_loss"].idxmin()]
    result = {
        "trial": trial,
        "params": params,
        "model_cfg": model_cfg,
        "train_kwargs": train_kwargs,
        "val_loss": float(best["val_loss"]),
        "val_accuracy": float(best["val_accuracy"]),
        "epochs_run": int(len(history)),
    }
    _write_json(result, Path(out_dir) / "result.json")
    return result


def step_make_trials(*, learn_cfg: dict, seed: int, out: str | Path) -> list[dict]:
    """The trials of the search (grid or random over the first seed's ranges)."""
    from ..learn.hparam import SEED_SPACE, make_trials

    search = learn_cfg["search"]
    trials = make_trials(
        search.get("space") or SEED_SPACE,
        method=search["method"],
        n_trials=search["n_trials"],
        seed=seed,
    )
    _write_json(trials, out)
    return trials


def step_select_trial(
    results: Sequence[str | Path], *, model: str, out: str | Path, table_out: str | Path
) -> dict:
    """Pick the trial with the lowest validation loss; record the whole table."""
    from ..learn.hparam import select_best

    rows = [json.loads(Path(p).read_text()) for p in results]
    best = select_best(rows, metric="val_loss", mode="min")
    best = {**best, "model": model}
    table = pd.DataFrame(
        [
            {
                "trial": r["trial"],
                **r["params"],
                "val_loss": r["val_loss"],
                "val_accuracy": r["val_accuracy"],
            }
            for r in rows
        ]
    )
    _write_csv(table, table_out)
    _write_json(best, out)
    return best


def step_compare_models(
    metric_paths: Sequence[str | Path], *, out: str | Path, out_seeds: str | Path
) -> pd.DataFrame:
    """Mean and standard deviation over seeds per model, beside the first seed's Figure 6."""
    from ..learn.evaluate import comparison_table

    rows = [json.loads(Path(p).read_text()) for p in metric_paths]
    per_seed = pd.DataFrame(rows)
    keep = [
        c
        for c in (
            "model",
            "seed",
            "accuracy",
            "precision",
            "recall",
            "f1",
            "kappa",
            "rmse",
            "mae",
            "r2",
        )
        if c in per_seed
    ]
    per_seed = per_seed[keep]
    _write_csv(per_seed, out_seeds)
    means = per_seed.drop(columns="seed").groupby("model").mean()
    table = comparison_table(means.to_dict(orient="index"))
    stds = per_seed.drop(columns="seed").groupby("model").std().add_suffix("_std").reset_index()
    stds["n_seeds"] = per_seed.groupby("model")["seed"].nunique().values
    stds["source"] = "this run"
    table = table.merge(stds, on=["model", "source"], how="left")
    _write_csv(table, out)
    return table


def step_benchmark(samples_dir: str | Path, *, learn_cfg: dict, out: str | Path) -> pd.DataFrame:
    """Throughput of every model on data sets of the configured sizes, with the
    eager fp32 CNN-LSTM reference and our speed-up (first seed's Tables 3, 4)."""
    from ..learn.benchmark import benchmark_models
    from ..learn.samples import load_meta

    meta = load_meta(samples_dir)
    bench = learn_cfg["benchmark"]
    table = benchmark_models(
        learn_cfg["models"],
        sizes=bench["sizes"],
        repeats=bench["repeats"],
        batch_size=int(learn_cfg["optimizer"]["batch_size"]),
        n_steps=int(meta["n_steps"]),
        in_channels=len(meta["channels"]),
        patch_size=int(learn_cfg["patch_size"]),
        n_external=int(meta["n_external"]),
        model_cfg=learn_cfg["model_cfg"],
        compile=bool(bench["compile"]),
        device=learn_cfg["device"],
        seed=0,
    )
    _write_csv(table, out)
    return table


def step_dense_map(
    model_path: str | Path,
    samples_dir: str | Path,
    cube_paths: Mapping[str, str | Path],
    meteo_path: str | Path,
    *,
    year: int,
    area: dict,
    learn_cfg: dict,
    out_map: str | Path,
    out_attention: str | Path,
) -> None:
    """Whole-area CNN-LSTM class map and attention summary of one year, sharing
    the per-frame convolutional features across positions."""
    from ..io.rasters import write_geotiff
    from ..learn.dense import dense_predict
    from ..learn.samples import external_features, load_meta, patch_statistics
    from ..learn.train import load_trained
    from ..sensors import LandUse

    grid = Grid.from_config(area["grid"])
    meta = load_meta(samples_dir)
    channels = list(meta["channels"])
    n_steps = int(meta["n_steps"])
    cube = channel_cube(cube_paths, channels)
    times = pd.DatetimeIndex(cube["time"].values)
    end = np.flatnonzero(times.year == year)
    if len(end) == 0 or end[-1] + 1 < n_steps:
        raise DataError(
            f"year {year}: fewer than {n_steps} monthly steps end in it; map another year"
        )
    sl = slice(end[-1] + 1 - n_steps, end[-1] + 1)
    st = meta["stats"]
    frames = cube.isel(time=sl).values.astype("float32")
    # missing values get the training mean, as in the samples
    frames = np.where(
        np.isfinite(frames), frames, np.asarray(st["channel_mean"], "float32")[None, :, None, None]
    )
    meteo = open_cube(meteo_path)["data"]
    variables = [str(v) for v in meteo["band"].values]
    roles = [channels.index(f"landsat8:{r}") for r in INDEX_ROLES]
    # the external series of every position, exactly as for the samples
    # (patch statistics need the whole series: lags, 12-month windows)
    stats = patch_statistics(
        cube.isel(band=roles).values.astype("float32"), patch_size=int(meta["patch_size"])
    )
    met = meteo.values.astype("float32")
    h, w = grid.shape
    n_t = len(times)
    stats = stats.reshape(n_t, stats.shape[1], h * w)
    met = met.reshape(n_t, met.shape[1], h * w)
    external = np.empty((n_steps, int(meta["n_external"]), h * w), dtype="float32")
    step = 16384  # positions per batch: bounds the (T, 32, M) temporary
    for m0 in range(0, h * w, step):
        part = external_features(
            met[:, :, m0 : m0 + step],
            stats[:, :, m0 : m0 + step],
            times.month.values,
            variables=variables,
            n_external=int(meta["n_external"]),
        )
        external[:, :, m0 : m0 + step] = part[sl]
    ext_mean = np.asarray(st["external_mean"], "float32")[None, :, None]
    external = np.where(np.isfinite(external), external, ext_mean).reshape(n_steps, -1, h, w)
    net, _ = load_trained(model_path, device="cpu")
    classes, prob, attention = dense_predict(
        net,
        frames,
        external,
        patch_size=int(meta["patch_size"]),
        stats=meta["stats"],
    )
    codes = np.asarray(sorted(LandUse.codes), dtype=np.uint8)
    class_map = np.where(classes >= 0, codes[np.clip(classes, 0, len(codes) - 1)], 0).astype(
        np.uint8
    )
    tags = {"YEAR": str(year), "MODEL": "cnn_lstm", "SOURCE_MODEL": str(model_path)}
    write_geotiff(
        out_map,
        class_map,
        transform=grid.transform,
        crs=grid.crs,
        nodata=0,
        band_names=["landuse"],
        colormap=LandUse.colours,
        category_names=LandUse.codes,
        tags=tags,
    )
    write_geotiff(
        out_attention,
        attention.astype("float32"),
        transform=grid.transform,
        crs=grid.crs,
        nodata=float("nan"),
        band_names=[str(t.date()) for t in times[sl]],
        units="attention weight",
        tags=tags,
    )
    del prob


def learn_years(area: dict) -> list[int]:
    """Years with a full window of monthly steps for the dense maps."""
    return area_years(area)
