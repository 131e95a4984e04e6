"""Rule select_features: Relief-F, RF and combined selection, Table 5 of the second seed."""

from coexplore.logs import setup_logging
from coexplore.steps.classical import step_select_features

setup_logging(snakemake.log[0])
years = snakemake.params.years
step_select_features(
    dict(zip(years, snakemake.input.stacks, strict=True)),
    dict(zip(years, snakemake.input.truth, strict=True)),
    area=snakemake.params.area,
    cfg=snakemake.params.classical,
    out_table=snakemake.output.table,
    out_seed=snakemake.output.seed,
    out_ranking=snakemake.output.ranking,
    out_selected=snakemake.output.selected,
    splits_path=snakemake.input.splits,
)
