"""Sensor and product conventions as class data (band names, wavelengths,
file-name patterns, land-use classes). Every module that names a band or a
class takes it from here, so the synthetic study area, the readers and the
cubes agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class LandUse:
    """Land-use classes of the ground truth and of every map (0 = nodata)."""

    codes: ClassVar[dict[int, str]] = {
        1: "vegetation",
        2: "water",
        3: "built_up",
        4: "bare_land",
        5: "mining",
        6: "reclaimed",
    }
    colours: ClassVar[dict[int, tuple[int, int, int]]] = {
        1: (34, 139, 34),
        2: (30, 144, 255),
        3: (220, 20, 60),
        4: (210, 180, 140),
        5: (105, 105, 105),
        6: (154, 205, 50),
    }
    nodata: ClassVar[int] = 0


@dataclass(frozen=True)
class Landsat8:
    """Landsat 8 OLI/TIRS Collection 2 Level-1 conventions.

    ``bands`` maps the cube band name to the product band number; the cube
    holds surface reflectance (unitless) for OLI bands and brightness
    temperature (K) for ``tir``.
    """

    bands: ClassVar[dict[str, int]] = {
        "coastal": 1,
        "blue": 2,
        "green": 3,
        "red": 4,
        "nir": 5,
        "swir1": 6,
        "swir2": 7,
        "tir": 10,
    }
    reflective: ClassVar[tuple[str, ...]] = (
        "coastal",
        "blue",
        "green",
        "red",
        "nir",
        "swir1",
        "swir2",
    )
    # centre wavelengths (micrometres)
    wavelength_um: ClassVar[dict[str, float]] = {
        "coastal": 0.443,
        "blue": 0.482,
        "green": 0.561,
        "red": 0.655,
        "nir": 0.865,
        "swir1": 1.609,
        "swir2": 2.201,
        "tir": 10.895,
    }
    # Exo-atmospheric solar irradiance (W m-2 um-1) commonly used for OLI
    # (band-integrated Thuillier spectrum); USGS publishes none for OLI.
    esun: ClassVar[dict[str, float]] = {
        "coastal": 1895.33,
        "blue": 2004.57,
        "green": 1820.75,
        "red": 1549.49,
        "nir": 951.76,
        "swir1": 247.55,
        "swir2": 85.46,
    }
    # Collection 2 QA_PIXEL bits
    qa_bits: ClassVar[dict[str, int]] = {
        "fill": 0,
        "dilated_cloud": 1,
        "cirrus": 2,
        "cloud": 3,
        "cloud_shadow": 4,
        "snow": 5,
        "clear": 6,
        "water": 7,
    }
    resolution: ClassVar[float] = 30.0
    revisit_days: ClassVar[int] = 16
    # LC08_L1TP_PPPRRR_YYYYMMDD_yyyymmdd_02_T1
    scene_pattern: ClassVar[str] = r"LC0[89]_L1(TP|GT|GS)_\d{6}_\d{8}_\d{8}_\d{2}_(T1|T2|RT)"


@dataclass(frozen=True)
class Sentinel1:
    """Sentinel-1 IW GRD conventions; the cube holds sigma0 in dB."""

    bands: ClassVar[tuple[str, ...]] = ("vv", "vh")
    resolution: ClassVar[float] = 10.0
    revisit_days: ClassVar[int] = 12
    safe_pattern: ClassVar[str] = (
        r"S1[AB]_IW_GRD[HM]_1S[DS][VH]_\d{8}T\d{6}_\d{8}T\d{6}_\d{6}_[0-9A-F]{6}_[0-9A-F]{4}\.SAFE"
    )


@dataclass(frozen=True)
class Drone:
    """Drone RGB orthomosaic aggregated to the grid."""

    bands: ClassVar[tuple[str, ...]] = ("red", "green", "blue", "texture")


@dataclass(frozen=True)
class Meteo:
    """Station variables (column name in the station CSV = cube band name) and units."""

    variables: ClassVar[dict[str, str]] = {
        "temperature": "degC",
        "relative_humidity": "percent",
        "wind_speed": "m s-1",
        "solar_irradiance": "W m-2",
    }
    columns: ClassVar[tuple[str, ...]] = (
        "station_id",
        "lon",
        "lat",
        "elevation",
        "time",
        "temperature",
        "relative_humidity",
        "wind_speed",
        "solar_irradiance",
    )
    # plausible physical ranges for quality control
    valid_range: ClassVar[dict[str, tuple[float, float]]] = {
        "temperature": (-60.0, 60.0),
        "relative_humidity": (0.0, 100.0),
        "wind_speed": (0.0, 60.0),
        "solar_irradiance": (0.0, 1400.0),
    }


@dataclass(frozen=True)
class Static:
    """Static layers: their cube band names."""

    dem: ClassVar[tuple[str, ...]] = ("elevation",)
    geology: ClassVar[tuple[str, ...]] = ("lithology", "fault")
    lithology: ClassVar[dict[int, str]] = {
        1: "granite",
        2: "sandstone",
        3: "limestone",
        4: "schist",
        5: "alluvium",
    }


SOURCES: tuple[str, ...] = ("landsat8", "sentinel1", "drone", "meteo")
STATIC_LAYERS: tuple[str, ...] = ("dem", "geology")
