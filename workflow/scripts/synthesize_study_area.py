"""Rule synthesize_study_area_<area>: write the embedded study area's raw inputs."""

from pathlib import Path

from coexplore.logs import setup_logging
from coexplore.synth import write_study_area

setup_logging(snakemake.log[0])
write_study_area(snakemake.params.area, Path(snakemake.params.raw))
