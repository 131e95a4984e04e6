"""Rule select_hyperparameters: the trial with the best validation loss."""

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_select_trial

setup_logging(snakemake.log[0])
step_select_trial(
    snakemake.input,
    model=snakemake.params.model,
    out=snakemake.output.best,
    table_out=snakemake.output.table,
)
