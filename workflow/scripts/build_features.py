"""Rule build_features: the engineered feature stack of one year."""

import dask

from coexplore.logs import setup_logging
from coexplore.steps.classical import step_build_features

setup_logging(snakemake.log[0])
with dask.config.set(scheduler="threads", num_workers=snakemake.threads):
    step_build_features(
        {k: snakemake.input[k] for k in snakemake.input.keys() if k not in ("dem", "geology")},
        {k: snakemake.input[k] for k in snakemake.input.keys() if k in ("dem", "geology")},
        year=int(snakemake.wildcards.year),
        cfg=snakemake.params.features,
        out=snakemake.output[0],
    )
