"""Rule map_cnn_lstm: whole-area CNN-LSTM class and attention maps of one year."""

import torch

from coexplore.logs import setup_logging
from coexplore.steps.deep import step_dense_map

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cubes = {
    k: snakemake.input[k] for k in snakemake.input.keys() if k not in ("model", "samples", "meteo")
}
step_dense_map(
    snakemake.input.model,
    snakemake.input.samples,
    cubes,
    snakemake.input.meteo,
    year=int(snakemake.wildcards.year),
    area=snakemake.params.area,
    learn_cfg=snakemake.params.learn,
    out_map=snakemake.output.landuse,
    out_attention=snakemake.output.attention,
)
