"""Drone RGB orthomosaics over the main pit.

A ``size_m`` square (clamped inside the study area) centred on the main pit,
at ``resolution`` metres, RGBA uint8 with alpha 0 outside a ragged flight
footprint. Colours come from the day's 10 m surface reflectance (red, green,
blue) through a camera response ``255 (rho / 0.3) ^ (1 / 2.2)``; class
boundaries are warped by a smooth displacement of a few metres so they do
not follow the 10 m cells; sub-metre texture differs by class, so the
brightness spread inside a 10 m cell tells classes apart:

* vegetation: tree crowns (bright) and gaps (dark), ~2 m;
* mining: benches every 6 m (shadowed faces, bright floors) and boulders;
* built-up: roofs of 12 m x 10 m blocks in varied colours and streets;
* reclaimed: planting rows every 2 m, stronger as the grass grows;
* bare land: faint soil mottling; water: almost uniform.

The mosaic is rendered in row blocks so memory stays low (a 300 m square at
0.1 m is 3000 x 3000 pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp
from scipy import ndimage

from .. import layout
from ..io.atomic import atomic_path
from .fields import ellipse_radius, gaussian_field
from .plan import DroneFlight
from .state import BARE_LAND, BUILT_UP, MINING, RECLAIMED, VEGETATION, WATER, LandState
from .streams import rng_for
from .surface import reflectance, surface_snapshot

BLOCK_ROWS = 512
COARSE_M = 0.5  # resolution of the smooth texture fields
BENCH_SPACING_M = 6.0
ROW_SPACING_M = 2.0
ROOF_BLOCK_M = (12.0, 10.0)
ROOF_COLOURS = np.array(
    [
        [1.45, 0.75, 0.65],  # red tiles
        [1.05, 1.0, 0.95],  # concrete
        [0.7, 0.85, 1.3],  # blue steel
        [0.85, 0.85, 0.85],  # grey
        [1.25, 1.05, 0.8],  # ochre
        [0.6, 0.6, 0.6],  # dark
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class DroneGeometry:
    """Pixel grid of one orthomosaic."""

    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top)."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)


def drone_geometry(state: LandState) -> DroneGeometry:
    """The square footprint of the flights, snapped to the pixel size, inside the area.

    Parameters
    ----------
    state
        The hidden state (pit position, area bounds, drone settings).

    Returns
    -------
    DroneGeometry
        Pixel grid of ``size_m / resolution`` square pixels.
    """
    cfg = state.settings.drone
    res = cfg.resolution
    size = cfg.size_m
    n = int(round(size / res))
    left, bottom, right, top = state.grid.bounds
    # centred on the pit rim towards its worked-out (reclaimed) side, so the
    # flight sees the pit, reclaimed benches and the surrounding land
    pit = state.scenery.main_pit
    back = math.radians(pit.back_deg)
    reach = min(0.75 * pit.semi_axes[0], 0.5 * size)
    cx = pit.centre[0] + reach * math.cos(back)
    cy = pit.centre[1] + reach * math.sin(back)
    x0 = min(max(cx - size / 2, left), right - n * res)
    y1 = max(min(cy + size / 2, top), bottom + n * res)
    x0 = math.floor(x0 / res) * res
    y1 = math.ceil(y1 / res) * res
    x0 = max(x0, math.ceil(left / res) * res)
    y1 = min(y1, math.floor(top / res) * res)
    return DroneGeometry(transform=Affine(res, 0.0, x0, 0.0, -res, y1), width=n, height=n)


def _camera(rho: np.ndarray) -> np.ndarray:
    return 255.0 * np.clip(rho / 0.3, 0.0, 1.0) ** (1.0 / 2.2)


def render_orthomosaic(state: LandState, flight: DroneFlight) -> tuple[np.ndarray, DroneGeometry]:
    """Render one flight's RGBA orthomosaic.

    Parameters
    ----------
    state
        The hidden state.
    flight
        The planned flight.

    Returns
    -------
    (numpy.ndarray, DroneGeometry)
        uint8 (4, rows, cols) red, green, blue, alpha and the pixel grid.
    """
    geom = drone_geometry(state)
    res = state.settings.drone.resolution
    date = flight.date
    snap = surface_snapshot(state, date)
    rgb_ext = reflectance(state, snap)[[3, 2, 1]]
    rng = rng_for(state.seed, "drone", date.toordinal())

    size_m = geom.width * res
    coarse_n = int(math.ceil(size_m / COARSE_M)) + 2
    coarse = {
        "dx": 2.5 * gaussian_field(rng, (coarse_n, coarse_n), 3.0 / COARSE_M),
        "dy": 2.5 * gaussian_field(rng, (coarse_n, coarse_n), 3.0 / COARSE_M),
        "crowns": gaussian_field(rng, (coarse_n, coarse_n), 1.2 / COARSE_M),
        "mottle": gaussian_field(rng, (coarse_n, coarse_n), 1.0 / COARSE_M),
        "edge": gaussian_field(rng, (coarse_n, coarse_n), 15.0 / COARSE_M),
    }
    roof_table = rng.integers(0, len(ROOF_COLOURS), 4096)
    row_angle = float(rng.uniform(0, np.pi))
    pit = state.scenery.main_pit
    pit_scale = float(np.sqrt(pit.semi_axes[0] * pit.semi_axes[1]))
    v_angle = math.radians(state.scenery.village_angle_deg)
    ext_inv = ~state.ext.transform
    left, bottom, right, top = geom.bounds

    out = np.zeros((4, geom.height, geom.width), dtype=np.uint8)
    cols = np.arange(geom.width)
    xs = geom.transform.c + (cols + 0.5) * res
    for r0 in range(0, geom.height, BLOCK_ROWS):
        rows = np.arange(r0, min(r0 + BLOCK_ROWS, geom.height))
        ys = geom.transform.f - (rows + 0.5) * res
        x, y = np.meshgrid(xs, ys)
        cr, cc = np.meshgrid(
            (rows + 0.5) * res / COARSE_M, (cols + 0.5) * res / COARSE_M, indexing="ij"
        )

        def up(name: str, cr: np.ndarray = cr, cc: np.ndarray = cc) -> np.ndarray:
            return ndimage.map_coordinates(coarse[name], [cr, cc], order=1, mode="nearest")

        wx, wy = x + up("dx"), y + up("dy")
        ec = np.clip(np.floor(ext_inv.a * wx + ext_inv.c).astype(np.int64), 0, state.ext.width - 1)
        er = np.clip(np.floor(ext_inv.e * wy + ext_inv.f).astype(np.int64), 0, state.ext.height - 1)
        cls = snap.cls[er, ec]
        green = snap.green[er, ec]
        base = rgb_ext[:, er, ec]
        fine = rng.standard_normal(x.shape, dtype=np.float32)
        factor = np.ones(x.shape, dtype=np.float32)
        colour = np.ones((3, *x.shape), dtype=np.float32)

        m = cls == VEGETATION
        crown = up("crowns")
        factor[m] = np.where(crown[m] > 0.2, 1.25, 0.6) + 0.08 * fine[m]
        m = cls == BARE_LAND
        factor[m] = 1.0 + 0.07 * up("mottle")[m] + 0.05 * fine[m]
        m = cls == MINING
        r_m = ellipse_radius(x[m], y[m], pit.centre, pit.semi_axes, pit.angle_deg) * pit_scale
        phase = (r_m / BENCH_SPACING_M) % 1.0
        bench = np.where(phase < 0.35, 0.6, 1.15)
        factor[m] = bench * (1.0 + 0.12 * fine[m]) * np.where(fine[m] > 2.2, 1.4, 1.0)
        m = cls == BUILT_UP
        u = x[m] * math.cos(v_angle) + y[m] * math.sin(v_angle)
        v = -x[m] * math.sin(v_angle) + y[m] * math.cos(v_angle)
        bu, bv = np.floor(u / ROOF_BLOCK_M[0]), np.floor(v / ROOF_BLOCK_M[1])
        street = ((u % ROOF_BLOCK_M[0]) < 2.5) | ((v % ROOF_BLOCK_M[1]) < 2.0)
        key = ((bu.astype(np.int64) * 73856093) ^ (bv.astype(np.int64) * 19349663)) % 4096
        colour[:, m] = np.where(street[None], 1.0, ROOF_COLOURS[roof_table[key]].T)
        factor[m] = np.where(street, 0.55, 1.1) + 0.04 * fine[m]
        m = cls == RECLAIMED
        stripes = np.sin(
            2 * np.pi * (x[m] * math.cos(row_angle) + y[m] * math.sin(row_angle)) / ROW_SPACING_M
        )
        factor[m] = 1.0 + 0.2 * stripes * np.clip(green[m] * 2, 0.2, 1.0) + 0.05 * fine[m]
        m = cls == WATER
        factor[m] = 1.0 + 0.02 * fine[m]

        rgb = _camera(base * factor[None] * colour)
        d_edge = np.minimum.reduce([x - left, right - x, y - bottom, top - y])
        inside = d_edge > size_m * (0.03 + 0.012 * up("edge"))
        out[:3, rows] = np.where(inside[None], np.clip(np.round(rgb), 0, 255), 0).astype(np.uint8)
        out[3, rows] = np.where(inside, 255, 0).astype(np.uint8)
    return out, geom


def write_orthomosaic(state: LandState, flight: DroneFlight, raw_dir: Path | str) -> Path:
    """Render and write ``drone/<flight_id>.tif`` (tiled RGBA GeoTIFF, deflate) atomically.

    Parameters
    ----------
    state
        The hidden state.
    flight
        The planned flight.
    raw_dir
        The study area's raw folder.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    data, geom = render_orthomosaic(state, flight)
    path = layout.drone_path(raw_dir, flight.flight_id)
    with atomic_path(path) as tmp:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=geom.width,
            height=geom.height,
            count=4,
            dtype="uint8",
            crs=state.grid.crs,
            transform=geom.transform,
            compress="deflate",
            tiled=True,
            blockxsize=512,
            blockysize=512,
            photometric="RGB",
            alpha="YES",
        ) as dst:
            dst.write(data)
            dst.colorinterp = [
                ColorInterp.red,
                ColorInterp.green,
                ColorInterp.blue,
                ColorInterp.alpha,
            ]
            dst.update_tags(ACQUISITION_DATE=f"{flight.date:%Y-%m-%d}")
    return path
