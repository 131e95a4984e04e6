# The embedded study area: one job per synthetic area writes the raw inputs in
# the real products' layouts. Its outputs are listed file by file (from the
# config alone) so that touching one raw scene reruns only that scene's chain.
import os

from coexplore.synth import planned_files

for _area in [a for a in AREAS if is_synthetic(a)]:

    rule:
        name:
            f"synthesize_study_area_{_area}"
        output:
            [str(p) for p in planned_files(area_cfg(_area), Path(raw_dir(_area)))],
        params:
            area={"id": _area, **area_cfg(_area)},
            raw=lambda wc, output: os.path.commonpath(output),
        log:
            f"results/{_area}/logs/synthesize_study_area.log",
        benchmark:
            f"results/{_area}/benchmarks/synthesize_study_area.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            ENV
        script:
            "../scripts/synthesize_study_area.py"
