# Noise robustness of the deep models (issue 5): every trained model and seed
# on the test split under gaussian, salt-and-pepper and uniform noise at the
# configured SNR levels (one job each), then Table 5 and the significance
# tests of the main model against its controls.

ROBUSTNESS = config["robustness"]


rule evaluate_noise:
    input:
        model="results/{area}/models/{model}/seed{seed}/best_model.pt",
        samples="results/{area}/samples",
    output:
        table="results/{area}/robustness/noise/{model}_seed{seed}.csv",
        correct="results/{area}/robustness/noise/{model}_seed{seed}_correct.csv",
    wildcard_constraints:
        model="|".join(config["learn"]["models"]),
        seed=r"\d+",
    params:
        robustness=ROBUSTNESS,
        device=config["learn"]["device"],
    log:
        "results/{area}/logs/evaluate_noise/{model}_seed{seed}.log",
    benchmark:
        "results/{area}/benchmarks/evaluate_noise/{model}_seed{seed}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=config["learn"]["gpu_jobs"],
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/evaluate_noise.py"


rule summarise_robustness:
    input:
        tables=expand(
            "results/{{area}}/robustness/noise/{model}_seed{seed}.csv",
            model=config["learn"]["models"],
            seed=config["learn"]["seeds"],
        ),
        correct=expand(
            "results/{{area}}/robustness/noise/{model}_seed{seed}_correct.csv",
            model=config["learn"]["models"],
            seed=config["learn"]["seeds"],
        ),
    output:
        noise="results/{area}/robustness/noise.csv",
        table5=report("results/{area}/robustness/table5.csv", caption="../report/robustness.rst", category="Models"),
        significance="results/{area}/robustness/significance.csv",
    params:
        robustness=ROBUSTNESS,
    log:
        "results/{area}/logs/summarise_robustness.log",
    benchmark:
        "results/{area}/benchmarks/summarise_robustness.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/learn.yaml"
    script:
        "../scripts/summarise_robustness.py"
