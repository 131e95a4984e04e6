"""Rule render_report: one self-contained HTML report per study area."""

from coexplore.logs import setup_logging
from coexplore.steps.report import step_render_report

setup_logging(snakemake.log[0])
step_render_report(
    snakemake.params.results,
    snakemake.output.html,
    snakemake.output.figures,
    area_id=snakemake.wildcards.area,
    config=snakemake.params.config,
    truth=dict(zip(snakemake.params.years, snakemake.input.truth, strict=True)),
    options=snakemake.params.options,
    versions=snakemake.params.versions,
)
