"""Rule build_cube: co-registration check, compositing, gap filling of one source."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_build_cube

setup_logging(snakemake.log[0])
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_build_cube(
        snakemake.input.tifs,
        snakemake.input.qas,
        source=snakemake.wildcards.source,
        area={"id": snakemake.wildcards.area, **snakemake.params.area},
        cube_cfg=snakemake.params.cube,
        out=snakemake.output.cube,
        qa_out=snakemake.output.qa,
    )
