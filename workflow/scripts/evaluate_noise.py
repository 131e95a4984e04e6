"""Rule evaluate_noise: one trained model and seed on the clean and noisy test split."""

from coexplore.logs import setup_logging
from coexplore.steps.robustness import step_evaluate_noise

setup_logging(snakemake.log[0])
step_evaluate_noise(
    snakemake.input.model,
    snakemake.input.samples,
    model=snakemake.wildcards.model,
    seed=int(snakemake.wildcards.seed),
    cfg=snakemake.params.robustness,
    device=snakemake.params.device,
    threads=snakemake.threads,
    out_table=snakemake.output.table,
    out_correct=snakemake.output.correct,
)
