"""Report sections on fusion, feature selection and the classical classifiers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._common import SectionInputs, figure, finish, table
from .blocks import Section
from .context import ReportContext
from .figures import bar_figure, confusion_figure, heatmap_figure
from .published import SECOND_SEED
from .readers import read_json, read_table


def json_summary(obj: dict) -> pd.DataFrame:
    """Scalar and list entries of a JSON summary as a two-column table
    (nested objects are left out: they have their own tables).

    Examples
    --------
    >>> json_summary({"n": 3, "kept": ["a", "b"], "w": {"x": 1}}).to_dict("list")
    {'key': ['n', 'kept'], 'value': ['3', 'a, b']}
    """
    rows = []
    for key, value in obj.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, list):
            text = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, float):
            text = f"{value:.4g}"
        else:
            text = str(value)
        rows.append({"key": key, "value": text})
    return pd.DataFrame(rows, columns=["key", "value"])


def selection_vs_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """Our OA per selection method beside the second seed's published ResNet50 OA,
    with the difference (ours - seed) for every classifier.

    Parameters
    ----------
    frame
        ``features/selection_vs_seed.csv``: ``method``, ``seed_<model>_OA`` and
        ``ours_<classifier>_OA`` columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by method: the seed column, then per classifier ours and the difference.

    Examples
    --------
    >>> f = pd.DataFrame({"method": ["All"], "seed_ResNet50_OA": [94.2], "ours_RF_OA": [70.2]})
    >>> selection_vs_seed(f).round(1).to_dict("records")
    [{'second seed ResNet50 OA (published)': 94.2, 'RF OA (this run)': 70.2, 'RF − seed': -23.9}]
    """
    seed_cols = [c for c in frame.columns if c.startswith("seed_")]
    ours_cols = [c for c in frame.columns if c.startswith("ours_")]
    out = pd.DataFrame(index=pd.Index(frame["method"], name="method"))
    seed = None
    for c in seed_cols:
        model = re.sub(r"^seed_|_OA$", "", c)
        out[f"{SECOND_SEED} {model} OA (published)"] = frame[c].to_numpy()
        seed = frame[c].to_numpy() if seed is None else seed
    for c in ours_cols:
        clf = re.sub(r"^ours_|_OA$", "", c)
        out[f"{clf} OA (this run)"] = frame[c].to_numpy()
        if seed is not None:
            out[f"{clf} − seed"] = frame[c].to_numpy() - seed
    return out


def per_class_wide(per_class: pd.DataFrame) -> pd.DataFrame:
    """One row per class, precision/recall/F1 of every classifier side by side.

    Parameters
    ----------
    per_class
        Long table: ``classifier``, ``class``, ``name``, ``precision``,
        ``recall``, ``f1`` and optionally ``support``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(class, name)``; columns ``"<classifier> P"``, ``" R"``,
        ``" F1"`` in the file's classifier order, then ``support``.

    Examples
    --------
    >>> t = pd.DataFrame({"classifier": ["RF", "NB"], "class": [1, 1], "name": ["veg"] * 2,
    ...                   "precision": [0.9, 0.8], "recall": [0.7, 0.6], "f1": [0.8, 0.7]})
    >>> per_class_wide(t).columns.tolist()
    ['RF P', 'RF R', 'RF F1', 'NB P', 'NB R', 'NB F1']
    """
    out = pd.DataFrame(
        index=pd.MultiIndex.from_frame(per_class[["class", "name"]].drop_duplicates())
    )
    for clf, grp in per_class.groupby("classifier", sort=False):
        g = grp.set_index(["class", "name"])
        for col, short in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            out[f"{clf} {short}"] = g[col]
    if "support" in per_class:
        out["support"] = per_class.drop_duplicates(["class", "name"]).set_index(["class", "name"])[
            "support"
        ]
    return out


def fusion_section(ctx: ReportContext) -> Section:
    """Fusion weights, PCA, mutual information, the fusion summary, feature
    importance and the selection experiment.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a table lacks the columns the section shows.
    """
    sec = Section(
        "fusion",
        "Fusion and feature selection",
        "Quality-weighted averaging of bands that several sources measure, "
        "mutual-information screening, PCA of the kept bands; engineered features "
        "ranked by Relief-F and random-forest importance.",
    )
    inp = SectionInputs(ctx)
    if p := inp.get("fusion", "weights.csv"):
        weights = read_table(p, index_col=0)
        weights.index.name = "band"
        sec.add(
            table(
                ctx,
                "tab-fusion-weights",
                "Weights of each source in the fused bands (fusion/weights.csv; inverse "
                "noise variance, rows sum to 1).",
                weights,
            )
        )
    if p := inp.get("fusion", "pca.csv"):
        pca = read_table(p, required=["component", "explained_variance_ratio", "cumulative"])
        pca = pca.set_index("component")
        sec.add(
            table(
                ctx,
                "tab-fusion-pca",
                "Explained variance ratio of the principal components (fusion/pca.csv).",
                pca[["explained_variance_ratio", "cumulative"]],
            )
        )
        loadings = pca.drop(columns=["explained_variance_ratio", "cumulative"])
        if not loadings.empty:
            sec.add(
                figure(
                    ctx,
                    heatmap_figure(
                        loadings, cmap="RdBu_r", vmin=-1, vmax=1, label="loading", xlabel="band"
                    ),
                    "PCA loadings",
                    "Loading of each kept band on each component (fusion/pca.csv).",
                )
            )
    if p := inp.get("fusion", "mi_matrix.csv"):
        mi = read_table(p, index_col=0)
        sec.add(
            figure(
                ctx,
                heatmap_figure(
                    mi, cmap="magma", label="normalised mutual information", fmt="{:.2f}"
                ),
                "Mutual information between bands",
                "Normalised mutual information of every pair of candidate bands "
                "(fusion/mi_matrix.csv); redundant bands are screened out before the PCA.",
            )
        )
    if p := inp.get("fusion", "summary.json"):
        sec.add(
            table(
                ctx,
                "tab-fusion-summary",
                "Fusion summary (fusion/summary.json).",
                json_summary(read_json(p)),
            )
        )
    if p := inp.get("features", "ranking.csv"):
        ranking = read_table(p, required=["combined"], index_col=0)
        ranking.index.name = "feature"
        n = ctx.options.max_table_rows
        top = ranking.sort_values("combined", ascending=False).head(n)
        score_cols = [c for c in ("relieff", "rf", "combined") if c in top]
        sec.add(
            figure(
                ctx,
                bar_figure(top[["combined"]], ylabel="combined importance score", horizontal=True),
                "Feature importance",
                f"The {len(top)} highest combined Relief-F + RF scores (features/ranking.csv).",
            )
        )
        sec.add(
            table(
                ctx,
                "tab-feature-ranking",
                "Feature ranking: Relief-F weight, random-forest importance, combined score, "
                "rank and whether the feature is selected (features/ranking.csv).",
                top[score_cols + [c for c in ("rank", "selected") if c in top]],
                long=True,
            )
        )
    if p := inp.get("features", "selection.csv"):
        selection = read_table(p, required=["classifier"]).set_index("classifier")
        sec.add(
            table(
                ctx,
                "tab-feature-selection",
                "Overall accuracy (%) and Kappa of each classifier on all features and on "
                "the RF, Relief-F and combined selections, spatially blocked test split "
                "(features/selection.csv).",
                selection,
            )
        )
    if p := inp.get("features", "selection_vs_seed.csv"):
        vs = read_table(p, required=["method"])
        sec.add(
            table(
                ctx,
                "tab-selection-vs-seed",
                f"Our OA (%) per selection method beside the {SECOND_SEED}'s published "
                "ResNet50 OA (its Table 5 / Fig. 7) and the difference in percentage points "
                "(features/selection_vs_seed.csv).",
                selection_vs_seed(vs),
            )
        )
    return finish(sec, inp, "No fusion or feature-selection results")


def classical_section(ctx: ReportContext) -> Section:
    """Accuracy of the classical classifiers, the leakage of a random split, the
    comparison with the second seed, per-class scores, confusion matrices and
    area-adjusted accuracy.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a table lacks the columns the section shows.
    """
    sec = Section(
        "classical",
        "Classical models",
        "Random forest, SVM, k-nearest neighbours, a neural network and naive Bayes on "
        "the selected features; tested on spatially separate blocks, and on a random "
        "pixel split to show how much neighbouring train/test pixels inflate accuracy.",
    )
    inp = SectionInputs(ctx)
    base = ("models", "classical")
    if p := inp.get(*base, "metrics.csv"):
        metrics = read_table(p, required=["classifier", "OA", "Kappa"]).set_index("classifier")
        sec.add(
            table(
                ctx,
                "tab-classical-metrics",
                "OA (%), Kappa and macro F1 on the spatially blocked test split beside OA "
                "and Kappa on a random pixel split; OA_leakage = random − blocked "
                "(models/classical/metrics.csv).",
                metrics.drop(columns=[c for c in ("key",) if c in metrics]),
            )
        )
        bars = metrics[["OA"]].rename(columns={"OA": "blocked split"})
        if "OA_random" in metrics:
            bars["random split"] = metrics["OA_random"]
        sec.add(
            figure(
                ctx,
                bar_figure(bars, ylabel="overall accuracy (%)"),
                "Blocked versus random split",
                "Overall accuracy per classifier; the gap is the spatial leakage.",
            )
        )
    if p := inp.get(*base, "seed_comparison.csv"):
        seed = read_table(p, required=["classifier"]).set_index("classifier")
        seed = seed.rename(
            columns={
                c: c.replace("seed_", f"{SECOND_SEED} (published) ")
                for c in seed.columns
                if c.startswith("seed_")
            }
        )
        sec.add(
            table(
                ctx,
                "tab-classical-seed",
                f"Our OA and Kappa beside the {SECOND_SEED}'s published Table 3 (Relief-F + "
                "RF features; only its ResNet50 Kappa is transcribed), with the OA "
                "difference in percentage points (models/classical/seed_comparison.csv).",
                seed,
            )
        )
    if p := inp.get(*base, "per_class.csv"):
        per_class = read_table(
            p, required=["classifier", "class", "name", "precision", "recall", "f1"]
        )
        sec.add(
            table(
                ctx,
                "tab-classical-per-class",
                "Precision (P), recall (R) and F1 per class and classifier on the test "
                "blocks, with the class's test support (models/classical/per_class.csv).",
                per_class_wide(per_class),
            )
        )
    conf_paths = inp.glob("models/classical/confusion_*.csv")
    if conf_paths:
        matrices = []
        for path in conf_paths:
            m = read_table(path, index_col=0)
            matrices.append((path.stem.removeprefix("confusion_").upper(), m))
        sec.add(
            figure(
                ctx,
                confusion_figure(matrices),
                "Confusion matrices",
                "Test-block confusion matrices, rows reference, columns predicted class "
                "codes (models/classical/confusion_*.csv).",
            )
        )
    for year in ctx.years:
        if p := inp.get(*base, f"area_adjusted_{year}.csv"):
            aa = read_table(p, required=["class", "name"])
            aa = aa.drop(columns=[c for c in ("year",) if c in aa]).set_index(["class", "name"])
            aa = aa.replace([np.inf, -np.inf], np.nan)
            sec.add(
                table(
                    ctx,
                    f"tab-area-adjusted-{year}",
                    f"Area-adjusted accuracy {year} (Olofsson et al. 2014): mapped and "
                    "estimated class areas (ha) with standard errors and 95 % intervals, "
                    f"user's and producer's accuracy (models/classical/area_adjusted_{year}.csv).",
                    aa,
                )
            )
    return finish(sec, inp, "No classical-model results")
