# Time cubes: co-registration check, compositing on the regular time axis,
# gap filling; one job per source. Meteorology goes straight to its cube.


rule build_cube:
    input:
        unpack(cube_inputs),
    output:
        cube=directory("results/{area}/cubes/{source}.zarr"),
        qa="results/{area}/qa/{source}_scenes.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        cube=config["cube"],
    log:
        "results/{area}/logs/build_cube/{source}.log",
    benchmark:
        "results/{area}/benchmarks/build_cube/{source}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/build_cube.py"


rule build_meteo_cube:
    input:
        stations=lambda wc: str(layout.meteo_path(raw_dir(wc.area))),
        dem="results/{area}/cubes/dem.zarr",
    output:
        cube=directory("results/{area}/cubes/meteo.zarr"),
        qc="results/{area}/qa/meteo_qc.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        cube=config["cube"],
    log:
        "results/{area}/logs/build_meteo_cube.log",
    benchmark:
        "results/{area}/benchmarks/build_meteo_cube.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/build_meteo_cube.py"


rule collect_scene_qa:
    input:
        qa_inputs,
    output:
        "results/{area}/qa/scenes.csv",
    log:
        "results/{area}/logs/collect_scene_qa.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/collect_scene_qa.py"
