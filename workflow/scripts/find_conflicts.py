"""Rule find_conflicts: ranked zones where mineral and energy resources meet."""

from coexplore.logs import setup_logging
from coexplore.steps.products import step_find_conflicts

setup_logging(snakemake.log[0])
step_find_conflicts(
    snakemake.input.prospectivity,
    snakemake.input.landuse,
    snakemake.input.get("solar"),
    snakemake.input.get("wind"),
    area=snakemake.params.area,
    cfg=snakemake.params.conflicts,
    out_csv=snakemake.output.csv,
    out_gpkg=snakemake.output.gpkg,
)
