# Engineered features per year, Relief-F + RF selection, the five classical
# classifiers (second seed study), land-use maps.


rule build_features:
    input:
        unpack(feature_inputs),
    output:
        directory("results/{area}/features/stack_{year}.zarr"),
    params:
        features=lambda wc: feature_cfg(wc.area),
    log:
        "results/{area}/logs/build_features/{year}.log",
    benchmark:
        "results/{area}/benchmarks/build_features/{year}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/build_features.py"


rule make_splits:
    input:
        lambda wc: [truth_path(wc.area, y) for y in area_years(area_cfg(wc.area))],
    output:
        "results/{area}/splits.tif",
    params:
        area=lambda wc: area_cfg(wc.area),
        split={k: config["classical"][k] for k in ("block_size", "split_fractions")},
    log:
        "results/{area}/logs/make_splits.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/make_splits.py"


rule select_features:
    input:
        stacks=lambda wc: expand("results/{area}/features/stack_{year}.zarr", area=wc.area, year=classical_years(wc.area)),
        truth=lambda wc: [truth_path(wc.area, y) for y in classical_years(wc.area)],
        splits="results/{area}/splits.tif",
    output:
        table="results/{area}/features/selection.csv",
        seed="results/{area}/features/selection_vs_seed.csv",
        ranking="results/{area}/features/ranking.csv",
        selected="results/{area}/features/selected.json",
    params:
        area=lambda wc: area_cfg(wc.area),
        years=lambda wc: classical_years(wc.area),
        classical=config["classical"],
    log:
        "results/{area}/logs/select_features.log",
    benchmark:
        "results/{area}/benchmarks/select_features.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/select_features.py"


rule train_classical:
    input:
        stacks=lambda wc: expand("results/{area}/features/stack_{year}.zarr", area=wc.area, year=classical_years(wc.area)),
        truth=lambda wc: [truth_path(wc.area, y) for y in classical_years(wc.area)],
        splits="results/{area}/splits.tif",
        selected="results/{area}/features/selected.json",
    output:
        metrics="results/{area}/models/classical/metrics.csv",
        per_class="results/{area}/models/classical/per_class.csv",
        seed="results/{area}/models/classical/seed_comparison.csv",
        model="results/{area}/models/classical/best_model.pkl",
        confusion=expand("results/{{area}}/models/classical/confusion_{clf}.csv", clf=config["classical"]["classifiers"]),
    params:
        area=lambda wc: area_cfg(wc.area),
        years=lambda wc: classical_years(wc.area),
        classical=config["classical"],
    log:
        "results/{area}/logs/train_classical.log",
    benchmark:
        "results/{area}/benchmarks/train_classical.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/train_classical.py"


rule map_landuse:
    input:
        stack="results/{area}/features/stack_{year}.zarr",
        model="results/{area}/models/classical/best_model.pkl",
        truth=lambda wc: truth_path(wc.area, wc.year),
        splits="results/{area}/splits.tif",
    output:
        landuse=report("results/{area}/maps/landuse_{year}.tif", caption="../report/landuse.rst", category="Maps"),
        probability="results/{area}/maps/probability_{year}.tif",
        uncertainty="results/{area}/maps/uncertainty_{year}.tif",
        accuracy="results/{area}/models/classical/area_adjusted_{year}.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        classical=config["classical"],
    log:
        "results/{area}/logs/map_landuse/{year}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/map_landuse.py"
