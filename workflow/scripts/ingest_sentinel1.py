"""Rule ingest_sentinel1: one Sentinel-1 GRD product onto the common grid."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_ingest_sentinel1

setup_logging(snakemake.log[0])
# the grid is warped tile by tile: one tile per thread of the rule
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_ingest_sentinel1(
        snakemake.params.safe_dir,
        snakemake.params.grid,
        snakemake.params.options,
        snakemake.output.tif,
        snakemake.output.qa,
    )
