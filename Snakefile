# coexplore: multi-source remote sensing time cubes for the joint exploration
# of mineral resources and renewable energy. A table of contents: the logic is
# in src/coexplore, the rules in workflow/rules, the scripts in workflow/scripts.
from snakemake.utils import min_version

min_version("9.0")


# The default run; `--configfile` replaces it (instead of merging into it,
# which would add the default study area to every other configuration).
if not config:

    configfile: "config/config.yaml"



report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/cube.smk"
include: "workflow/rules/fusion.smk"
include: "workflow/rules/classical.smk"
include: "workflow/rules/products.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets,
        "results/index.html",
    default_target: True
