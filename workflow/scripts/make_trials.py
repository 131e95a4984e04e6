"""Rule make_trials: the hyperparameter trials of the search."""

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_make_trials

setup_logging(snakemake.log[0])
step_make_trials(
    learn_cfg=snakemake.params.learn, seed=snakemake.params.area["seed"], out=snakemake.output[0]
)
