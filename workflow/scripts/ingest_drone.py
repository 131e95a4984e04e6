"""Rule ingest_drone: one drone orthomosaic aggregated onto the common grid."""

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_ingest_drone

setup_logging(snakemake.log[0])
step_ingest_drone(
    snakemake.input[0], snakemake.params.grid, snakemake.output.tif, snakemake.output.qa
)
