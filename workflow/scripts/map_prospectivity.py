"""Rule map_prospectivity: alteration evidence, lithology and faults, evaluated on the ore zone."""

from coexplore.logs import setup_logging
from coexplore.steps.products import step_map_prospectivity

setup_logging(snakemake.log[0])
step_map_prospectivity(
    snakemake.input.landsat8,
    snakemake.input.geology,
    snakemake.input.ore,
    area=snakemake.params.area,
    cfg=snakemake.params.prospectivity,
    out_map=snakemake.output.map,
    out_evaluation=snakemake.output.evaluation,
    out_success=snakemake.output.success,
)
