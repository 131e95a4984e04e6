"""Rule ingest_static: a static layer (DEM, geology) onto the common grid."""

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_ingest_static

setup_logging(snakemake.log[0])
step_ingest_static(
    snakemake.input[0],
    snakemake.params.grid,
    snakemake.wildcards.layer,
    snakemake.output[0],
    chunks=snakemake.params.chunks,
)
