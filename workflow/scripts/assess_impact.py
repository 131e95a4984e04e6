"""Rule assess_impact: vegetation loss, reclamation progress and water near the mines."""

from coexplore.logs import setup_logging
from coexplore.steps.products import step_assess_impact

setup_logging(snakemake.log[0])
step_assess_impact(
    snakemake.input.landsat8,
    dict(zip(snakemake.params.years, snakemake.input.maps, strict=True)),
    area=snakemake.params.area,
    cfg=snakemake.params.impact,
    out_vegetation=snakemake.output.vegetation,
    out_reclamation=snakemake.output.reclamation,
    out_water=snakemake.output.water,
)
