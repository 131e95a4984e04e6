"""Rule train_trial: train one hyperparameter trial."""

from pathlib import Path

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_train_trial

setup_logging(snakemake.log[0])
step_train_trial(
    snakemake.input.samples,
    snakemake.input.trials,
    trial=int(snakemake.wildcards.trial),
    learn_cfg=snakemake.params.learn,
    seed=snakemake.params.area["seed"],
    out_dir=Path(snakemake.output[0]).parent,
)
