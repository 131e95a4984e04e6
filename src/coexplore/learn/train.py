"""Training loop shared by every deep model: SGD with momentum, joint loss,
early stopping on the validation loss, a resumable checkpoint every epoch.

Determinism: the weights are initialised after ``torch.manual_seed(seed)``,
each epoch's shuffle comes from a generator seeded by ``(seed, epoch)`` and
the global torch RNG state (dropout) is saved in the checkpoint, with
``torch.use_deterministic_algorithms`` on while training. A run killed after
epoch ``k`` and started again continues from the checkpoint of epoch ``k``
and ends with the same weights and history as a run never interrupted.

Files in ``out_dir``: ``checkpoint.pt`` (last epoch: model, optimizer, best
state, RNG states, history; tensors and plain containers only, so
``torch.load(..., weights_only=True)`` reads it), ``history.csv`` (one row
per epoch) and, at the end, ``best_model.pt`` (the weights of the epoch with
the lowest validation loss and what is needed to rebuild the model, see
:func:`load_trained`). All are written atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..errors import CheckpointMismatch, ConfigError, DataError, InputError
from ..io.atomic import atomic_path
from ..models import build_model, joint_loss, model_parameters
from .samples import SampleDataset, load_meta

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST_MODEL = "best_model.pt"
HISTORY = "history.csv"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; other names are passed to torch.

    Raises
    ------
    ConfigError
        If CUDA is asked for but not available.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but CUDA is not available; use 'auto' or 'cpu'")
    return resolved


def data_dimensions(model_name: str, meta: Mapping) -> dict:
    """Constructor arguments a model takes from the samples' ``meta.json``
    (channels, external features, classes, steps, modality groups)."""
    known = {
        "in_channels": len(meta["channels"]),
        "n_external": int(meta["n_external"]),
        "n_classes": int(meta["n_classes"]),
        "n_steps": int(meta["n_steps"]),
        "groups": [list(g) for g in meta["channel_groups"].values()],
    }
    accepted = model_parameters(model_name)
    return {k: v for k, v in known.items() if k in accepted}


def _plain(value: object) -> object:
    """JSON round trip: tuples become lists so configs compare and pickle plainly."""
    return json.loads(json.dumps(value))


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Turn on torch's deterministic algorithms for the block, then restore the previous mode."""
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    if device.type == "cuda":
        # cuBLAS needs a fixed workspace for reproducible results
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def evaluate_loss(
    model: nn.Module, loader: DataLoader, device: torch.device
) -> tuple[float, float]:
    """Mean joint loss and accuracy of ``model`` over ``loader``.

    Raises
    ------
    DataError
        If the loader yields no sample.
    """
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.inference_mode(), _autocast(device):
        for x, ext, y, target in loader:
            x, ext, y, target = (t.to(device, non_blocking=True) for t in (x, ext, y, target))
            logits, regression, _ = model(x, ext)
            total += float(joint_loss(logits, regression, y, target)) * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            n += len(y)
    if n == 0:
        raise DataError("the evaluation split is empty; build samples with a non-empty split")
    return total / n, correct / n


