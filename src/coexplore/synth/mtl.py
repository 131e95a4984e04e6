"""Landsat 8 Collection 2 Level-1 metadata (``*_MTL.txt``, ODL) and its rescaling coefficients.

The layout, key names and number formats follow real Collection 2 MTL files
(see ``../shared/realdata/landsat8_mtl``). The rescaling coefficients are
chosen self-consistent with the ESUN values of ``sensors.Landsat8``:

``REFLECTANCE_MULT = 2.0e-5``, ``REFLECTANCE_ADD = -0.1`` (the real values) and
``RADIANCE_MULT = 2.0e-5 ESUN / (pi d^2)``, ``RADIANCE_ADD = -0.1 ESUN / (pi d^2)``,
so ``pi d^2 L / ESUN`` equals the TOA reflectance times the sun-zenith cosine
either way. The coefficients are rounded to the digits the MTL carries and
the digital numbers are computed from the rounded values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..sensors import Landsat8

REFLECTANCE_MULT = 2.0e-5
REFLECTANCE_ADD = -0.1
THERMAL_RADIANCE_MULT = 3.342e-4
THERMAL_RADIANCE_ADD = 0.1
K1_BAND_10, K2_BAND_10 = 774.8853, 1321.0789
K1_BAND_11, K2_BAND_11 = 480.8883, 1201.1442
#: band number -> ESUN; bands 8 (pan) and 9 (cirrus) scaled from band 1 by the
#: ratio of their RADIANCE_MULT in a real C2 MTL (1.0947/1.2156, 0.23133/1.2156)
ESUN_BY_NUMBER: dict[int, float] = {
    **{Landsat8.bands[b]: Landsat8.esun[b] for b in Landsat8.reflective},
    8: Landsat8.esun["coastal"] * 1.0947 / 1.2156,
    9: Landsat8.esun["coastal"] * 0.23133 / 1.2156,
}


def _round_sci(value: float) -> float:
    return float(f"{value:.4E}")


def _round_fixed(value: float) -> float:
    return float(f"{value:.5f}")


@dataclass(frozen=True)
class Rescaling:
    """Level-1 rescaling coefficients of one scene, by band number (1..11)."""

    radiance_mult: dict[int, float]
    radiance_add: dict[int, float]

    @classmethod
    def for_distance(cls, earth_sun_distance: float) -> Rescaling:
        """Coefficients for an Earth-Sun distance (AU), rounded as written in the MTL."""
        d2 = earth_sun_distance**2
        mult = {
            n: _round_sci(REFLECTANCE_MULT * e / (np.pi * d2)) for n, e in ESUN_BY_NUMBER.items()
        }
        add = {
            n: _round_fixed(REFLECTANCE_ADD * e / (np.pi * d2)) for n, e in ESUN_BY_NUMBER.items()
        }
        for n in (10, 11):
            mult[n] = THERMAL_RADIANCE_MULT
            add[n] = THERMAL_RADIANCE_ADD
        return cls(radiance_mult=mult, radiance_add=add)


@dataclass(frozen=True)
class MtlFields:
    """The scene-specific values of an MTL file."""

    scene_id: str
    acquired: dt.date
    processed: dt.date
    centre_time: dt.datetime
    wrs_path: int
    wrs_row: int
    cloud_cover: float
    sun_azimuth: float
    sun_elevation: float
    earth_sun_distance: float
    utm_zone: int
    lines: int
    samples: int
    corners_xy: dict[str, tuple[float, float]]
    corners_latlon: dict[str, tuple[float, float]]
    rescaling: Rescaling


def _group(name: str, items: list[tuple[str, str]], indent: int) -> list[str]:
    pad = "  " * indent
    lines = [f"{pad}GROUP = {name}"]
    lines += [f"{pad}  {k} = {v}" for k, v in items]
    lines.append(f"{pad}END_GROUP = {name}")
    return lines


def _q(text: str) -> str:
    return f'"{text}"'


def mtl_text(f: MtlFields) -> str:
    """The ODL text of a Collection 2 Level-1 MTL file.

    Parameters
    ----------
    f
        Scene values.

    Returns
    -------
    str
        ``GROUP = LANDSAT_METADATA_FILE ... END_GROUP = LANDSAT_METADATA_FILE`` and ``END``.
    """
    sid = f.scene_id
    band_numbers = (*(Landsat8.bands[b] for b in Landsat8.reflective), Landsat8.bands["tir"])
    contents = [
        ("ORIGIN", _q("Image courtesy of the U.S. Geological Survey")),
        ("DIGITAL_OBJECT_IDENTIFIER", _q("https://doi.org/10.5066/P975CC9B")),
        ("LANDSAT_PRODUCT_ID", _q(sid)),
        ("PROCESSING_LEVEL", _q("L1TP")),
        ("COLLECTION_NUMBER", "02"),
        ("COLLECTION_CATEGORY", _q("T1")),
        ("OUTPUT_FORMAT", _q("GEOTIFF")),
        *((f"FILE_NAME_BAND_{n}", _q(f"{sid}_B{n}.TIF")) for n in band_numbers),
        ("FILE_NAME_QUALITY_L1_PIXEL", _q(f"{sid}_QA_PIXEL.TIF")),
        ("FILE_NAME_METADATA_ODL", _q(f"{sid}_MTL.txt")),
        *((f"DATA_TYPE_BAND_{n}", _q("UINT16")) for n in band_numbers),
        ("DATA_TYPE_QUALITY_L1_PIXEL", _q("UINT16")),
    ]
    centre = f.centre_time
    image = [
        ("SPACECRAFT_ID", _q("LANDSAT_8")),
        ("SENSOR_ID", _q("OLI_TIRS")),
        ("WRS_TYPE", "2"),
        ("WRS_PATH", str(f.wrs_path)),
        ("WRS_ROW", str(f.wrs_row)),
        ("NADIR_OFFNADIR", _q("NADIR")),
        ("TARGET_WRS_PATH", str(f.wrs_path)),
        ("TARGET_WRS_ROW", str(f.wrs_row)),
        ("DATE_ACQUIRED", f"{f.acquired:%Y-%m-%d}"),
        ("SCENE_CENTER_TIME", _q(f"{centre:%H:%M:%S}.{centre.microsecond:06d}0Z")),
        ("STATION_ID", _q("LGN")),
        ("CLOUD_COVER", f"{f.cloud_cover:.2f}"),
        ("CLOUD_COVER_LAND", f"{f.cloud_cover:.2f}"),
        ("IMAGE_QUALITY_OLI", "9"),
        ("IMAGE_QUALITY_TIRS", "9"),
        ("ROLL_ANGLE", "-0.001"),
        ("SUN_AZIMUTH", f"{f.sun_azimuth:.8f}"),
        ("SUN_ELEVATION", f"{f.sun_elevation:.8f}"),
        ("EARTH_SUN_DISTANCE", f"{f.earth_sun_distance:.7f}"),
        ("TIRS_SSM_MODEL", _q("FINAL")),
        ("TIRS_SSM_POSITION_STATUS", _q("ESTIMATED")),
    ]
    projection = [
        ("MAP_PROJECTION", _q("UTM")),
        ("DATUM", _q("WGS84")),
        ("ELLIPSOID", _q("WGS84")),
        ("UTM_ZONE", str(f.utm_zone)),
        ("GRID_CELL_SIZE_REFLECTIVE", "30.00"),
        ("GRID_CELL_SIZE_THERMAL", "30.00"),
        ("REFLECTIVE_LINES", str(f.lines)),
        ("REFLECTIVE_SAMPLES", str(f.samples)),
        ("THERMAL_LINES", str(f.lines)),
        ("THERMAL_SAMPLES", str(f.samples)),
        ("ORIENTATION", _q("NORTH_UP")),
    ]
    for corner in ("UL", "UR", "LL", "LR"):
        lat, lon = f.corners_latlon[corner]
        projection += [
            (f"CORNER_{corner}_LAT_PRODUCT", f"{lat:.5f}"),
            (f"CORNER_{corner}_LON_PRODUCT", f"{lon:.5f}"),
        ]
    for corner in ("UL", "UR", "LL", "LR"):
        x, y = f.corners_xy[corner]
        projection += [
            (f"CORNER_{corner}_PROJECTION_X_PRODUCT", f"{x:.3f}"),
            (f"CORNER_{corner}_PROJECTION_Y_PRODUCT", f"{y:.3f}"),
        ]
    jday = f.acquired.timetuple().tm_yday
    record = [
        ("ORIGIN", _q("Image courtesy of the U.S. Geological Survey")),
        ("DIGITAL_OBJECT_IDENTIFIER", _q("https://doi.org/10.5066/P975CC9B")),
        (
            "LANDSAT_SCENE_ID",
            _q(f"LC8{f.wrs_path:03d}{f.wrs_row:03d}{f.acquired.year}{jday:03d}LGN00"),
        ),
        ("LANDSAT_PRODUCT_ID", _q(sid)),
        ("PROCESSING_LEVEL", _q("L1TP")),
        ("COLLECTION_CATEGORY", _q("T1")),
        ("OUTPUT_FORMAT", _q("GEOTIFF")),
        ("DATE_PRODUCT_GENERATED", f"{f.processed:%Y-%m-%d}T00:00:00Z"),
        ("PROCESSING_SOFTWARE_VERSION", _q("LPGS_15.5.0")),
        ("DATA_SOURCE_ELEVATION", _q("GLS2000")),
        ("GROUND_CONTROL_POINTS_VERSION", "5"),
        ("GEOMETRIC_RMSE_MODEL", "6.548"),
    ]
    r = f.rescaling
    rad_min_max: list[tuple[str, str]] = []
    refl_min_max: list[tuple[str, str]] = []
    pixel_min_max: list[tuple[str, str]] = []
    for n in range(1, 12):
        rad_min_max += [
            (f"RADIANCE_MAXIMUM_BAND_{n}", f"{r.radiance_mult[n] * 65535 + r.radiance_add[n]:.5f}"),
            (f"RADIANCE_MINIMUM_BAND_{n}", f"{r.radiance_mult[n] + r.radiance_add[n]:.5f}"),
        ]
        pixel_min_max += [
            (f"QUANTIZE_CAL_MAX_BAND_{n}", "65535"),
            (f"QUANTIZE_CAL_MIN_BAND_{n}", "1"),
        ]
    for n in range(1, 10):
        refl_min_max += [
            (f"REFLECTANCE_MAXIMUM_BAND_{n}", f"{REFLECTANCE_MULT * 65535 + REFLECTANCE_ADD:.6f}"),
            (f"REFLECTANCE_MINIMUM_BAND_{n}", f"{REFLECTANCE_MULT + REFLECTANCE_ADD:.6f}"),
        ]
    rescaling = [(f"RADIANCE_MULT_BAND_{n}", f"{r.radiance_mult[n]:.4E}") for n in range(1, 12)]
    rescaling += [(f"RADIANCE_ADD_BAND_{n}", f"{r.radiance_add[n]:.5f}") for n in range(1, 12)]
    rescaling += [(f"REFLECTANCE_MULT_BAND_{n}", f"{REFLECTANCE_MULT:.4E}") for n in range(1, 10)]
    rescaling += [(f"REFLECTANCE_ADD_BAND_{n}", f"{REFLECTANCE_ADD:.6f}") for n in range(1, 10)]
    thermal = [
        ("K1_CONSTANT_BAND_10", f"{K1_BAND_10:.4f}"),
        ("K2_CONSTANT_BAND_10", f"{K2_BAND_10:.4f}"),
        ("K1_CONSTANT_BAND_11", f"{K1_BAND_11:.4f}"),
        ("K2_CONSTANT_BAND_11", f"{K2_BAND_11:.4f}"),
    ]
    projection_params = [
        ("MAP_PROJECTION", _q("UTM")),
        ("DATUM", _q("WGS84")),
        ("ELLIPSOID", _q("WGS84")),
        ("UTM_ZONE", str(f.utm_zone)),
        ("GRID_CELL_SIZE_PANCHROMATIC", "15.00"),
        ("GRID_CELL_SIZE_REFLECTIVE", "30.00"),
        ("GRID_CELL_SIZE_THERMAL", "30.00"),
        ("ORIENTATION", _q("NORTH_UP")),
        ("RESAMPLING_OPTION", _q("CUBIC_CONVOLUTION")),
    ]
    lines = ["GROUP = LANDSAT_METADATA_FILE"]
    for name, items in (
        ("PRODUCT_CONTENTS", contents),
        ("IMAGE_ATTRIBUTES", image),
        ("PROJECTION_ATTRIBUTES", projection),
        ("LEVEL1_PROCESSING_RECORD", record),
        ("LEVEL1_MIN_MAX_RADIANCE", rad_min_max),
        ("LEVEL1_MIN_MAX_REFLECTANCE", refl_min_max),
        ("LEVEL1_MIN_MAX_PIXEL_VALUE", pixel_min_max),
        ("LEVEL1_RADIOMETRIC_RESCALING", rescaling),
        ("LEVEL1_THERMAL_CONSTANTS", thermal),
        ("LEVEL1_PROJECTION_PARAMETERS", projection_params),
    ):
        lines += _group(name, items, 1)
    lines += ["END_GROUP = LANDSAT_METADATA_FILE", "END", ""]
    return "\n".join(lines)
