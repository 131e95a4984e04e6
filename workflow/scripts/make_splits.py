"""Rule make_splits: the area's spatially blocked train/val/test split, stratified by class."""

from coexplore.logs import setup_logging
from coexplore.steps.splits import step_make_splits

setup_logging(snakemake.log[0])
step_make_splits(
    dict(enumerate(snakemake.input)),
    area=snakemake.params.area,
    cfg=snakemake.params.split,
    out=snakemake.output[0],
)
