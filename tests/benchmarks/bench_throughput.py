"""Throughput benchmark of the deep models (prints a table; not a test).

Images/s (one image = one patch time series) and wall time over data sets of
1000, 3000 and 5000 sequences by default, for every model, plus the plain
eager fp32 CNN-LSTM reference and our optimised inference as a ratio to it,
with the check that both compute the same outputs.

    .venv/bin/python tests/benchmarks/bench_throughput.py
    .venv/bin/python tests/benchmarks/bench_throughput.py --models cnn_lstm --sizes 256 512
    .venv/bin/python tests/benchmarks/bench_throughput.py --compile --csv results/bench.csv
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import torch

from coexplore.learn.benchmark import (
    DEFAULT_MODEL_CFG,
    PUBLISHED_THROUGHPUT,
    benchmark_models,
)
from coexplore.learn.evaluate import save_table

COLUMNS = [
    "model",
    "variant",
    "size",
    "device",
    "images_per_s_mean",
    "images_per_s_std",
    "images_per_s_median",
    "wall_s_mean",
    "wall_s_std",
    "speedup_vs_reference",
    "max_abs_prob_diff",
    "class_agreement",
    "agrees",
    "peak_rss_mb",
    "cuda_peak_mb",
    "cpu_util_percent",
    "gpu_util_percent",
    "gpu_mem_mb",
    "gpu_source",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODEL_CFG))
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 3000, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--channels", type=int, default=14)
    parser.add_argument("--precision", nargs="+", choices=["fp32", "bf16"], default=None)
    parser.add_argument("--compile", action="store_true", help="torch.compile the optimised runs")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--resnet-width", type=int, default=64, help="ResNet-50 first-stage planes (64 = standard)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", default=None, help="also write the full table here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    table = benchmark_models(
        args.models,
        sizes=args.sizes,
        repeats=args.repeats,
        batch_size=args.batch_size,
        n_steps=args.steps,
        in_channels=args.channels,
        patch_size=args.patch_size,
        precisions=args.precision,
        compile=args.compile,
        model_cfg={"resnet50": {"width": args.resnet_width}},
        device=args.device,
        seed=args.seed,
    )
    shown = table[[c for c in COLUMNS if c in table.columns]]
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.precision", 3):
        print(shown.to_string(index=False))
    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} CPU threads; published: "
        f"{PUBLISHED_THROUGHPUT['images_per_s']} images/s on {PUBLISHED_THROUGHPUT['hardware']} "
        f"({PUBLISHED_THROUGHPUT['source']})"
    )
    if args.csv:
        save_table(table, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
