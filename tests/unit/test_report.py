"""The study-area HTML report: formulas of the tables it derives, rendering
from small constructed run folders, self-containment, error paths."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from coexplore.errors import ConfigError, DataError, InputError
from coexplore.grid import Grid
from coexplore.io.cubes import to_dataset, write_cube
from coexplore.io.rasters import write_geotiff
from coexplore.report import ReportContext, ReportOptions, render_html, render_index
from coexplore.report.blocks import Note, Section, Table, format_value, slugify
from coexplore.report.figures import percentile_stretch
from coexplore.report.provenance import git_commit, read_benchmarks, runtime_summary
from coexplore.report.published import FIRST_SEED_FIG6, FIRST_SEED_THROUGHPUT
from coexplore.report.readers import decimation_step, raster_preview, read_json, read_table
from coexplore.report.sections_data import (
    class_shares,
    clearest_time,
    quality_section,
    scene_times,
)
from coexplore.report.sections_deep import deep_vs_published, noise_summary, percent_scale
from coexplore.report.sections_models import (
    classical_section,
    json_summary,
    per_class_wide,
    selection_vs_seed,
)
from coexplore.sensors import Landsat8, LandUse
from coexplore.steps.report import report_input_files, step_render_index, step_render_report

from ..conftest import ROOT

YEARS = (2021, 2022)
AREA = "demo"

#: Every table the report shows when the run produced every file.
EXPECTED_TABLES = [
    "tab-landuse-shares",
    "tab-qa-summary",
    "tab-qa-skipped",
    "tab-meteo-qc",
    "tab-fusion-weights",
    "tab-fusion-pca",
    "tab-fusion-summary",
    "tab-feature-ranking",
    "tab-feature-selection",
    "tab-selection-vs-seed",
    "tab-classical-metrics",
    "tab-classical-seed",
    "tab-classical-per-class",
    *(f"tab-area-adjusted-{y}" for y in YEARS),
    "tab-deep-comparison",
    "tab-deep-vs-first-seed",
    "tab-deep-benchmark",
    "tab-throughput-published",
    "tab-noise-summary",
    "tab-robustness-table5",
    "tab-robustness-published",
    "tab-robustness-significance",
    "tab-change-metrics",
    "tab-change-disturbance",
    "tab-prospectivity-evaluation",
    "tab-wind-stations",
    "tab-conflicts",
    "tab-impact-vegetation",
    "tab-provenance-versions",
    "tab-provenance-runtimes",
]


# --------------------------------------------------------------- a small run


def _config() -> dict:
    return {
        "areas": {
            AREA: {
                "seed": 3,
                "raw_dir": None,
                "grid": {"crs": "EPSG:32650", "resolution": 10, "extent": [0, 0, 240, 160]},
                "time": {"start": "2021-01-01", "end": "2022-12-31", "freq": "MS"},
                "sources": ["landsat8", "sentinel1", "meteo"],
            }
        },
        "cube": {"coregistration": {"max_residual_px": 0.5}},
        "report": {"figure_dpi": 40, "max_table_rows": 5},
    }


def _csv(path: Path, frame: pd.DataFrame, *, index: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=index)


def _landuse(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    arr = rng.integers(1, 7, size=shape).astype("uint8")
    arr[0, 0] = LandUse.nodata
    return arr


def make_run(root: Path) -> tuple[Path, dict, dict[int, Path]]:
    """Write a complete small run (every file the report reads) under ``root``.

    Returns the area's results folder, the configuration and the truth rasters.
    """
    rng = np.random.default_rng(11)
    cfg = _config()
    grid = Grid.from_config(cfg["areas"][AREA]["grid"])
    res = root / "results" / AREA
    times = pd.date_range("2021-05-01", periods=4, freq="MS")  # May..Aug
    ls_bands = list(Landsat8.bands)
    data = rng.uniform(0.02, 0.4, (4, len(ls_bands), *grid.shape)).astype("float32")
    filled = np.zeros(data.shape, bool)
    filled[1] = True  # June fully gap-filled: July must be chosen
    write_cube(
        to_dataset(data, grid=grid, bands=ls_bands, times=times, filled=filled),
        res / "cubes" / "landsat8.zarr",
    )
    sar = rng.normal(-12, 2, (4, 2, *grid.shape)).astype("float32")
    write_cube(
        to_dataset(sar, grid=grid, bands=["vv", "vh"], times=times), res / "cubes/sentinel1.zarr"
    )
    dem = rng.uniform(400, 500, (1, *grid.shape)).astype("float32")
    write_cube(to_dataset(dem, grid=grid, bands=["elevation"]), res / "cubes" / "dem.zarr")

    truth = {}
    for y in YEARS:
        truth[y] = root / "raw" / "truth" / f"landuse_{y}.tif"
        for path in (truth[y], res / "maps" / f"landuse_{y}.tif"):
            write_geotiff(
                path,
                _landuse(rng, grid.shape),
                transform=grid.transform,
                crs=grid.crs,
                nodata=0,
                colormap=LandUse.colours,
            )

    _csv(
        res / "qa" / "scenes.csv",
        pd.DataFrame(
            {
                "source": ["landsat8", "landsat8", "landsat8", "sentinel1"],
                "scene_id": [
                    "LC08_L1TP_123032_20210605_20210610_02_T1",
                    "LC08_L1TP_123032_20210707_20210710_02_T1",
                    "LC08_L1TP_123032_20210808_20210810_02_T1",
                    "S1A_IW_GRDH_1SDV_20210601T101155_20210601T101155_036191_043E80_B586",
                ],
                "status": ["ok", "ok", "skipped", "ok"],
                "time": [
                    "2021-06-05T02:52:15Z",
                    "2021-07-07T02:52:15Z",
                    None,
                    "2021-06-01T10:11:55Z",
                ],
                "gcp_rmse_px": [0.2, 0.3, np.nan, 1e-6],
                "coreg_residual_px": [0.1, 0.6, np.nan, 0.05],
                "coreg_residual_after_px": [0.1, 0.2, np.nan, 0.05],
                "coreg_flagged": [False, True, None, False],
                "cloud_fraction": [0.1, 0.3, 1.0, 0.0],
                "valid_fraction": [0.9, 0.7, 0.0, 1.0],
                "reason": [None, None, "only 0.0% of the grid is clear", None],
            }
        ),
    )
    _csv(res / "qa" / "meteo_qc.csv", pd.DataFrame({"rows": [690, 700], "duplicate": [2, 0]}))

    bands = ["fused:red", "landsat8:nir", "sentinel1:vv"]
    _csv(
        res / "fusion" / "weights.csv",
        pd.DataFrame({"drone": [0.1], "landsat8": [0.9]}, index=["red"]),
        index=True,
    )
    _csv(
        res / "fusion" / "pca.csv",
        pd.DataFrame(
            {
                "component": ["pc1", "pc2"],
                "explained_variance_ratio": [0.7, 0.2],
                "cumulative": [0.7, 0.9],
                **{b: rng.uniform(-1, 1, 2) for b in bands},
            }
        ),
    )
    _csv(
        res / "fusion" / "mi_matrix.csv",
        pd.DataFrame(rng.uniform(0, 1, (3, 3)), index=bands, columns=bands),
        index=True,
    )
    (res / "fusion" / "summary.json").write_text(
        json.dumps({"kept_bands": bands, "n_components": 2, "weights": {"drone": {"red": 0.1}}})
    )
    feats = [f"landsat8:summer:f{i}" for i in range(8)]
    _csv(
        res / "features" / "ranking.csv",
        pd.DataFrame(
            {
                "relieff": rng.uniform(0, 1, 8),
                "rf": rng.uniform(0, 1, 8),
                "combined": np.linspace(1, 0.3, 8),
                "rank": range(1, 9),
                "selected": [True] * 4 + [False] * 4,
            },
            index=feats,
        ),
        index=True,
    )
    _csv(
        res / "features" / "selection.csv",
        pd.DataFrame({"classifier": ["RF", "NB"], "all_OA": [70.0, 60.0], "all_Kappa": [0.6, 0.5]}),
    )
    _csv(
        res / "features" / "selection_vs_seed.csv",
        pd.DataFrame(
            {"method": ["All features"], "seed_ResNet50_OA": [94.2], "ours_RF_OA": [70.0]}
        ),
    )
    classical = res / "models" / "classical"
    _csv(
        classical / "metrics.csv",
        pd.DataFrame(
            {
                "classifier": ["RF", "NB"],
                "key": ["rf", "nb"],
                "OA": [70.0, 60.0],
                "Kappa": [0.6, 0.5],
                "OA_random": [94.0, 90.0],
                "OA_leakage": [24.0, 30.0],
            }
        ),
    )
    _csv(
        classical / "seed_comparison.csv",
        pd.DataFrame(
            {
                "classifier": ["RF"],
                "seed_OA": [94.08],
                "ours_OA": [70.0],
                "OA_difference": [-24.08],
            }
        ),
    )
    _csv(
        classical / "per_class.csv",
        pd.DataFrame(
            {
                "class": [1, 2, 1, 2],
                "classifier": ["RF", "RF", "NB", "NB"],
                "name": ["vegetation", "water"] * 2,
                "precision": [0.9, 0.8, 0.7, 0.6],
                "recall": [0.8, 0.7, 0.6, 0.5],
                "f1": [0.85, 0.75, 0.65, 0.55],
                "support": [200, 16, 200, 16],
            }
        ),
    )
    conf = pd.DataFrame([[5, 1], [2, 7]], index=pd.Index([1, 2], name="reference"), columns=[1, 2])
    _csv(classical / "confusion_rf.csv", conf, index=True)
    for y in YEARS:
        _csv(
            classical / f"area_adjusted_{y}.csv",
            pd.DataFrame(
                {
                    "class": ["1", "overall"],
                    "name": ["vegetation", "overall accuracy"],
                    "area": [200.0, np.nan],
                    "users_accuracy": [0.9, 0.88],
                    "year": [y, y],
                }
            ),
        )

    models = res / "models"
    _csv(
        models / "comparison.csv",
        pd.DataFrame(
            {
                "model": ["cnn_lstm", "cnn", "cnn_lstm"],
                "source": ["this run", "this run", "first seed, Fig. 6"],
                "accuracy_mean": [0.80, 0.70, 0.856],
                "accuracy_std": [0.01, 0.02, np.nan],
                "recall_mean": [0.75, 0.65, 0.823],
                "recall_std": [0.02, 0.03, np.nan],
            }
        ),
    )
    for model in ("cnn_lstm", "cnn"):
        for seed in (0, 1):
            run = models / model / f"seed{seed}"
            _csv(
                run / "history.csv",
                pd.DataFrame(
                    {
                        "epoch": [1, 2, 3],
                        "train_loss": [1.0, 0.8, 0.7],
                        "val_loss": [1.1, 0.9, 0.85],
                        "val_accuracy": [0.5, 0.6, 0.65],
                    }
                ),
            )
            _csv(run / "confusion.csv", conf, index=True)
    for seed in (0, 1):
        _csv(
            models / "cnn_lstm" / f"seed{seed}" / "attention.csv",
            pd.DataFrame({"step": range(6), "weight": np.full(6, 1 / 6)}),
        )
    _csv(
        models / "benchmark.csv",
        pd.DataFrame(
            {
                "model": ["cnn_lstm", "cnn_lstm"],
                "variant": ["reference fp32", "optimised fp32"],
                "size": [64, 64],
                "images_per_s_mean": [40.0, 120.0],
                "images_per_s_std": [2.0, 5.0],
                "peak_rss_mb": [900.0, 950.0],
                "device": ["cpu", "cpu"],
            }
        ),
    )
    rob = res / "robustness"
    rows = []
    for kind in ("gaussian", "salt_pepper"):
        for level, snr in (("low", 30.0), ("high", 10.0)):
            for seed in (0, 1):
                rows.append(
                    {
                        "model": "cnn_lstm",
                        "seed": seed,
                        "kind": kind,
                        "level": level,
                        "target_snr_db": snr,
                        "achieved_snr_db": snr + 0.1,
                        "draw": 0,
                        "accuracy": 0.8 - 0.01 * (30 - snr) + 0.01 * seed,
                        "recall": 0.7,
                        "precision": 0.7,
                        "f1": 0.7,
                    }
                )
    _csv(rob / "noise.csv", pd.DataFrame(rows))
    _csv(rob / "table5.csv", pd.DataFrame({"level": ["low"], "accuracy": [78.0], "recall": [70.0]}))
    _csv(
        rob / "significance.csv",
        pd.DataFrame({"test": ["paired t"], "a": ["cnn_lstm"], "b": ["cnn"], "p_holm": [0.01]}),
    )

    prod = res / "products"
    _csv(prod / "change" / "metrics.csv", pd.DataFrame({"method": ["cva"], "f1": [0.7]}))
    _csv(prod / "change" / "disturbance.csv", pd.DataFrame({"year": [2022], "disturbed_ha": [1.5]}))
    write_geotiff(
        prod / "change" / "change_2021_2022.tif",
        rng.uniform(0, 1, (4, *grid.shape)).astype("float32"),
        transform=grid.transform,
        crs=grid.crs,
        band_names=["cva_magnitude", "cva_change", "net_probability", "net_change"],
        units=["standard deviations", "1", "probability", "1"],
    )
    for name, names, units in (
        ("prospectivity.tif", ["prospectivity", "clay"], ["1", "1"]),
        ("solar.tif", ["ghi_w_m2", "energy_kwh_m2_yr"], ["W m-2", "kWh m-2 yr-1"]),
        ("wind.tif", ["speed_hub_m_s"], ["m s-1"]),
        ("exclusion.tif", ["solar_excluded", "wind_excluded"], ["1", "1"]),
    ):
        write_geotiff(
            prod / name,
            rng.uniform(0, 1, (len(names), *grid.shape)).astype("float32"),
            transform=grid.transform,
            crs=grid.crs,
            band_names=names,
            units=units,
        )
    (prod / "prospectivity_evaluation.json").write_text(json.dumps({"roc_auc": 0.91}))
    _csv(
        prod / "success_rate.csv",
        pd.DataFrame({"area_fraction": [0, 0.5, 1], "ore_fraction": [0, 0.9, 1]}),
    )
    _csv(prod / "wind_stations.csv", pd.DataFrame({"station_id": ["ST01"], "weibull_k": [2.1]}))
    _csv(prod / "conflicts.csv", pd.DataFrame({"zone": range(1, 9), "score": np.linspace(1, 0, 8)}))
    _csv(prod / "impact_vegetation.csv", pd.DataFrame({"ring": ["mine"], "area_ha": [9.9]}))

    bench = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (res / "benchmarks" / "build_cube").mkdir(parents=True)
    (res / "benchmarks" / "fuse_cubes.tsv").write_text(
        bench + "3.0\t0:00:03\t300\t1\t1\t1\t0\t0\t50\t2.5\n"
    )
    (res / "benchmarks" / "build_cube" / "landsat8.tsv").write_text(
        bench + "5.0\t0:00:05\t200\t1\t1\t1\t0\t0\t50\t4.0\n"
    )
    return res, cfg, truth


class _Page(HTMLParser):
    """Collects what the self-containment checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.images: list[str] = []
        self.tables: dict[str, bool] = {}
        self.scripts = 0
        self._table: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "action", "data"):
            if a.get(key):
                self.urls.append((tag, key, a[key]))
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = False
        if tag == "caption" and self._table is not None:
            self.tables[self._table] = True


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("run")
    res, cfg, truth = make_run(root)
    out = res / "report" / "report.html"
    step_render_report(
        res,
        out,
        res / "report" / "figures",
        area_id=AREA,
        config=cfg,
        truth=truth,
        options=cfg["report"],
        repo=root,
        versions={"snakemake": "9.0.0-test"},
    )
    return {"root": root, "res": res, "html": out.read_text(), "cfg": cfg, "truth": truth}


