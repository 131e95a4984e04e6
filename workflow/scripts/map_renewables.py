"""Rule map_renewables: solar and wind resource maps with exclusions."""

from coexplore.logs import setup_logging
from coexplore.steps.products import step_map_renewables

setup_logging(snakemake.log[0])
step_map_renewables(
    snakemake.input.meteo,
    snakemake.input.landsat8,
    snakemake.input.landuse,
    snakemake.input.stations,
    dem_path=snakemake.input.get("dem"),
    area=snakemake.params.area,
    cfg=snakemake.params.renewables,
    out_solar=snakemake.output.solar,
    out_wind=snakemake.output.wind,
    out_exclusion=snakemake.output.exclusion,
    out_stations=snakemake.output.stations,
)
