"""Rule benchmark_throughput: images/s of every model and of the eager reference."""

import torch

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_benchmark

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
step_benchmark(snakemake.input[0], learn_cfg=snakemake.params.learn, out=snakemake.output[0])
