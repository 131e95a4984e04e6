"""Rule ingest_landsat8: one Landsat 8 L1 scene onto the common grid."""

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_ingest_landsat8

setup_logging(snakemake.log[0])
step_ingest_landsat8(
    snakemake.params.scene_dir,
    snakemake.params.grid,
    snakemake.params.options,
    snakemake.output.tif,
    snakemake.output.qa,
)