# ------------------------------------------------------------ known answers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (65.924276, "65.924"),
        (0.568481, "0.56848"),
        (12345.6, "12,346"),
        (-0.0001234, "-1.234e-04"),
        (0.0, "0"),
        (float("nan"), "–"),
        (None, "–"),
        (np.int64(691), "691"),
        (np.True_, "yes"),
        (pd.Timestamp("2021-05-28"), "2021-05-28"),
        (pd.Timestamp("2021-05-28 10:11:55"), "2021-05-28 10:11:55"),
        ("vegetation", "vegetation"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_slugify_and_decimation():
    assert slugify("Co-registration: residuals (px)") == "co-registration-residuals-px"
    assert decimation_step((160, 160), 600) == 1
    assert decimation_step((1000, 500), 300) == 4
    assert decimation_step((601, 10), 600) == 2


def test_html_escapes_captions_and_cells():
    sec = Section("s", "S <1>", "intro & more")
    sec.add(Table("tab-x", "caption <b>", pd.DataFrame({"a<": ["<script>"]})))
    sec.add(Note("note <i>"))
    html = render_html([sec], title="t", subtitle="u", results="r")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "caption &lt;b&gt;" in html and "note &lt;i&gt;" in html and "S &lt;1&gt;" in html


def test_table_shows_index_only_when_it_carries_information():
    plain = Table("t", "c", pd.DataFrame({"a": [1.5]}))
    named = Table("t", "c", pd.DataFrame({"a": [1.5]}, index=pd.Index(["x"], name="k")))
    assert plain.header == ["a"] and plain.rows == [[("1.5", True)]]
    assert named.header == ["k", "a"] and named.rows == [[("x", False), ("1.5", True)]]


def test_percentile_stretch_known_answer():
    band = np.arange(101, dtype=float).reshape(1, 101)
    out = percentile_stretch(np.stack([band, band * 2, band]), low=10, high=90)
    assert out.shape == (1, 101, 3)
    assert out[0, 50].tolist() == [0.5, 0.5, 0.5]
    assert out[0, 5].tolist() == [0.0, 0.0, 0.0] and out[0, 95].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(DataError, match=r"shape \(3, y, x\)"):
        percentile_stretch(np.zeros((2, 4, 4)))
    with pytest.raises(DataError, match="no valid pixel"):
        percentile_stretch(np.full((3, 2, 2), np.nan))


def test_clearest_time_picks_least_filled_month():
    t = pd.date_range("2021-05-01", periods=5, freq="MS")  # May..Sep
    assert clearest_time([0.0, 0.4, 0.1, 0.1, 0.0], t, [6, 7, 8]) == 2  # earliest tie
    assert clearest_time([0.0, np.nan, 0.3, 0.2, 0.0], t, [6, 7, 8]) == 3
    assert clearest_time([0.0] * 5, t, [12]) is None


def test_class_shares_and_scene_times():
    shares = class_shares(np.array([[1, 1, 2, 0], [6, 0, 0, 0]]))
    assert shares.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert shares.round(4).tolist() == [50.0, 25.0, 0.0, 0.0, 0.0, 25.0]
    assert class_shares(np.zeros((2, 2), "uint8")).isna().all()
    scenes = pd.DataFrame(
        {
            "scene_id": ["S1A_IW_GRDH_1SDV_20210118T101155_x", "UAV_20220620", "nodate"],
            "time": [None, None, None],
        }
    )
    times = scene_times(scenes)
    assert times[0] == pd.Timestamp("2021-01-18") and times[1] == pd.Timestamp("2022-06-20")
    assert pd.isna(times[2])


def test_selection_vs_seed_difference():
    f = pd.DataFrame(
        {
            "method": ["All", "RF"],
            "seed_ResNet50_OA": [94.2, 94.97],
            "ours_RF_OA": [70.2, 60.0],
            "ours_NB_OA": [50.0, 55.0],
        }
    )
    out = selection_vs_seed(f)
    assert out.loc["RF", "RF − seed"] == pytest.approx(60.0 - 94.97)
    assert out.loc["All", "NB − seed"] == pytest.approx(50.0 - 94.2)
    assert out.loc["All", "second seed ResNet50 OA (published)"] == 94.2


def test_per_class_wide_and_json_summary():
    t = pd.DataFrame(
        {
            "classifier": ["RF", "NB", "RF"],
            "class": [1, 1, 2],
            "name": ["veg", "veg", "water"],
            "precision": [0.9, 0.8, 0.5],
            "recall": [0.7, 0.6, 0.4],
            "f1": [0.8, 0.7, 0.45],
            "support": [200, 200, 16],
        }
    )
    wide = per_class_wide(t)
    assert wide.loc[(2, "water"), "RF F1"] == 0.45
    assert np.isnan(wide.loc[(2, "water"), "NB P"])
    assert wide["support"].tolist() == [200, 16]
    summary = json_summary({"n": 3, "r": 0.123456, "kept": ["a", "b"], "w": {"x": 1}})
    assert summary.to_dict("list") == {"key": ["n", "r", "kept"], "value": ["3", "0.1235", "a, b"]}


def test_deep_vs_published_scales_fractions_and_skips_published_rows():
    c = pd.DataFrame(
        {
            "model": ["cnn_lstm", "cnn_lstm", "resnet50"],
            "source": ["this run", "first seed, Fig. 6", "this run"],
            "accuracy_mean": [0.80, 0.856, 0.7],
            "accuracy_std": [0.01, np.nan, 0.0],
            "recall_mean": [0.75, 0.823, 0.6],
        }
    )
    out = deep_vs_published(c)
    assert out.index.tolist() == ["CNN-LSTM"]  # resnet50 has no published figure
    row = out.loc["CNN-LSTM"]
    assert row["accuracy (this run, %)"] == pytest.approx(80.0)
    assert row["accuracy std over seeds"] == pytest.approx(1.0)
    assert row["accuracy difference (pp)"] == pytest.approx(80.0 - 85.6)
    assert row["recall difference (pp)"] == pytest.approx(75.0 - 82.3)
    assert np.isnan(row["recall std over seeds"])
    # percentages stay percentages
    pct = deep_vs_published(pd.DataFrame({"model": ["cnn"], "accuracy": [78.2], "recall": [80.0]}))
    assert pct.loc["CNN", "accuracy difference (pp)"] == pytest.approx(0.0)
    assert percent_scale(np.array([0.5, np.nan])) == 100.0
    assert percent_scale(np.array([50.0])) == 1.0


def test_noise_summary_mean_and_std_over_seeds_and_draws():
    n = pd.DataFrame(
        {
            "model": ["m"] * 4,
            "kind": ["gaussian"] * 4,
            "level": ["low", "low", "high", "high"],
            "target_snr_db": [30.0, 30.0, 10.0, 10.0],
            "accuracy": [0.8, 0.9, 0.5, 0.7],
        }
    )
    s = noise_summary(n).set_index("level")
    assert s.loc["low", "accuracy_mean"] == pytest.approx(85.0)
    assert s.loc["low", "accuracy_std"] == pytest.approx(np.std([80, 90], ddof=1))
    assert s.loc["high", "accuracy_mean"] == pytest.approx(60.0)
    assert s.loc["high", "target_snr_db_mean"] == 10.0
    assert s["n"].tolist() == [2.0, 2.0]


def test_benchmarks_per_rule(tmp_path):
    head = "s\th:m:s\tmax_rss\tcpu_time\n"
    (tmp_path / "build_cube").mkdir()
    (tmp_path / "build_cube" / "a.tsv").write_text(head + "1.0\t0:00:01\t10\t1.0\n")
    (tmp_path / "build_cube" / "b.tsv").write_text(head + "3.0\t0:00:03\t30\tNA\n")
    (tmp_path / "fuse.tsv").write_text(head + "2.0\t0:00:02\t5\t0.5\n")
    bench = read_benchmarks(tmp_path)
    assert sorted(bench["rule"].unique()) == ["build_cube", "fuse"]
    assert sorted(bench.loc[bench.rule == "build_cube", "job"]) == ["a", "b"]
    summary = runtime_summary(bench)
    assert summary.index.tolist() == ["build_cube", "fuse"]  # longest first
    assert summary.loc["build_cube"].tolist() == [2.0, 4.0, 3.0, 30.0, 1.0]
    assert read_benchmarks(tmp_path / "none").empty


def test_published_constants_agree_with_the_library():
    pytest.importorskip("torch")
    from coexplore.learn.benchmark import PUBLISHED_THROUGHPUT
    from coexplore.learn.evaluate import PUBLISHED_FIRST_SEED

    for model, figures in PUBLISHED_FIRST_SEED.items():
        for metric, value in figures.items():
            assert FIRST_SEED_FIG6.loc[model, metric] == pytest.approx(value * 100)
    assert FIRST_SEED_THROUGHPUT["value"].iloc[0] == PUBLISHED_THROUGHPUT["images_per_s"]


def test_git_commit(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git checkout")
    assert re.match(r"^[0-9a-f]{40}( \(uncommitted changes\))?$", git_commit(ROOT))


def test_report_input_files():
    area = {"sources": ["sentinel1", "meteo"], "time": {"start": "2021-01-01", "end": "2022-06-30"}}
    files = report_input_files("a", area, truth=["t1.tif", "t2.tif"], extra=["x.csv"])
    assert files["cubes"] == ["results/a/cubes/sentinel1.zarr", "results/a/cubes/dem.zarr"]
    assert files["qa"] == ["results/a/qa/scenes.csv", "results/a/qa/meteo_qc.csv"]
    assert files["maps"] == ["results/a/maps/landuse_2021.tif", "results/a/maps/landuse_2022.tif"]
    assert "results/a/models/classical/area_adjusted_2022.csv" in files["classical"]
    assert files["truth"] == ["t1.tif", "t2.tif"] and files["extra"] == ["x.csv"]


# ---------------------------------------------------------------- rendering


def test_every_expected_table_is_present_with_a_caption(rendered):
    page = parse(rendered["html"])
    missing = [t for t in EXPECTED_TABLES if t not in page.tables]
    assert not missing, f"tables missing from the report: {missing}"
    assert all(page.tables.values()), "every table needs a <caption>"
    assert len(page.tables) == len(set(page.tables))


def test_report_is_self_contained(rendered):
    html = rendered["html"]
    page = parse(html)
    external = [u for u in page.urls if re.match(r"^(https?:)?//", u[2], re.I)]
    assert not external, f"external resources: {external}"
    assert page.scripts == 0
    assert "@import" not in html and "url(http" not in html
    assert len(page.images) >= 15
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and im.width > 50 and im.height > 50
            im.verify()


def test_figures_written_match_embedded_images(rendered):
    files = sorted((rendered["res"] / "report" / "figures").glob("*.png"))
    page = parse(rendered["html"])
    assert len(files) == len(page.images)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.images}
    assert {f.read_bytes() for f in files} == embedded


def test_report_content_comes_from_the_run(rendered):
    html = rendered["html"]
    # the clearest summer month of the constructed cube is July (June is all gap-filled)
    assert "Landsat 8 true colour, 2021-07" in html
    # our CNN-LSTM 80 % beside the first seed's 85.6 %, difference -5.6
    assert "85.6" in html and "-5.6" in html
    assert "first seed, Table 5 (published)" in html
    assert "9.0.0-test" in html  # snakemake version handed in by the rule
    assert "LC08_L1TP_123032_20210808_20210810_02_T1" in html  # the skipped scene
    assert "First 5 of 8 rows" in html  # long tables are cut to max_table_rows
    assert "Not produced by this run" not in html


def test_rendering_is_deterministic(rendered):
    ctx = ReportContext(
        results=rendered["res"],
        area_id=AREA,
        config=rendered["cfg"],
        truth=rendered["truth"],
        options=ReportOptions.from_config(rendered["cfg"]["report"]),
    )
    a = [f.png for f in classical_section(ctx).figures + quality_section(ctx).figures]
    b = [f.png for f in classical_section(ctx).figures + quality_section(ctx).figures]
    assert len(a) == 6 and a == b


def test_absent_inputs_give_one_line_per_section(tmp_path):
    cfg = _config()
    out = tmp_path / "report.html"
    step_render_report(
        tmp_path / "results" / AREA, out, None, area_id=AREA, config=cfg, truth={}, repo=tmp_path
    )
    html = out.read_text()
    for text in (
        "No study-area layers",
        "No QA tables",
        "No fusion or feature-selection results",
        "No classical-model results",
        "No deep-model results",
        "No robustness results",
        "No exploration products",
        "No benchmark files",
    ):
        assert text in html
    assert "tab-provenance-versions" in html


def test_partially_present_section_names_what_is_absent(tmp_path):
    res, cfg, truth = make_run(tmp_path)
    (res / "models" / "benchmark.csv").unlink()
    ctx = ReportContext(results=res, area_id=AREA, config=cfg, truth=truth)
    from coexplore.report.sections_deep import deep_section

    section = deep_section(ctx)
    assert section.blocks[-1].text == "Not produced by this run: models/benchmark.csv."


def test_index_links_are_relative(tmp_path):
    reports = {
        "a": tmp_path / "results" / "a" / "report" / "report.html",
        "b": tmp_path / "results" / "b" / "report" / "report.html",
    }
    out = step_render_index(reports, tmp_path / "results" / "index.html", config=_config())
    page = parse(out.read_text())
    hrefs = [u[2] for u in page.urls if u[0] == "a"]
    assert hrefs == ["a/report/report.html", "b/report/report.html"]
    assert "tab-areas" in page.tables and page.scripts == 0
    assert render_index({}, tmp_path / "empty.html").exists()


# ---------------------------------------------------------------- error paths


def test_malformed_table_raises_and_writes_nothing(tmp_path):
    res, cfg, truth = make_run(tmp_path)
    pd.DataFrame({"classifier": ["RF"]}).to_csv(res / "models/classical/metrics.csv", index=False)
    out = res / "report" / "report.html"
    with pytest.raises(InputError, match=r"metrics\.csv: lacks column\(s\) \['OA', 'Kappa'\]"):
        step_render_report(
            res, out, res / "report/figures", area_id=AREA, config=cfg, truth=truth, repo=tmp_path
        )
    assert not out.exists() and not (res / "report" / "figures").exists()
    assert not list(res.rglob(".*.tmp-*")), "a temporary file was left behind"


def test_read_table_drops_a_saved_default_index(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"model": ["cnn", "lstm"], "accuracy": [0.7, 0.8]}).to_csv(path, index=True)
    assert read_table(path, required=["model"]).columns.tolist() == ["model", "accuracy"]
    pd.DataFrame({"a": [1]}, index=pd.Index([5])).to_csv(path, index=True)
    assert read_table(path).columns.tolist() == ["Unnamed: 0", "a"]  # not 0..n-1: kept


