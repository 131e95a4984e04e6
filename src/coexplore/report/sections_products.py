"""Report section on the exploration products: mining change, prospectivity,
solar and wind potential, conflicts and environmental impact."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import SectionInputs, figure, finish, table
from .blocks import Section
from .context import ReportContext
from .figures import Panel, curves_figure, image_figure
from .readers import raster_preview, read_json, read_table
from .sections_models import json_summary

#: Display settings of known product bands: (colormap, vmin, vmax); others
#: use viridis with a 2-98 % stretch.
BAND_STYLE: dict[str, tuple[str, float | None, float | None]] = {
    "cva_magnitude": ("magma", None, None),
    "cva_change": ("Greys", 0.0, 1.0),
    "net_probability": ("viridis", 0.0, 1.0),
    "net_change": ("Greys", 0.0, 1.0),
    "prospectivity": ("YlOrRd", 0.0, 1.0),
    "faults": ("Greys", None, None),
    "ghi_w_m2": ("inferno", None, None),
    "energy_kwh_m2_yr": ("inferno", None, None),
    "energy_resource_kwh_m2_yr": ("inferno", None, None),
    "speed_hub_m_s": ("cividis", None, None),
    "power_density_w_m2": ("cividis", None, None),
    "power_density_resource_w_m2": ("cividis", None, None),
    "solar_excluded": ("Greys", 0.0, 1.0),
    "wind_excluded": ("Greys", 0.0, 1.0),
}

#: Renewable-energy maps: file, figure title, caption.
RENEWABLE_MAPS: tuple[tuple[str, str, str], ...] = (
    (
        "solar.tif",
        "Solar potential",
        "Global horizontal irradiance on the surface and annual energy, masked by the "
        "land-use and slope exclusions, and the unmasked energy resource",
    ),
    (
        "wind.tif",
        "Wind potential",
        "Mean wind speed at hub height and power density, masked by the exclusions, and "
        "the unmasked power-density resource",
    ),
    (
        "exclusion.tif",
        "Exclusions",
        "Pixels excluded from solar and wind development (1 = excluded)",
    ),
)


def raster_panels(ctx: ReportContext, path: Path, *, prefix: str = "") -> list[Panel]:
    """One panel per band of a product GeoTIFF, titled by band name, labelled by unit."""
    preview = raster_preview(path, max_size=ctx.options.max_preview_pixels, resampling="nearest")
    panels = []
    for name, unit, arr in zip(preview.names, preview.units, preview.data, strict=True):
        cmap, vmin, vmax = BAND_STYLE.get(name, ("viridis", None, None))
        title = f"{prefix}{name}"
        panels.append(Panel(title, arr, cmap, unit, vmin, vmax))
    return panels


def products_section(ctx: ReportContext) -> Section:
    """Maps and tables of the exploration products, where the run produced them.

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
        If a product file exists but cannot be read.
    """
    sec = Section(
        "products",
        "Exploration products",
        "Mining change between years (change-vector analysis and a siamese network), "
        "mineral prospectivity, solar and wind potential, zones where they compete, "
        "and environmental impact around the pits.",
    )
    inp = SectionInputs(ctx)
    if p := inp.get("products", "change", "metrics.csv"):
        sec.add(
            table(
                ctx,
                "tab-change-metrics",
                "Change detection against the ground-truth change on the test blocks: "
                "F1, IoU, precision and recall of CVA + Otsu and of the siamese network "
                "(products/change/metrics.csv).",
                read_table(p),
            )
        )
    if p := inp.get("products", "change", "disturbance.csv"):
        sec.add(
            table(
                ctx,
                "tab-change-disturbance",
                "Area (ha) newly disturbed and reclaimed per year from the predicted maps, "
                "beside the same from the ground truth (products/change/disturbance.csv).",
                read_table(p),
            )
        )
    change_maps = inp.glob("products/change/change_*.tif")
    if change_maps:
        panels = []
        for path in change_maps:
            pair = path.stem.removeprefix("change_").replace("_", "–")
            panels += raster_panels(ctx, path, prefix=f"{pair}: ")
        per_row = max(1, len(panels) // len(change_maps))
        sec.add(
            figure(
                ctx,
                image_figure(panels, ncols=per_row, size=3.0),
                "Change maps",
                "Per year pair: CVA magnitude and its Otsu change mask, the network's "
                "change probability and mask (products/change/change_*.tif).",
            )
        )
    if p := inp.get("products", "prospectivity.tif"):
        sec.add(
            figure(
                ctx,
                image_figure(raster_panels(ctx, p), ncols=4, size=3.0),
                "Prospectivity",
                "Prospectivity (0..1) and its evidence layers (products/prospectivity.tif).",
            )
        )
    if p := inp.get("products", "prospectivity_evaluation.json"):
        sec.add(
            table(
                ctx,
                "tab-prospectivity-evaluation",
                "Prospectivity against the known ore zone: ROC AUC, area under the "
                "success-rate curve, share of ore in the top of the ranking "
                "(products/prospectivity_evaluation.json).",
                json_summary(read_json(p)),
            )
        )
    if p := inp.get("products", "success_rate.csv"):
        curve = read_table(p, required=["area_fraction", "ore_fraction"])
        x = curve["area_fraction"].to_numpy(float)
        sec.add(
            figure(
                ctx,
                curves_figure(
                    [
                        (
                            "Success rate",
                            [
                                ("prospectivity", x, curve["ore_fraction"].to_numpy(float)),
                                ("random ranking", x, x),
                            ],
                        )
                    ],
                    xlabel="share of the area, ranked by prospectivity",
                    ylabel="share of ore captured",
                ),
                "Success-rate curve",
                "Ore captured against the share of the area examined (products/success_rate.csv).",
            )
        )
    for name, title, caption in RENEWABLE_MAPS:
        if path := inp.get("products", name):
            sec.add(
                figure(
                    ctx,
                    image_figure(raster_panels(ctx, path), ncols=3, size=3.2),
                    title,
                    f"{caption} (products/{name}).",
                )
            )
    if p := inp.get("products", "wind_stations.csv"):
        sec.add(
            table(
                ctx,
                "tab-wind-stations",
                "Weibull fits of the stations' daily wind speed after quality control "
                "(products/wind_stations.csv).",
                read_table(p),
                long=True,
            )
        )
    if p := inp.get("products", "conflicts.csv"):
        sec.add(
            table(
                ctx,
                "tab-conflicts",
                "Candidate zones where mineral prospectivity or mining meets a good solar "
                "or wind resource, ranked, with reasons (products/conflicts.csv).",
                read_table(p),
                long=True,
            )
        )
    for path in inp.glob("products/impact_*.csv"):
        topic = path.stem.removeprefix("impact_")
        frame = read_table(path).replace([np.inf, -np.inf], np.nan)
        sec.add(
            table(
                ctx,
                f"tab-impact-{topic}",
                f"Environmental impact, {topic.replace('_', ' ')} (products/{path.name}).",
                frame,
                long=True,
            )
        )
    return finish(sec, inp, "No exploration products")