def _save(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(
    model_name: str,
    model_cfg: Mapping[str, object],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    batch_size: int = 64,
    weight_decay: float = 1e-3,
    epochs: int = 100,
    patience: int = 10,
    seed: int,
    device: str = "auto",
    num_workers: int = 0,
    resume: bool = True,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> pd.DataFrame:
    """Train one model on the samples in ``data_dir``.

    Parameters
    ----------
    model_name
        Registry name (:data:`coexplore.models.MODELS`).
    model_cfg
        Model settings beyond the data dimensions (which come from ``meta.json``).
    data_dir
        Samples written by :func:`coexplore.learn.samples.build_samples`.
    out_dir
        Where the checkpoint, history and best model go.
    lr, momentum, weight_decay
        SGD settings (seed: 1e-3, 0.9, 1e-3 as L2 penalty).
    batch_size
        Samples per step (seed: 64).
    epochs
        Most epochs (seed: 100).
    patience
        Epochs without a lower validation loss before stopping.
    seed
        Seed of the initialisation, the shuffles and dropout.
    device
        ``"auto"`` (CUDA if available, with bf16 autocast and channels_last),
        ``"cpu"`` or ``"cuda"``.
    num_workers
        DataLoader worker processes.
    resume
        Continue from ``out_dir/checkpoint.pt`` if it exists.
    on_epoch_end
        Called as ``on_epoch_end(epoch, history_row)`` after each epoch's
        checkpoint is written (progress reporting; an exception it raises
        stops the run like a kill would).

    Returns
    -------
    pandas.DataFrame
        One row per epoch: epoch, train_loss, val_loss, val_accuracy, lr, best.

    Raises
    ------
    ConfigError
        If a setting is out of range, or the checkpoint was made with other settings.
    DataError
        If the training or validation split is empty.
    InputError
        If ``data_dir`` has no samples.
    """
    if not (lr > 0 and batch_size >= 1 and epochs >= 1 and patience >= 1 and 0 <= momentum < 1):
        raise ConfigError(
            f"lr={lr}, batch_size={batch_size}, epochs={epochs}, patience={patience}, "
            f"momentum={momentum}: need lr > 0, batch/epochs/patience >= 1, 0 <= momentum < 1"
        )
    out_dir = Path(out_dir)
    meta = load_meta(data_dir)
    dev = resolve_device(device)
    train_set = SampleDataset(data_dir, "train")
    val_set = SampleDataset(data_dir, "val")
    for ds in (train_set, val_set):
        if len(ds) == 0:
            raise DataError(
                f"{data_dir}: the {ds.split} split has no sample; rebuild the samples with a "
                "larger area, smaller patches or more samples"
            )
    dims = data_dimensions(model_name, meta)
    config = _plain(
        {
            "model_name": model_name,
            "model_cfg": dict(model_cfg),
            "dims": dims,
            "lr": lr,
            "momentum": momentum,
            "batch_size": batch_size,
            "weight_decay": weight_decay,
            "epochs": epochs,
            "patience": patience,
            "seed": seed,
            "device": dev.type,
            "data": {"n_samples": meta["n_samples"], "seed": meta["seed"]},
        }
    )
    with deterministic(dev):
        torch.manual_seed(seed)
        model = build_model(model_name, **dims, **dict(model_cfg)).to(dev)
        if dev.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
        )
        state = {
            "epoch": 0,
            "best_val_loss": math.inf,
            "best_epoch": 0,
            "bad_epochs": 0,
            "history": [],
            "best_state": _clone_state(model),
            "finished": False,
        }
        checkpoint = out_dir / CHECKPOINT
        if resume and checkpoint.exists():
            state = _restore(checkpoint, config, model, optimizer, dev)
            log.info("resuming %s from epoch %d", model_name, state["epoch"])
        pin = dev.type == "cuda"
        val_loader = DataLoader(
            val_set, batch_size=batch_size, num_workers=num_workers, pin_memory=pin
        )
        while not state["finished"]:
            epoch = state["epoch"]
            started = time.perf_counter()
            generator = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
            loader = DataLoader(
                train_set,
                batch_size=batch_size,
                shuffle=True,
                generator=generator,
                num_workers=num_workers,
                pin_memory=pin,
            )
            train_loss = _train_epoch(model, loader, optimizer, dev)
            val_loss, val_acc = evaluate_loss(model, val_loader, dev)
            improved = val_loss < state["best_val_loss"]
            if improved:
                state.update(best_val_loss=val_loss, best_epoch=epoch + 1, bad_epochs=0)
                state["best_state"] = _clone_state(model)
            else:
                state["bad_epochs"] += 1
            row = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "lr": optimizer.param_groups[0]["lr"],
                "best": bool(improved),
            }
            state["history"].append(row)
            state["epoch"] = epoch + 1
            state["finished"] = state["epoch"] >= epochs or state["bad_epochs"] >= patience
            _save(_checkpoint(state, config, model, optimizer, dev), checkpoint)
            _write_history(state["history"], out_dir / HISTORY)
            log.info(
                "%s epoch %d: train %.4f val %.4f acc %.3f (%.1f s)%s",
                model_name,
                epoch + 1,
                train_loss,
                val_loss,
                val_acc,
                time.perf_counter() - started,
                " best" if improved else "",
            )
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, row)
    _write_history(state["history"], out_dir / HISTORY)
    _save(
        {
            "model_name": model_name,
            "model_cfg": config["model_cfg"],
            "dims": config["dims"],
            "state_dict": {k: v.cpu() for k, v in state["best_state"].items()},
            "best_epoch": state["best_epoch"],
            "best_val_loss": state["best_val_loss"],
            "channels": list(meta["channels"]),
            "external_features": list(meta["external_features"]),
        },
        out_dir / BEST_MODEL,
    )
    return pd.DataFrame(state["history"])


