"""Rule build_samples: patch time series, external series, labels, targets."""

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_build_samples

setup_logging(snakemake.log[0])
cubes = {
    k: snakemake.input[k] for k in snakemake.input.keys() if k not in ("meteo", "truth", "splits")
}
step_build_samples(
    cubes,
    snakemake.input.meteo,
    dict(zip(snakemake.params.years, snakemake.input.truth, strict=True)),
    area=snakemake.params.area,
    learn_cfg=snakemake.params.learn,
    split_cfg=snakemake.params.split,
    out_dir=snakemake.output[0],
    splits_path=snakemake.input.splits,
)
