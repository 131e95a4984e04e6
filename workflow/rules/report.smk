# The per-area HTML report (one self-contained file) and the index page of
# all areas; the figures also go to `snakemake --report` through report().
from snakemake import __version__ as SNAKEMAKE_VERSION

from coexplore.steps.report import report_input_files


# Besides the files it reads by name, the report requires every final target
# of its area that rule all builds (all_targets: products, deep models,
# robustness...), so it waits for and renders what the configuration produces.
rule render_report:
    input:
        unpack(
            lambda wc: report_input_files(
                wc.area,
                area_cfg(wc.area),
                truth=[truth_path(wc.area, y) for y in area_years(area_cfg(wc.area))],
                extra=[
                    target
                    for target in all_targets()
                    if target.startswith(f"results/{wc.area}/")
                    and not target.startswith(f"results/{wc.area}/report/")
                ],
            )
        ),
    output:
        html=report(
            "results/{area}/report/report.html",
            caption="../report/report.rst",
            category="Study area report",
            labels={"area": "{area}", "file": "report.html"},
        ),
        figures=report(
            directory("results/{area}/report/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
            subcategory="{area}",
            labels={"area": "{area}", "figure": "{name}"},
        ),
    params:
        results=lambda wc: f"results/{wc.area}",
        years=lambda wc: area_years(area_cfg(wc.area)),
        # this area's block only: a change to another area does not rerun this report
        config=lambda wc: {**config, "areas": {wc.area: area_cfg(wc.area)}},
        options=config["report"],
        versions={"snakemake": SNAKEMAKE_VERSION},
    log:
        "results/{area}/logs/render_report.log",
    benchmark:
        "results/{area}/benchmarks/render_report.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/render_report.py"


rule render_index:
    input:
        expand("results/{area}/report/report.html", area=AREAS),
    output:
        report(
            "results/index.html",
            caption="../report/index.rst",
            category="Study area report",
            labels={"area": "all", "file": "index.html"},
        ),
    params:
        areas=AREAS,
        config=config,
    log:
        "results/logs/render_index.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/render_index.py"
