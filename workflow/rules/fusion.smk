# Fusion of the source cubes: quality-weighted average of matched bands,
# mutual-information screening, PCA applied chunk by chunk.


rule fuse_cubes:
    input:
        unpack(lambda wc: {s: f"results/{wc.area}/cubes/{s}.zarr" for s in area_cfg(wc.area)["sources"]}),
    output:
        cube=directory("results/{area}/cubes/fused.zarr"),
        weights="results/{area}/fusion/weights.csv",
        pca="results/{area}/fusion/pca.csv",
        mi="results/{area}/fusion/mi_matrix.csv",
        summary="results/{area}/fusion/summary.json",
    params:
        area=lambda wc: area_cfg(wc.area),
        fusion=config["fusion"],
    log:
        "results/{area}/logs/fuse_cubes.log",
    benchmark:
        "results/{area}/benchmarks/fuse_cubes.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/fuse_cubes.py"
