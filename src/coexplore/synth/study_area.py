"""Write a whole synthetic study area: truth, static layers, station records,
Landsat 8 scenes, Sentinel-1 products and drone orthomosaics."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from .drone import write_orthomosaic
from .landsat import render_landsat_scene, write_landsat_scene
from .meteo import write_stations
from .plan import drone_flights, landsat_acquisitions, sentinel1_acquisitions
from .sentinel1 import render_sentinel1_product, write_sentinel1_product
from .settings import parse_area
from .state import state_from_settings
from .static import write_static, write_truth

log = logging.getLogger(__name__)


def write_study_area(area: Mapping, raw_dir: Path | str) -> list[Path]:
    """Generate the hidden state of a study area and write every raw product.

    Each file (and each Landsat scene folder and SAFE folder as a whole) is
    written atomically, so an interrupted run leaves no partial product; an
    existing product is replaced.

    Parameters
    ----------
    area
        One study area's config block.
    raw_dir
        The study area's raw folder (created if needed).

    Returns
    -------
    list of pathlib.Path
        Every written file; the same set as :func:`coexplore.synth.planned_files`.

    Raises
    ------
    ConfigError
        If the config is invalid.
    """
    settings = parse_area(area)
    raw = Path(raw_dir)
    raw.mkdir(parents=True, exist_ok=True)
    log.info("generating the hidden state of %s", settings.area_id)
    state = state_from_settings(settings)
    written = write_truth(state, raw)
    written += write_static(state, raw)
    if "meteo" in settings.sources:
        written.append(write_stations(state, raw))
    scenes = landsat_acquisitions(settings)
    for i, acq in enumerate(scenes, start=1):
        log.info("landsat8 %d/%d %s", i, len(scenes), acq.scene_id)
        written += write_landsat_scene(state, render_landsat_scene(state, acq), raw)
    products = sentinel1_acquisitions(settings)
    for i, acq in enumerate(products, start=1):
        log.info("sentinel1 %d/%d %s", i, len(products), acq.product_id)
        written += write_sentinel1_product(state, render_sentinel1_product(state, acq), raw)
    for flight in drone_flights(settings):
        log.info("drone %s", flight.flight_id)
        written.append(write_orthomosaic(state, flight, raw))
    return written
