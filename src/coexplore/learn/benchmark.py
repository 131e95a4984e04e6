"""Inference throughput of the deep models, and of our optimised CNN-LSTM
inference against a plain eager fp32 implementation of the same network.

One *image* is one patch time series ``(T, C, P, P)`` with its external
series. For each model, data-set size and precision the same seeded batches
are pushed through the model ``repeats`` times; we report images/s and wall
time (mean and standard deviation over repeats), the peak resident memory
of the process (psutil, sampled) or the peak CUDA allocation, the CPU
utilisation (process CPU time / wall time / cores), and on CUDA the GPU
utilisation and memory from NVML (``pynvml`` when importable, else
``nvidia-smi``; a column says which, or why none).

Optimised inference (:func:`optimise_for_inference`): eval mode,
``torch.inference_mode``, channels_last weights and frames, time folded into
the batch (one CNN call over ``N * T`` frames, see the models), stride-1 max
pooling without argmax indices
(:func:`~coexplore.models.cnn_lstm.fast_pooling`), optional
``torch.compile`` (inductor with weight freezing) and bf16 autocast where the
hardware has bf16 units (CUDA; CPUs with AMX/AVX512-BF16). The reference
(:class:`~coexplore.models.reference.ReferenceCNNLSTM`) evaluates the same
weights batch by batch, step by step, in fp32. Each optimised variant's
outputs are compared with the reference's (largest probability and
regression difference, share of equal classes) so a speed-up is only
reported together with the proof that it computes the same function.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import psutil
import torch
from torch import nn

from ..errors import ConfigError
from ..models import build_model
from ..models.cnn_lstm import CNNLSTM, fast_pooling
from ..models.reference import ReferenceCNNLSTM
from .train import resolve_device

#: Throughput the first seed reports for its CNN-LSTM (images/s on one GPU).
PUBLISHED_THROUGHPUT = {
    "images_per_s": 2.19,
    "hardware": "NVIDIA GTX 1080 Ti",
    "source": "first seed (reported)",
}

#: Largest differences from the reference accepted as "the same function".
TOLERANCE = {"fp32": 1e-4, "bf16": 5e-2}

#: Model settings of the default benchmark (the paper-sized networks).
DEFAULT_MODEL_CFG: dict[str, dict] = {
    "cnn_lstm": {},
    "cnn": {},
    "lstm": {},
    "transformer": {},
    "mdnn": {},
    "resnet50": {},
}

Forward = Callable[[torch.Tensor, torch.Tensor], tuple]


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` has fast bf16 matrix units (CUDA bf16, or oneDNN bf16 on CPU)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def optimise_for_inference(
    model: nn.Module,
    *,
    device: torch.device,
    precision: str = "fp32",
    channels_last: bool = True,
    fast_pool: bool = True,
    compile: bool = False,
) -> Forward:
    """Wrap a model for fast inference.

    Parameters
    ----------
    model
        Any model of :mod:`coexplore.models` (left unchanged: a copy is optimised).
    device
        Where to run.
    precision
        ``"fp32"`` or ``"bf16"`` (autocast).
    channels_last
        Store conv weights channels_last (frames follow, see ``FrameCNN``).
    fast_pool
        Run stride-1 max pooling as shifted maxima after the ReLU swap
        (:func:`~coexplore.models.cnn_lstm.fast_pooling`; the same values).
    compile
        ``torch.compile`` with inductor and weight freezing.

    Returns
    -------
    callable
        ``forward(x, external) -> (logits, regression, attention)`` under
        inference mode (and autocast for bf16).

    Raises
    ------
    ConfigError
        If ``precision`` is unknown.
    """
    if precision not in TOLERANCE:
        raise ConfigError(f"precision={precision!r} is unknown; use one of {sorted(TOLERANCE)}")
    model = fast_pooling(model) if fast_pool else copy.deepcopy(model)
    model = model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    runner: nn.Module | Callable = model
    if compile:
        runner = torch.compile(model, options={"freezing": True})
    dtype = torch.bfloat16 if precision == "bf16" else None

    def forward(x: torch.Tensor, external: torch.Tensor) -> tuple:
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=dtype, enabled=dtype is not None),
        ):
            return runner(x.to(device, non_blocking=True), external.to(device, non_blocking=True))

    return forward


class ResourceMonitor:
    """Samples resident memory (and GPU use) in a thread while a block runs.

    Attributes after the block: ``peak_rss_mb``, ``cpu_util_percent`` (process
    CPU time over wall time and cores), ``gpu_util_percent`` (mean of samples),
    ``gpu_mem_mb`` (peak), ``gpu_source`` (``"nvml"``, ``"nvidia-smi"`` or why none).
    """

    def __init__(self, *, device: torch.device, interval_s: float = 0.05) -> None:
        self.device = device
        self.interval_s = interval_s
        self.process = psutil.Process()
        self._stop = threading.Event()
        self.peak_rss_mb = float("nan")
        self.cpu_util_percent = float("nan")
        self.gpu_util_percent = float("nan")
        self.gpu_mem_mb = float("nan")
        self.gpu_source = "cpu run" if device.type != "cuda" else "unavailable"
        self._gpu_query: Callable[[], tuple[float, float]] | None = None
        if device.type == "cuda":
            self._gpu_query, self.gpu_source = _gpu_query(device)

    def _sample(self, rss: list[int], gpu: list[tuple[float, float]]) -> None:
        while not self._stop.is_set():
            rss.append(self.process.memory_info().rss)
            if self._gpu_query is not None:
                with contextlib.suppress(Exception):  # a failed query loses one sample only
                    gpu.append(self._gpu_query())
            self._stop.wait(self.interval_s)

    @contextlib.contextmanager
    def measure(self) -> Iterator[ResourceMonitor]:
        """Context manager measuring the enclosed block."""
        rss: list[int] = []
        gpu: list[tuple[float, float]] = []
        self._stop.clear()
        thread = threading.Thread(target=self._sample, args=(rss, gpu), daemon=True)
        cpu0, wall0 = self.process.cpu_times(), time.perf_counter()
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            rss.append(self.process.memory_info().rss)
            wall = time.perf_counter() - wall0
            cpu1 = self.process.cpu_times()
            used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
            self.cpu_util_percent = 100.0 * used / max(wall, 1e-9) / (psutil.cpu_count() or 1)
            self.peak_rss_mb = max(rss) / 2**20
            if gpu:
                self.gpu_util_percent = float(np.mean([g[0] for g in gpu]))
                self.gpu_mem_mb = float(max(g[1] for g in gpu))


def _gpu_query(device: torch.device) -> tuple[Callable[[], tuple[float, float]] | None, str]:
    """A function returning (utilisation %, memory used MiB) of the GPU, and its source."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)

        def query() -> tuple[float, float]:
            util = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
            return float(util), pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20

        return query, "nvml"
    except Exception:  # no pynvml or no NVML library: fall back to nvidia-smi
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None, "unavailable: neither pynvml nor nvidia-smi"

    def query_smi() -> tuple[float, float]:
        out = subprocess.run(
            [
                smi,
                f"--id={index}",
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout
        util, mem = (float(v) for v in out.strip().split(","))
        return util, mem

    return query_smi, "nvidia-smi"


def synthetic_batches(
    *,
    n: int,
    batch_size: int,
    n_steps: int,
    in_channels: int,
    patch_size: int,
    n_external: int,
    seed: int,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` seeded standard-normal sequences cut into batches."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_steps, in_channels, patch_size, patch_size, generator=g)
    ext = torch.randn(n, n_steps, n_external, generator=g)
    return [(x[i : i + batch_size], ext[i : i + batch_size]) for i in range(0, n, batch_size)]


def _pass(forward: Forward, batches: Sequence, size: int, device: torch.device) -> None:
    """Push ``size`` sequences through ``forward``, cycling over the batch pool."""
    done, k = 0, 0
    while done < size:
        x, ext = batches[k % len(batches)]
        take = min(len(x), size - done)
        out = forward(x[:take], ext[:take])
        done += take
        k += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    del out


def _measure(forward: Forward, batches: Sequence, size: int, device: torch.device) -> dict:
    """One timed pass over ``size`` sequences with its resource figures."""
    monitor = ResourceMonitor(device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with monitor.measure():
        start = time.perf_counter()
        _pass(forward, batches, size, device)
        wall = time.perf_counter() - start
    return {
        "wall": wall,
        "peak_rss_mb": monitor.peak_rss_mb,
        "cuda_peak_mb": (
            torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else np.nan
        ),
        "cpu_util_percent": monitor.cpu_util_percent,
        "gpu_util_percent": monitor.gpu_util_percent,
        "gpu_mem_mb": monitor.gpu_mem_mb,
        "gpu_source": monitor.gpu_source,
    }


def _summarise(passes: Sequence[dict], size: int) -> dict:
    """Mean and std over repeats (rates and walls), peaks of memory, mean utilisation."""
    walls = [p["wall"] for p in passes]
    rates = [size / w for w in walls]
    several = len(passes) > 1
    return {
        "images_per_s_mean": statistics.fmean(rates),
        "images_per_s_std": statistics.stdev(rates) if several else 0.0,
        "images_per_s_median": statistics.median(rates),
        "wall_s_mean": statistics.fmean(walls),
        "wall_s_std": statistics.stdev(walls) if several else 0.0,
        "peak_rss_mb": max(p["peak_rss_mb"] for p in passes),
        "cuda_peak_mb": max(p["cuda_peak_mb"] for p in passes),
        "cpu_util_percent": statistics.fmean(p["cpu_util_percent"] for p in passes),
        "gpu_util_percent": statistics.fmean(p["gpu_util_percent"] for p in passes),
        "gpu_mem_mb": max(p["gpu_mem_mb"] for p in passes),
        "gpu_source": passes[0]["gpu_source"],
    }


def agreement(
    ours: tuple[torch.Tensor, ...], reference: tuple[torch.Tensor, ...]
) -> dict[str, float]:
    """Largest differences of class probabilities and regression, and the share
    of equal predicted classes, between two ``(logits, regression, ...)`` outputs."""
    p, q = (torch.softmax(o[0].float().cpu(), dim=1) for o in (ours, reference))
    return {
        "max_abs_prob_diff": float((p - q).abs().max()),
        "max_abs_regression_diff": float(
            (ours[1].float().cpu() - reference[1].float().cpu()).abs().max()
        ),
        "class_agreement": float((p.argmax(1) == q.argmax(1)).float().mean()),
    }


def _concat(outputs: Sequence[tuple]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and regression of several batches, concatenated."""
    return torch.cat([o[0] for o in outputs]), torch.cat([o[1] for o in outputs])


def benchmark_models(
    models: Sequence[str] = tuple(DEFAULT_MODEL_CFG),
    *,
    sizes: Sequence[int] = (1000, 3000, 5000),
    repeats: int = 3,
    batch_size: int = 64,
    n_steps: int = 12,
    in_channels: int = 14,
    patch_size: int = 16,
    n_external: int = 32,
    model_cfg: Mapping[str, Mapping] | None = None,
    precisions: Sequence[str] | None = None,
    compile: bool = False,
    pool: int = 512,
    device: str = "auto",
    seed: int = 0,
) -> pd.DataFrame:
    """Throughput table of the models, with the CNN-LSTM reference and speed-ups.

    Parameters
    ----------
    models
        Registry names to time.
    sizes
        Data-set sizes in sequences (the seed's 1000, 3000, 5000 by default).
    repeats
        Timed passes per size (mean and std over them).
    batch_size
        Sequences per forward call (ours and the reference alike).
    n_steps, in_channels, patch_size, n_external
        Shape of a sequence.
    model_cfg
        Per-model settings (default: the paper-sized networks).
    precisions
        Subset of ``("fp32", "bf16")``; default both where bf16 is fast, else fp32.
    compile
        Use ``torch.compile`` for the optimised variants (compile time is
        reported, not timed).
    pool
        Distinct sequences generated (larger sizes cycle over them).
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    seed
        Seed of the weights and data.

    Returns
    -------
    pandas.DataFrame
        One row per model, variant and size; for the CNN-LSTM also the
        ``reference`` rows, ``speedup_vs_reference`` (ratio of the median
        images/s over the interleaved repeats) and the agreement columns.

    Raises
    ------
    ConfigError
        If a size, ``repeats`` or ``batch_size`` is below 1, or a precision is unknown.
    """
    if min(sizes) < 1 or repeats < 1 or batch_size < 1 or pool < 1:
        raise ConfigError(
            f"sizes={list(sizes)}, repeats={repeats}, batch_size={batch_size}, pool={pool}: "
            "all must be >= 1"
        )
    dev = resolve_device(device)
    if precisions is None:
        precisions = ("fp32", "bf16") if bf16_supported(dev) else ("fp32",)
    for p in precisions:
        if p not in TOLERANCE:
            raise ConfigError(f"precision {p!r} is unknown; use one of {sorted(TOLERANCE)}")
    cfgs = {**DEFAULT_MODEL_CFG, **(model_cfg or {})}
    batches = synthetic_batches(
        n=min(pool, max(sizes)),
        batch_size=batch_size,
        n_steps=n_steps,
        in_channels=in_channels,
        patch_size=patch_size,
        n_external=n_external,
        seed=seed,
    )
    common = {"n_steps": n_steps, "in_channels": in_channels, "n_external": n_external}
    rows = []
    for name in models:
        torch.manual_seed(seed)
        dims = {"in_channels": in_channels, "n_external": n_external}
        if name == "mdnn":
            dims["n_steps"] = n_steps
        model = build_model(name, **dims, **dict(cfgs.get(name, {}))).eval()
        # (label, forward, extra columns); the reference first, when there is one
        variants: list[tuple[str, Forward, dict]] = []
        check = batches[: max(1, 256 // batch_size)]
        ref_out = None
        if isinstance(model, CNNLSTM):
            reference = ReferenceCNNLSTM(model, device=dev)
            ref_out = [reference(x, e) for x, e in check]
            variants.append(("reference fp32", reference.forward, {}))
        for precision in precisions:
            started = time.perf_counter()
            forward = optimise_for_inference(
                model, device=dev, precision=precision, compile=compile
            )
            _pass(forward, batches, min(max(sizes), 2 * batch_size), dev)  # warm-up / compile
            extra: dict = {"warmup_s": time.perf_counter() - started}
            if ref_out is not None:
                extra |= agreement(_concat([forward(x, e) for x, e in check]), _concat(ref_out))
                extra["tolerance"] = TOLERANCE[precision]
                extra["agrees"] = extra["max_abs_prob_diff"] <= TOLERANCE[precision]
            variants.append((f"optimised {precision}", forward, extra))
        for size in sizes:
            passes: dict[str, list[dict]] = {label: [] for label, _, _ in variants}
            # variants alternate within each repeat, so a change in machine
            # load affects the reference and the optimised runs alike
            for _ in range(repeats):
                for label, forward, _ in variants:
                    passes[label].append(_measure(forward, batches, size, dev))
            ref_rate = None
            for label, _, extra in variants:
                row = {"model": name, "variant": label, "size": size} | common
                row |= _summarise(passes[label], size) | extra
                if label.startswith("reference"):
                    ref_rate = row["images_per_s_median"]
                elif ref_rate is not None:
                    # medians: one pass slowed by another process on a shared
                    # machine does not decide the ratio
                    row["speedup_vs_reference"] = row["images_per_s_median"] / ref_rate
                rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(3, "device", str(dev))
    return table
