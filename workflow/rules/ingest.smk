# Ingest: one job per scene; every scene ends on the common grid with a QA record.


rule ingest_landsat8:
    input:
        landsat_inputs,
    output:
        tif="results/{area}/scenes/landsat8/{scene}.tif",
        qa="results/{area}/scenes/landsat8/{scene}.qa.json",
    params:
        scene_dir=lambda wc: str(layout.landsat_scene_dir(raw_dir(wc.area), wc.scene)),
        grid=lambda wc: area_cfg(wc.area)["grid"],
        options=config["ingest"]["landsat8"],
    log:
        "results/{area}/logs/ingest_landsat8/{scene}.log",
    benchmark:
        "results/{area}/benchmarks/ingest_landsat8/{scene}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/ingest_landsat8.py"


rule ingest_sentinel1:
    input:
        sentinel1_inputs,
    output:
        tif="results/{area}/scenes/sentinel1/{scene}.tif",
        qa="results/{area}/scenes/sentinel1/{scene}.qa.json",
    params:
        safe_dir=lambda wc: str(layout.sentinel1_safe_dir(raw_dir(wc.area), wc.scene)),
        grid=lambda wc: area_cfg(wc.area)["grid"],
        options=config["ingest"]["sentinel1"],
    log:
        "results/{area}/logs/ingest_sentinel1/{scene}.log",
    benchmark:
        "results/{area}/benchmarks/ingest_sentinel1/{scene}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/ingest_sentinel1.py"


rule ingest_drone:
    input:
        lambda wc: str(layout.drone_path(raw_dir(wc.area), wc.scene)),
    output:
        tif="results/{area}/scenes/drone/{scene}.tif",
        qa="results/{area}/scenes/drone/{scene}.qa.json",
    params:
        grid=lambda wc: area_cfg(wc.area)["grid"],
    log:
        "results/{area}/logs/ingest_drone/{scene}.log",
    benchmark:
        "results/{area}/benchmarks/ingest_drone/{scene}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/ingest_drone.py"


rule ingest_static:
    input:
        lambda wc: str(layout.static_path(raw_dir(wc.area), wc.layer)),
    output:
        directory("results/{area}/cubes/{layer}.zarr"),
    params:
        grid=lambda wc: area_cfg(wc.area)["grid"],
        chunks=config["cube"]["chunks"],
    log:
        "results/{area}/logs/ingest_static/{layer}.log",
    benchmark:
        "results/{area}/benchmarks/ingest_static/{layer}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/ingest_static.py"
