"""Rule export_change_map: one bitemporal pair of the change store as a COG."""

from coexplore.logs import setup_logging
from coexplore.steps.products import step_export_change_map

setup_logging(snakemake.log[0])
step_export_change_map(
    snakemake.input[0],
    year_from=int(snakemake.wildcards.year_from),
    year_to=int(snakemake.wildcards.year_to),
    area=snakemake.params.area,
    out=snakemake.output[0],
)
