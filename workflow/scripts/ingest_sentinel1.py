"""Rule ingest_sentinel1: one Sentinel-1 GRD product onto the common grid."""

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_ingest_sentinel1

setup_logging(snakemake.log[0])
step_ingest_sentinel1(
    snakemake.params.safe_dir,
    snakemake.params.grid,
    snakemake.params.options,
    snakemake.output.tif,
    snakemake.output.qa,
)
