"""Rule compare_models: mean and spread over seeds per model, beside the first seed."""

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_compare_models

setup_logging(snakemake.log[0])
step_compare_models(snakemake.input, out=snakemake.output.table, out_seeds=snakemake.output.seeds)
