"""Hyperparameter search over the first seed's ranges: grid or random trials
(deterministic per seed), a trial's settings split into model and optimiser
settings, training every trial and choosing the best on validation.

A search space maps a name to a dimension:

- ``{"type": "log", "low": a, "high": b, "n_grid": k}``: log-uniform
  (grid: ``k`` log-spaced points);
- ``{"type": "uniform", "low": a, "high": b, "n_grid": k}``;
- ``{"type": "int", "low": a, "high": b, "step": s}``: integers ``a, a+s, ..., <= b``;
- ``{"type": "choice", "values": [...]}``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..models import MODELS, model_parameters
from .train import train

#: The first seed's ranges: learning rate 1e-4..1e-2 (log), batch 16..128,
#: CNN layers 2..4, LSTM units 64..256, momentum 0.5..0.9, L2 1e-4..1e-2 (log).
SEED_SPACE: dict[str, dict] = {
    "lr": {"type": "log", "low": 1e-4, "high": 1e-2, "n_grid": 3},
    "batch_size": {"type": "choice", "values": [16, 32, 64, 128]},
    "n_conv_layers": {"type": "int", "low": 2, "high": 4, "step": 1},
    "lstm_hidden": {"type": "int", "low": 64, "high": 256, "step": 64},
    "momentum": {"type": "uniform", "low": 0.5, "high": 0.9, "n_grid": 3},
    "weight_decay": {"type": "log", "low": 1e-4, "high": 1e-2, "n_grid": 3},
}

#: trial keys that go to the optimiser (train's keywords), not the model
OPTIMISER_KEYS: tuple[str, ...] = ("lr", "batch_size", "momentum", "weight_decay")
#: kernels of the frame CNN's layers when a trial sets ``n_conv_layers``
CONV_WIDTHS: tuple[int, ...] = (32, 64, 128, 256)


def _check_dimension(name: str, dim: Mapping) -> None:
    kind = dim.get("type")
    if kind == "choice":
        if not dim.get("values"):
            raise ConfigError(f"search dimension {name!r}: 'choice' needs a non-empty 'values'")
        return
    if kind not in ("log", "uniform", "int"):
        raise ConfigError(
            f"search dimension {name!r} has type {kind!r}; use 'log', 'uniform', 'int' or 'choice'"
        )
    low, high = dim.get("low"), dim.get("high")
    if low is None or high is None or not low <= high or (kind == "log" and low <= 0):
        raise ConfigError(
            f"search dimension {name!r}: low={low}, high={high} must satisfy low <= high "
            "(and low > 0 for 'log')"
        )


def _grid_values(dim: Mapping) -> list:
    kind = dim["type"]
    if kind == "choice":
        return list(dim["values"])
    if kind == "int":
        return list(range(int(dim["low"]), int(dim["high"]) + 1, int(dim.get("step", 1))))
    n = int(dim.get("n_grid", 3))
    if kind == "log":
        return [float(v) for v in np.geomspace(dim["low"], dim["high"], n)]
    return [float(v) for v in np.linspace(dim["low"], dim["high"], n)]


def _draw(dim: Mapping, rng: np.random.Generator) -> object:
    kind = dim["type"]
    if kind == "choice":
        return dim["values"][int(rng.integers(len(dim["values"])))]
    if kind == "int":
        values = _grid_values(dim)
        return values[int(rng.integers(len(values)))]
    if kind == "log":
        return float(math.exp(rng.uniform(math.log(dim["low"]), math.log(dim["high"]))))
    return float(rng.uniform(dim["low"], dim["high"]))


def make_trials(
    space: Mapping[str, Mapping] | None = None,
    *,
    method: str = "grid",
    n_trials: int | None = None,
    seed: int,
) -> list[dict]:
    """Trial settings of a grid or random search.

    Parameters
    ----------
    space
        Search space (see the module docstring); default :data:`SEED_SPACE`.
    method
        ``"grid"``: the full grid, or ``n_trials`` of its points chosen at
        random (kept in grid order); ``"random"``: ``n_trials`` independent draws.
    n_trials
        Number of trials (required for ``"random"``).
    seed
        Seed of the draws; the same seed gives the same trials.

    Returns
    -------
    list of dict
        One mapping name -> value per trial.

    Raises
    ------
    ConfigError
        If the method, a dimension or ``n_trials`` is invalid.

    Examples
    --------
    >>> make_trials({"lr": {"type": "choice", "values": [0.1, 0.01]}}, seed=0)
    [{'lr': 0.1}, {'lr': 0.01}]
    """
    space = dict(SEED_SPACE if space is None else space)
    if not space:
        raise ConfigError("the search space is empty; give at least one dimension")
    for name, dim in space.items():
        _check_dimension(name, dim)
    if n_trials is not None and n_trials < 1:
        raise ConfigError(f"n_trials={n_trials} must be >= 1")
    rng = np.random.default_rng(seed)
    names = list(space)
    if method == "grid":
        grid = [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(_grid_values(space[n]) for n in names))
        ]
        if n_trials is None or n_trials >= len(grid):
            return grid
        keep = np.sort(rng.choice(len(grid), size=n_trials, replace=False))
        return [grid[i] for i in keep]
    if method == "random":
        if n_trials is None:
            raise ConfigError("method='random' needs n_trials")
        return [{n: _draw(space[n], rng) for n in names} for _ in range(n_trials)]
    raise ConfigError(f"search method {method!r} is unknown; use 'grid' or 'random'")


def trial_settings(
    params: Mapping[str, object], model_name: str, *, base_model_cfg: Mapping | None = None
) -> tuple[dict, dict]:
    """Split a trial into model settings and optimiser keywords of
    :func:`coexplore.learn.train.train`.

    ``n_conv_layers = n`` becomes ``conv_channels`` = the first ``n`` of
    :data:`CONV_WIDTHS`; settings of other models that this one does not
    take (e.g. LSTM units for the CNN alone) are left out.

    Returns
    -------
    tuple of dict
        ``(model_cfg, train_kwargs)``.

    Raises
    ------
    ConfigError
        If ``n_conv_layers`` is outside 1..4 or a key is no optimiser setting
        and no setting of any model.
    """
    accepted = set(model_parameters(model_name))
    model_cfg = dict(base_model_cfg or {})
    train_kwargs: dict = {}
    for key, value in params.items():
        if key in OPTIMISER_KEYS:
            train_kwargs[key] = value
        elif key == "n_conv_layers":
            n = int(value)
            if not 1 <= n <= len(CONV_WIDTHS):
                raise ConfigError(f"n_conv_layers={n} is outside 1..{len(CONV_WIDTHS)}")
            if "conv_channels" in accepted:
                model_cfg["conv_channels"] = list(CONV_WIDTHS[:n])
        elif key in accepted:
            model_cfg[key] = value
        elif not any(key in model_parameters(name) for name in MODELS):
            raise ConfigError(
                f"trial setting {key!r} is neither an optimiser setting {OPTIMISER_KEYS} nor a "
                f"setting of model {model_name!r}"
            )
    return model_cfg, train_kwargs


def select_best(
    trial_results: Sequence[Mapping], *, metric: str = "val_loss", mode: str = "min"
) -> dict:
    """The trial with the best validation score (the first one on ties).

    Parameters
    ----------
    trial_results
        One mapping per trial holding ``metric`` (and anything else, e.g. params).
    metric
        Key to compare.
    mode
        ``"min"`` or ``"max"``.

    Returns
    -------
    dict
        A copy of the best trial's mapping.

    Raises
    ------
    DataError
        If no trial has a finite ``metric``.
    ConfigError
        If ``mode`` is unknown.

    Examples
    --------
    >>> select_best([{"id": 0, "val_loss": 0.5}, {"id": 1, "val_loss": 0.3}])["id"]
    1
    """
    if mode not in ("min", "max"):
        raise ConfigError(f"mode={mode!r} is unknown; use 'min' or 'max'")
    scored = [
        (float(r[metric]), k)
        for k, r in enumerate(trial_results)
        if metric in r and r[metric] is not None and math.isfinite(float(r[metric]))
    ]
    if not scored:
        raise DataError(
            f"no trial has a finite {metric!r} among {len(trial_results)}; check that the "
            "trials trained and the metric name"
        )
    sign = 1.0 if mode == "min" else -1.0
    best = min(scored, key=lambda s: (sign * s[0], s[1]))
    return dict(trial_results[best[1]])


def run_search(
    trials: Sequence[Mapping[str, object]],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_name: str,
    base_model_cfg: Mapping | None = None,
    epochs: int,
    patience: int = 10,
    seed: int,
    device: str = "auto",
) -> pd.DataFrame:
    """Train every trial (each in ``out_dir/trial_NNN``, resumable) and tabulate.

    Returns
    -------
    pandas.DataFrame
        One row per trial: ``trial``, its settings, ``val_loss`` and
        ``val_accuracy`` of its best epoch, ``best_epoch``.
    """
    rows = []
    for k, params in enumerate(trials):
        model_cfg, train_kwargs = trial_settings(params, model_name, base_model_cfg=base_model_cfg)
        history = train(
            model_name,
            model_cfg,
            data_dir,
            Path(out_dir) / f"trial_{k:03d}",
            epochs=epochs,
            patience=patience,
            seed=seed,
            device=device,
            **train_kwargs,
        )
        best = history.loc[history["val_loss"].idxmin()]
        rows.append(
            {
                "trial": k,
                **params,
                "val_loss": float(best["val_loss"]),
                "val_accuracy": float(best["val_accuracy"]),
                "best_epoch": int(best["epoch"]),
            }
        )
    return pd.DataFrame(rows)
