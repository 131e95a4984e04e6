"""Rule detect_change: CVA + Otsu and the siamese FFT network on every bitemporal pair."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.products import step_detect_change

setup_logging(snakemake.log[0])
years = snakemake.params.years
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_detect_change(
        {k: v for k, v in snakemake.input.items() if k in ("landsat8", "sentinel1")},
        dict(zip(years, snakemake.input.truth, strict=True)),
        dict(zip(years, snakemake.input.maps, strict=True)),
        area=snakemake.params.area,
        cfg=snakemake.params.change,
        split_cfg=snakemake.params.split,
        splits_path=snakemake.input.splits,
        out_maps=snakemake.output.maps,
        out_metrics=snakemake.output.metrics,
        out_disturbance=snakemake.output.disturbance,
        threads=snakemake.threads,
    )
