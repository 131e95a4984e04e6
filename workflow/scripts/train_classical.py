"""Rule train_classical: RF, SVM, KNN, ANN, NB on the selected features (Table 3 of the second seed)."""

from pathlib import Path

from coexplore.logs import setup_logging
from coexplore.steps.classical import step_train_classical

setup_logging(snakemake.log[0])
years = snakemake.params.years
step_train_classical(
    dict(zip(years, snakemake.input.stacks, strict=True)),
    dict(zip(years, snakemake.input.truth, strict=True)),
    snakemake.input.selected,
    area=snakemake.params.area,
    cfg=snakemake.params.classical,
    out_dir=Path(snakemake.output.metrics).parent,
    splits_path=snakemake.input.splits,
)
