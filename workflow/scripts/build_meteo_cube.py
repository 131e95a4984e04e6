"""Rule build_meteo_cube: station QC, aggregation, interpolation, gap filling."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_build_meteo_cube

setup_logging(snakemake.log[0])
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_build_meteo_cube(
        snakemake.input.stations,
        snakemake.input.dem,
        area={"id": snakemake.wildcards.area, **snakemake.params.area},
        cube_cfg=snakemake.params.cube,
        out=snakemake.output.cube,
        qc_out=snakemake.output.qc,
    )
