"""Rule train_model: one model under one seed, scored on the test split."""

from pathlib import Path

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_train_model

setup_logging(snakemake.log[0])
step_train_model(
    snakemake.input.samples,
    model=snakemake.wildcards.model,
    seed=int(snakemake.wildcards.seed),
    learn_cfg=snakemake.params.learn,
    out_dir=Path(snakemake.output.model).parent,
    search_result=snakemake.input.search[0] if snakemake.input.search else None,
)
