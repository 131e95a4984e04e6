"""Published figures the report places beside ours, as labelled constants
with their citation. They are never re-measured here.

The report runs in the geospatial environment (no torch), so the figures
that :mod:`coexplore.learn.evaluate` and :mod:`coexplore.learn.benchmark`
also hold are repeated here; a unit test checks that both copies agree.
The second seed's tables (:data:`coexplore.learn.classical.SEED_TABLE3`,
``SEED_TABLE5``) need no copy: the workflow writes them into
``models/classical/seed_comparison.csv`` and ``features/selection_vs_seed.csv``.
"""

from __future__ import annotations

import pandas as pd

#: Citation of the first seed's figures.
FIRST_SEED = "first seed"
#: Citation of the second seed's figures.
SECOND_SEED = "second seed"

#: Display names of the deep models (registry key -> name in the papers).
MODEL_NAMES: dict[str, str] = {
    "cnn_lstm": "CNN-LSTM",
    "cnn": "CNN",
    "lstm": "LSTM",
    "transformer": "Transformer",
    "mdnn": "Multimodal DNN",
    "resnet50": "ResNet-50",
}

FIG6_SOURCE = f"{FIRST_SEED}, Fig. 6 (published)"
#: First seed, Fig. 6: accuracy and recall in percent on its own study area
#: (the same figures as :data:`coexplore.learn.evaluate.PUBLISHED_FIRST_SEED`, in %).
FIRST_SEED_FIG6 = pd.DataFrame(
    {"accuracy": [85.6, 78.2, 79.1, 84.5], "recall": [82.3, 75.4, 77.0, 80.8]},
    index=pd.Index(["cnn_lstm", "cnn", "lstm", "transformer"], name="model"),
)

TABLE5_SOURCE = f"{FIRST_SEED}, Table 5 (published)"
#: First seed, Table 5: CNN-LSTM accuracy and recall (%) under low, medium
#: and high noise.
FIRST_SEED_TABLE5 = pd.DataFrame(
    {"accuracy": [81.5, 77.3, 72.5], "recall": [78.2, 74.0, 69.1]},
    index=pd.Index(["low", "medium", "high"], name="noise level"),
)

THROUGHPUT_SOURCE = f"{FIRST_SEED}, Tables 3/4 (published)"
#: First seed, Tables 3/4: CNN-LSTM inference throughput and memory
#: (the throughput is also :data:`coexplore.learn.benchmark.PUBLISHED_THROUGHPUT`).
FIRST_SEED_THROUGHPUT = pd.DataFrame(
    {
        "value": [2.19, 4.2, 6.8],
        "unit": ["images/s", "GB", "GB"],
    },
    index=pd.Index(
        [
            "CNN-LSTM throughput (NVIDIA GTX 1080 Ti)",
            "memory, lowest reported",
            "memory, highest reported",
        ],
        name="quantity",
    ),
)


def model_name(key: str) -> str:
    """The papers' name of a model registry key (the key itself if unknown).

    Examples
    --------
    >>> model_name("cnn_lstm"), model_name("my_net")
    ('CNN-LSTM', 'my_net')
    """
    return MODEL_NAMES.get(key, key)