def _train_epoch(
    model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, device: torch.device
) -> float:
    model.train()
    total, n = 0.0, 0
    for x, ext, y, target in loader:
        x, ext, y, target = (t.to(device, non_blocking=True) for t in (x, ext, y, target))
        with _autocast(device):
            logits, regression, _ = model(x, ext)
            loss = joint_loss(logits, regression, y, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(y)
        n += len(y)
    return total / n


def _checkpoint(
    state: dict, config: dict, model: nn.Module, optimizer: torch.optim.Optimizer, dev: torch.device
) -> dict:
    return {
        "config": config,
        "epoch": state["epoch"],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "best_state": state["best_state"],
        "best_val_loss": state["best_val_loss"],
        "best_epoch": state["best_epoch"],
        "bad_epochs": state["bad_epochs"],
        "history": state["history"],
        "finished": state["finished"],
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if dev.type == "cuda" else [],
    }


def _restore(
    path: Path,
    config: dict,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    dev: torch.device,
) -> dict:
    try:
        ck = torch.load(path, map_location=dev, weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise InputError(
            path, f"checkpoint is unreadable ({exc})", "delete it to train from scratch"
        ) from exc
    if ck["config"] != config:
        changed = sorted(k for k in config if ck["config"].get(k) != config[k])
        raise CheckpointMismatch(
            f"{path} was written with other settings ({changed}); delete it or train with the "
            "same settings, or pass resume=False"
        )
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["rng_cpu"].cpu())
    if dev.type == "cuda" and ck["rng_cuda"]:
        torch.cuda.set_rng_state_all([s.cpu() for s in ck["rng_cuda"]])
    return {
        "epoch": ck["epoch"],
        "best_val_loss": ck["best_val_loss"],
        "best_epoch": ck["best_epoch"],
        "bad_epochs": ck["bad_epochs"],
        "history": list(ck["history"]),
        "best_state": ck["best_state"],
        "finished": ck["finished"],
    }


def _write_history(history: list[dict], path: Path) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(history).to_csv(tmp, index=False)


def load_trained(path: str | Path, *, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a trained model from ``best_model.pt``.

    Parameters
    ----------
    path
        A ``best_model.pt`` written by :func:`train`.
    device
        Where to put the model.

    Returns
    -------
    tuple
        The model in eval mode and the file's other entries (name, settings, best epoch).

    Raises
    ------
    InputError
        If the file is missing or not a model written by :func:`train`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model file does not exist", "train the model first")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        raise InputError(path, f"unreadable model file ({exc})", "retrain the model") from exc
    try:
        model = build_model(saved["model_name"], **saved["dims"], **saved["model_cfg"])
        model.load_state_dict(saved["state_dict"])
    except (KeyError, RuntimeError, TypeError, ConfigError) as exc:
        raise InputError(
            path, f"not a model written by coexplore.learn.train ({exc})", "retrain the model"
        ) from exc
    info = {k: v for k, v in saved.items() if k != "state_dict"}
    return model.to(resolve_device(device)).eval(), info
