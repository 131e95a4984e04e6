"""Rule summarise_robustness: pooled noise rows, Table 5 and the significance tests."""

from coexplore.logs import setup_logging
from coexplore.steps.robustness import step_summarise_robustness

setup_logging(snakemake.log[0])
step_summarise_robustness(
    snakemake.input.tables,
    snakemake.input.correct,
    cfg=snakemake.params.robustness,
    out_noise=snakemake.output.noise,
    out_table5=snakemake.output.table5,
    out_significance=snakemake.output.significance,
)