def test_reader_errors(tmp_path):
    with pytest.raises(InputError, match="table does not exist"):
        read_table(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_table(empty)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_json(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="holds a JSON list, not an object"):
        read_json(bad)
    tif = tmp_path / "broken.tif"
    tif.write_text("not a raster")
    with pytest.raises(InputError, match="not a readable raster"):
        raster_preview(tif)
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "rule.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="lacks the columns s and max_rss"):
        read_benchmarks(bench)


def test_bad_run_folder_names_and_cube_bands(tmp_path):
    res, cfg, truth = make_run(tmp_path)
    bad = res / "models" / "cnn" / "seedX"
    bad.mkdir()
    (bad / "history.csv").write_text("epoch,train_loss,val_loss\n1,1,1\n")
    ctx = ReportContext(results=res, area_id=AREA, config=cfg, truth=truth)
    from coexplore.report.readers import cube_preview
    from coexplore.report.sections_deep import deep_section

    with pytest.raises(InputError, match="folder 'seedX' is not seed<N>"):
        deep_section(ctx)
    with pytest.raises(InputError, match="cube has no band 'nir'"):
        cube_preview(res / "cubes" / "sentinel1.zarr", band="nir")


def test_options_and_config_errors(tmp_path):
    assert ReportOptions.from_config(None) == ReportOptions()
    assert ReportOptions.from_config({"rgb_months": [5]}).rgb_months == (5,)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['colour'\]"):
        ReportOptions.from_config({"colour": "red"})
    with pytest.raises(ConfigError, match=r"report.rgb_months = \[13\]"):
        ReportOptions.from_config({"rgb_months": [13]})
    with pytest.raises(ConfigError, match="report.figure_dpi = 5"):
        ReportOptions.from_config({"figure_dpi": 5})
    with pytest.raises(ConfigError, match="area 'elsewhere' is not in the configuration"):
        step_render_report(
            tmp_path, tmp_path / "r.html", None, area_id="elsewhere", config=_config(), truth={}
        )
    assert not (tmp_path / "r.html").exists()
