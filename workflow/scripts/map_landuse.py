"""Rule map_landuse: land-use map, probabilities, uncertainty, area-adjusted accuracy of one year."""

from coexplore.logs import setup_logging
from coexplore.steps.classical import step_map_landuse

setup_logging(snakemake.log[0])
step_map_landuse(
    snakemake.input.stack,
    snakemake.input.model,
    snakemake.input.truth,
    year=int(snakemake.wildcards.year),
    area=snakemake.params.area,
    cfg=snakemake.params.classical,
    out_map=snakemake.output.landuse,
    out_probability=snakemake.output.probability,
    out_uncertainty=snakemake.output.uncertainty,
    out_accuracy=snakemake.output.accuracy,
    splits_path=snakemake.input.splits,
)
