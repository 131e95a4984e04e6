"""Rule fuse_cubes: weighted average, MI screening and PCA of an area's cubes."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.fusion import step_fuse_cubes

setup_logging(snakemake.log[0])
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_fuse_cubes(
        {k: v for k, v in snakemake.input.items()},
        area=snakemake.params.area,
        cfg=snakemake.params.fusion,
        out_cube=snakemake.output.cube,
        out_weights=snakemake.output.weights,
        out_pca=snakemake.output.pca,
        out_mi=snakemake.output.mi,
        out_summary=snakemake.output.summary,
    )
