"""Acquisition plan of the synthetic study area, from the config alone.

Everything here is cheap (a few random draws, no rasters): Snakemake calls
:func:`plan_acquisitions` and :func:`planned_files` while it parses the
workflow, to declare the raw files one by one.

Acquisition calendars
---------------------
* Landsat 8: every ``revisit_days`` from a seeded offset (< one revisit) after
  ``time.start`` up to ``time.end``; the processing date is 7 to 26 days later,
  as for Collection 2 products.
* Sentinel-1A IW GRDH, ascending pass (18:00 local mean solar time): every
  ``revisit_days`` from a seeded offset after the later of ``synth.sentinel1.start``
  and ``time.start``, up to the earlier of the two ends. Absolute orbits count
  175 per 12-day cycle from the real S1A orbit 36201 (2021-01-19T03:16:53).
* Drone: one flight per ``synth.drone.dates`` entry, id ``UAV_YYYYMMDD``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import layout
from .settings import SENTINEL1_MARGIN_M, SynthSettings, parse_area
from .streams import rng_for

# Sentinel-1A orbit reference: the real product in ../shared/realdata/sentinel1
# (absolute orbit 36201, datatake 0x043ED0 at 2021-01-19T03:16:53).
S1_REF_TIME = dt.datetime(2021, 1, 19, 3, 16, 53)
S1_REF_ORBIT = 36201
S1_REF_DATATAKE = 0x043ED0
S1_ORBITS_PER_CYCLE = 175
S1_CYCLE_DAYS = 12
S1_AZIMUTH_TIME_INTERVAL = 1.4832821e-3  # s per 10 m line (real GRDH value)


@dataclass(frozen=True)
class LandsatAcquisition:
    """One planned Landsat 8 scene."""

    scene_id: str
    date: dt.date
    processed: dt.date


@dataclass(frozen=True)
class Sentinel1Acquisition:
    """One planned Sentinel-1A IW GRDH product (dual polarisation VV+VH)."""

    product_id: str
    start: dt.datetime
    stop: dt.datetime
    absolute_orbit: int
    datatake: int
    unique_id: str

    @property
    def relative_orbit(self) -> int:
        """Relative orbit (track) number of Sentinel-1A."""
        return (self.absolute_orbit - 73) % S1_ORBITS_PER_CYCLE + 1

    def file_stem(self, polarisation: str) -> str:
        """Common stem of the annotation, calibration, noise and measurement files."""
        pol = polarisation.lower()
        image = {"vv": "001", "vh": "002"}[pol]
        return (
            f"s1a-iw-grd-{pol}-{self.start:%Y%m%dt%H%M%S}-{self.stop:%Y%m%dt%H%M%S}-"
            f"{self.absolute_orbit:06d}-{self.datatake:06x}-{image}"
        )


@dataclass(frozen=True)
class DroneFlight:
    """One planned drone flight."""

    flight_id: str
    date: dt.date


def _offset(seed: int, name: str, revisit: int) -> int:
    return int(rng_for(seed, "plan", name, "offset").integers(revisit))


def landsat_acquisitions(settings: SynthSettings) -> list[LandsatAcquisition]:
    """The Landsat 8 scenes of the study period.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    list of LandsatAcquisition
        By date; empty if landsat8 is not a source.
    """
    if "landsat8" not in settings.sources:
        return []
    ls = settings.landsat8
    day = settings.start + dt.timedelta(days=_offset(settings.seed, "landsat8", ls.revisit_days))
    out: list[LandsatAcquisition] = []
    while day <= settings.end:
        lag = int(
            rng_for(settings.seed, "plan", "landsat8", "lag", day.toordinal()).integers(7, 27)
        )
        processed = day + dt.timedelta(days=lag)
        scene_id = (
            f"LC08_L1TP_{ls.wrs_path:03d}{ls.wrs_row:03d}_{day:%Y%m%d}_{processed:%Y%m%d}_02_T1"
        )
        out.append(LandsatAcquisition(scene_id=scene_id, date=day, processed=processed))
        day += dt.timedelta(days=ls.revisit_days)
    return out


def sentinel1_lines(settings: SynthSettings) -> int:
    """Size of the square radar images of an area.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    int
        Lines (= range samples) of 10 m covering the area plus 400 m when
        rotated by the track heading, with room for orbit jitter.
    """
    left, bottom, right, top = settings.grid.bounds
    side = max(right - left, top - bottom) + 2 * SENTINEL1_MARGIN_M
    # a square rotated by the ~12 degree track heading, plus 100 m of orbit jitter
    return int(
        math.ceil((side * (math.cos(math.radians(12)) + math.sin(math.radians(12))) + 200) / 10)
    )


def sentinel1_acquisitions(settings: SynthSettings) -> list[Sentinel1Acquisition]:
    """The Sentinel-1A products of the study period.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    list of Sentinel1Acquisition
        By date; empty if sentinel1 is not a source.
    """
    if "sentinel1" not in settings.sources:
        return []
    s1 = settings.sentinel1
    first = max(s1.start, settings.start)
    last = min(s1.end, settings.end)
    day = first + dt.timedelta(days=_offset(settings.seed, "sentinel1", s1.revisit_days))
    lon = settings.centre_lonlat[0]
    # ascending node at 18:00 local mean solar time
    utc_hours = (18.0 - lon / 15.0) % 24.0
    duration = math.floor((sentinel1_lines(settings) - 1) * S1_AZIMUTH_TIME_INTERVAL)
    period_s = S1_CYCLE_DAYS * 86400.0 / S1_ORBITS_PER_CYCLE
    out: list[Sentinel1Acquisition] = []
    while day <= last:
        rng = rng_for(settings.seed, "plan", "sentinel1", day.toordinal())
        jitter = float(rng.uniform(-4.0, 4.0))
        start = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=utc_hours, seconds=jitter)
        start = start.replace(microsecond=0)
        stop = start + dt.timedelta(seconds=duration)
        orbit = S1_REF_ORBIT + round((start - S1_REF_TIME).total_seconds() / period_s)
        datatake = (S1_REF_DATATAKE + 8 * (orbit - S1_REF_ORBIT)) % 0x1000000
        unique = f"{int(rng.integers(0, 0x10000)):04X}"
        product_id = (
            f"S1A_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_"
            f"{orbit:06d}_{datatake:06X}_{unique}"
        )
        out.append(
            Sentinel1Acquisition(
                product_id=product_id,
                start=start,
                stop=stop,
                absolute_orbit=orbit,
                datatake=datatake,
                unique_id=unique,
            )
        )
        day += dt.timedelta(days=s1.revisit_days)
    return out


def drone_flights(settings: SynthSettings) -> list[DroneFlight]:
    """The drone flights.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    list of DroneFlight
        By date; empty if drone is not a source.
    """
    if "drone" not in settings.sources:
        return []
    return [DroneFlight(flight_id=f"UAV_{d:%Y%m%d}", date=d) for d in settings.drone.dates]


def plan_acquisitions(area: Mapping) -> dict[str, list[str]]:
    """Scene, product and flight ids that :func:`write_study_area` will write.

    Computed from the config alone (no rasters), deterministic and cheap.

    Parameters
    ----------
    area
        One study area's config block.

    Returns
    -------
    dict
        ``{"landsat8": [scene_id, ...], "sentinel1": [product_id (no .SAFE), ...],
        "drone": [flight_id, ...]}``, each sorted by date; a source not in
        ``sources`` maps to an empty list.

    Raises
    ------
    ConfigError
        If the config is invalid (see :func:`parse_area`).

    Examples
    --------
    >>> area = {"seed": 1, "grid": {"crs": "EPSG:32650", "resolution": 10,
    ...         "extent": [500000, 4400000, 501000, 4401000]},
    ...         "time": {"start": "2021-01-01", "end": "2021-03-31"},
    ...         "sources": ["landsat8"]}
    >>> ids = plan_acquisitions(area)["landsat8"]
    >>> len(ids), ids[0][:10]
    (6, 'LC08_L1TP_')
    """
    settings = parse_area(area)
    return {
        "landsat8": [a.scene_id for a in landsat_acquisitions(settings)],
        "sentinel1": [a.product_id for a in sentinel1_acquisitions(settings)],
        "drone": [f.flight_id for f in drone_flights(settings)],
    }


def sentinel1_files(raw_dir: Path | str, acquisition: Sentinel1Acquisition) -> list[Path]:
    """Every file of one SAFE folder.

    Parameters
    ----------
    raw_dir
        The study area's raw folder.
    acquisition
        The product.

    Returns
    -------
    list of pathlib.Path
        Manifest, then per polarisation (VV, VH) annotation, calibration,
        noise and measurement.
    """
    safe = layout.sentinel1_safe_dir(raw_dir, acquisition.product_id)
    files = [safe / "manifest.safe"]
    for pol in ("vv", "vh"):
        stem = acquisition.file_stem(pol)
        files += [
            safe / "annotation" / f"{stem}.xml",
            safe / "annotation" / "calibration" / f"calibration-{stem}.xml",
            safe / "annotation" / "calibration" / f"noise-{stem}.xml",
            safe / "measurement" / f"{stem}.tiff",
        ]
    return files


def planned_files(area: Mapping, raw_dir: Path | str) -> list[Path]:
    """Every file :func:`write_study_area` writes, so a workflow rule can declare them.

    Parameters
    ----------
    area
        One study area's config block.
    raw_dir
        The raw folder of the area.

    Returns
    -------
    list of pathlib.Path
        Truth, static layers, station records, Landsat scene files, SAFE files
        and orthomosaics.

    Raises
    ------
    ConfigError
        If the config is invalid (see :func:`parse_area`).
    """
    settings = parse_area(area)
    raw = Path(raw_dir)
    files = [layout.truth_landuse_path(raw, y) for y in settings.years]
    files.append(layout.truth_ore_path(raw))
    files += [layout.static_path(raw, name) for name in ("dem", "geology")]
    if "meteo" in settings.sources:
        files.append(layout.meteo_path(raw))
    for acq in landsat_acquisitions(settings):
        files += layout.landsat_scene_files(raw, acq.scene_id)
    for acq in sentinel1_acquisitions(settings):
        files += sentinel1_files(raw, acq)
    for flight in drone_flights(settings):
        files.append(layout.drone_path(raw, flight.flight_id))
    return files
