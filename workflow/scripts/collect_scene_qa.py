"""Rule collect_scene_qa: one QA table of every scene of an area."""

from coexplore.logs import setup_logging
from coexplore.steps.spine import step_collect_scene_qa

setup_logging(snakemake.log[0])
step_collect_scene_qa(snakemake.input, snakemake.output[0])
