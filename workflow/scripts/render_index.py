"""Rule render_index: results/index.html linking every area's report."""

from coexplore.logs import setup_logging
from coexplore.steps.report import step_render_index

setup_logging(snakemake.log[0])
step_render_index(
    dict(zip(snakemake.params.areas, snakemake.input, strict=True)),
    snakemake.output[0],
    config=snakemake.params.config,
)
