# Deep models on patch time series: samples, hyperparameter trials (one job
# each), training (one job per model and seed), comparison, throughput
# benchmark, dense CNN-LSTM maps.

LEARN = config["learn"]
SEARCH = LEARN["search"]



rule build_samples:
    input:
        unpack(learn_cube_inputs),
        meteo="results/{area}/cubes/meteo.zarr",
        splits="results/{area}/splits.tif",
        truth=lambda wc: [truth_path(wc.area, y) for y in area_years(area_cfg(wc.area))],
    output:
        directory("results/{area}/samples"),
    params:
        area=lambda wc: area_cfg(wc.area),
        years=lambda wc: area_years(area_cfg(wc.area)),
        learn=LEARN,
        split={k: config["classical"][k] for k in ("block_size", "split_fractions")},
    log:
        "results/{area}/logs/build_samples.log",
    benchmark:
        "results/{area}/benchmarks/build_samples.tsv"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=30,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/build_samples.py"


rule make_trials:
    output:
        "results/{area}/search/trials.json",
    params:
        area=lambda wc: area_cfg(wc.area),
        learn=LEARN,
    log:
        "results/{area}/logs/make_trials.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/make_trials.py"


rule train_trial:
    input:
        samples="results/{area}/samples",
        trials="results/{area}/search/trials.json",
    output:
        "results/{area}/search/trial_{trial}/result.json",
    params:
        area=lambda wc: area_cfg(wc.area),
        learn=LEARN,
    log:
        "results/{area}/logs/train_trial/{trial}.log",
    benchmark:
        "results/{area}/benchmarks/train_trial/{trial}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=LEARN["gpu_jobs"],
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/train_trial.py"


rule select_hyperparameters:
    input:
        expand("results/{{area}}/search/trial_{trial}/result.json", trial=range(SEARCH["n_trials"])),
    output:
        best="results/{area}/search/best.json",
        table="results/{area}/search/trials.csv",
    params:
        model=SEARCH["model"],
    log:
        "results/{area}/logs/select_hyperparameters.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/select_hyperparameters.py"


rule train_model:
    input:
        samples="results/{area}/samples",
        search=lambda wc: (
            ["results/{area}/search/best.json"] if SEARCH["enabled"] and wc.model == SEARCH["model"] else []
        ),
    output:
        model="results/{area}/models/{model}/seed{seed}/best_model.pt",
        history="results/{area}/models/{model}/seed{seed}/history.csv",
        metrics="results/{area}/models/{model}/seed{seed}/metrics.json",
        predictions="results/{area}/models/{model}/seed{seed}/predictions.csv",
    params:
        learn=LEARN,
    log:
        "results/{area}/logs/train_model/{model}_seed{seed}.log",
    benchmark:
        "results/{area}/benchmarks/train_model/{model}_seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=LEARN["gpu_jobs"],
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/train_model.py"


rule compare_models:
    input:
        expand(
            "results/{{area}}/models/{model}/seed{seed}/metrics.json",
            model=LEARN["models"],
            seed=LEARN["seeds"],
        ),
    output:
        table=report("results/{area}/models/comparison.csv", caption="../report/comparison.rst", category="Models"),
        seeds="results/{area}/models/comparison_per_seed.csv",
    log:
        "results/{area}/logs/compare_models.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/compare_models.py"


rule benchmark_throughput:
    input:
        "results/{area}/samples",
    output:
        report("results/{area}/models/benchmark.csv", caption="../report/benchmark.rst", category="Models"),
    params:
        learn=LEARN,
    log:
        "results/{area}/logs/benchmark_throughput.log",
    benchmark:
        "results/{area}/benchmarks/benchmark_throughput.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
        gpu=LEARN["gpu_jobs"],
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/benchmark_throughput.py"


rule map_cnn_lstm:
    input:
        unpack(learn_cube_inputs),
        model=f"results/{{area}}/models/cnn_lstm/seed{LEARN['seeds'][0]}/best_model.pt",
        samples="results/{area}/samples",
        meteo="results/{area}/cubes/meteo.zarr",
    output:
        landuse=report("results/{area}/maps/cnn_lstm_{year}.tif", caption="../report/cnn_lstm_map.rst", category="Maps"),
        attention="results/{area}/maps/attention_{year}.tif",
    params:
        area=lambda wc: area_cfg(wc.area),
        learn=LEARN,
    log:
        "results/{area}/logs/map_cnn_lstm/{year}.log",
    benchmark:
        "results/{area}/benchmarks/map_cnn_lstm/{year}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/map_cnn_lstm.py"
