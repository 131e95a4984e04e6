"""Where things are: the seeded geometric layout of the study area.

All positions are in map metres of the area CRS and laid out relative to the
area so any extent from 500 m up works; sizes scale with
``s = clip(min(width, height) / 5 km, 0.3, 2)``.

* A north-south valley meanders through the west third, with a river on its
  floor and a lake widening it in the north; seasonal ponds in hollows.
* A fault strikes NE-SW through the ore body in the east half, at the contact
  of a granite intrusion; bedded sandstone/limestone/schist elsewhere,
  offset across the fault; alluvium on the valley floor.
* The ore body (an elongated ellipse along the fault) with an alteration halo.
* One open pit over the ore (two on areas of >= 3 km) that opened six years
  before the study period and grows every year, a spoil heap beside it and a
  haul road to the village on the valley terrace.
* A paved road through the village, north to south.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fields import FourierSurface, ellipse_radius
from .settings import SynthSettings
from .streams import rng_for

BASE_ELEVATION_M = 520.0
VALLEY_DEPTH_M = 70.0
RIVER_HALF_WIDTH_M = 11.0
LAKE_DEPTH_M = 6.0
#: years between the pit opening and the first study year
PIT_AGE_AT_START = 6
#: years between a village founding and the first study year
VILLAGE_AGE_AT_START = 30


@dataclass(frozen=True)
class Basin:
    """A water basin: an ellipse with a maximum depth at the reference level (metres)."""

    centre: tuple[float, float]
    semi_axes: tuple[float, float]
    angle_deg: float
    depth_m: float


@dataclass(frozen=True)
class Excavation:
    """An open pit or spoil heap that grows from ``opened`` to its full size in ``full``.

    ``semi_axes`` are the full-size semi-axes along/across ``angle_deg``.
    ``reclaim`` says which parts are reclaimed a few years after excavation:
    ``"back"`` the worked-out side in the direction ``back_deg``, ``"all"``
    every part (spoil heaps), ``"none"`` nothing (a young pit).
    """

    centre: tuple[float, float]
    semi_axes: tuple[float, float]
    angle_deg: float
    opened: int
    full: int
    back_deg: float
    reclaim: str
    kind: str  # "pit" or "heap"


@dataclass(frozen=True)
class Scenery:
    """The layout of one study area (see the module docstring)."""

    bounds: tuple[float, float, float, float]
    scale: float
    valley_x0: float
    valley_amplitude: float
    valley_wavelength: float
    valley_phase: float
    valley_half_width: float
    relief: FourierSurface
    lake: Basin
    ponds: tuple[Basin, ...]
    village_centre: tuple[float, float]
    village_semi_axes: tuple[float, float]
    village_angle_deg: float
    village_founded: int
    village_full: int
    ore_centre: tuple[float, float]
    ore_semi_axes: tuple[float, float]
    fault_angle_deg: float
    granite_centre: tuple[float, float]
    granite_radius: float
    faults: tuple[tuple[tuple[float, float], ...], ...]
    bedding_angle_deg: float
    bedding_width: float
    fault_throw: float
    halo_m: float
    excavations: tuple[Excavation, ...]
    paved_road: tuple[tuple[float, float], ...]
    haul_road: tuple[tuple[float, float], ...]

    @property
    def main_pit(self) -> Excavation:
        """The first (largest) open pit."""
        return next(e for e in self.excavations if e.kind == "pit")

    def valley_x(self, y: np.ndarray) -> np.ndarray:
        """x of the valley centreline at northing ``y``."""
        b = self.bounds[1]
        return self.valley_x0 + self.valley_amplitude * np.sin(
            2 * np.pi * (np.asarray(y, dtype=float) - b) / self.valley_wavelength
            + self.valley_phase
        )

    def valley_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Approximate perpendicular distance (metres) to the valley centreline."""
        y = np.asarray(y, dtype=float)
        b = self.bounds[1]
        dxdy = (
            self.valley_amplitude
            * 2
            * np.pi
            / self.valley_wavelength
            * np.cos(2 * np.pi * (y - b) / self.valley_wavelength + self.valley_phase)
        )
        return np.abs(np.asarray(x, dtype=float) - self.valley_x(y)) / np.sqrt(1 + dxdy**2)

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pre-mining terrain elevation (metres), defined everywhere.

        Base level + random relief + a gentle northward rise - the valley
        trough + a granite dome; the lake surface is flat and ponds are hollows.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        left, bottom, right, top = self.bounds
        yc = (bottom + top) / 2
        z = BASE_ELEVATION_M + self.relief(x, y) + 0.004 * (y - yc)
        dv = self.valley_distance(x, y)
        z = z - VALLEY_DEPTH_M * np.exp(-((dv / (2.2 * self.valley_half_width)) ** 2))
        rg = np.hypot(x - self.granite_centre[0], y - self.granite_centre[1]) / self.granite_radius
        z = z + 25.0 * np.clip(1.0 - rg, 0.0, 1.0) ** 2
        for pond in self.ponds:
            r = ellipse_radius(x, y, pond.centre, pond.semi_axes, pond.angle_deg)
            z = z - 2.0 * pond.depth_m * np.clip(1.0 - r**2, 0.0, None)
        lake = self.lake
        r = ellipse_radius(x, y, lake.centre, lake.semi_axes, lake.angle_deg)
        lx, ly = lake.centre
        surface = (
            BASE_ELEVATION_M + float(self.relief(lx, ly)) + 0.004 * (ly - yc) - VALLEY_DEPTH_M - 1.0
        )
        return np.where(r < 1.0, np.minimum(z, surface), z)


def _clamp(value: float, lo: float, hi: float) -> float:
    return float(min(max(value, lo), hi))


def build_scenery(settings: SynthSettings) -> Scenery:
    """Lay out the study area's features from its seed and extent.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    Scenery
    """
    rng = rng_for(settings.seed, "scenery")
    left, bottom, right, top = settings.grid.bounds
    width, height = right - left, top - bottom
    s = float(np.clip(min(width, height) / 5000.0, 0.3, 2.0))
    first, last = settings.years[0], settings.years[-1]

    def jit(a: float) -> float:
        return float(rng.uniform(-a, a))

    # valley and lake (west third)
    valley_x0 = left + width * (0.27 + jit(0.03))
    valley_half_width = 300.0 * s
    valley = {
        "valley_x0": valley_x0,
        "valley_amplitude": 0.045 * width,
        "valley_wavelength": 0.9 * height,
        "valley_phase": float(rng.uniform(0, 2 * np.pi)),
        "valley_half_width": valley_half_width,
    }

    def valley_x(y: float) -> float:
        return valley["valley_x0"] + valley["valley_amplitude"] * np.sin(
            2 * np.pi * (y - bottom) / valley["valley_wavelength"] + valley["valley_phase"]
        )

    lake_axes = (520.0 * s, 340.0 * s)
    lake_y = bottom + height * (0.72 + jit(0.04))
    lake = Basin(
        centre=(valley_x(lake_y) + 0.3 * lake_axes[1], lake_y),
        semi_axes=lake_axes,
        angle_deg=90.0 + jit(15.0),
        depth_m=LAKE_DEPTH_M,
    )

    # village on the valley terrace
    v_axes = (480.0 * s * 1.25, 480.0 * s * 0.8)
    v_y = bottom + height * (0.30 + jit(0.04))
    side = -1.0 if valley_x(v_y) - left > valley_half_width + 1.3 * v_axes[0] else 1.0
    v_x = valley_x(v_y) + side * (valley_half_width + 0.9 * v_axes[1])
    v_x = _clamp(v_x, left + 0.8 * v_axes[1], right - 0.8 * v_axes[1])
    village_angle = 90.0 + jit(20.0)

    # ore, fault, granite (east half)
    ore = (left + width * (0.66 + jit(0.04)), bottom + height * (0.50 + jit(0.05)))
    fault_angle = float(rng.uniform(35.0, 60.0))
    ore_axes = (400.0 * s, 110.0 * s)
    u = np.array([np.cos(np.radians(fault_angle)), np.sin(np.radians(fault_angle))])
    n = np.array([-u[1], u[0]]) * (1.0 if rng.random() < 0.5 else -1.0)
    granite_radius = 1100.0 * s
    granite = tuple(np.asarray(ore) + n * 0.97 * granite_radius)

    span = 2.0 * max(width, height)
    main_fault = [
        tuple(np.asarray(ore) + u * t + n * jit(20.0 * s)) for t in np.linspace(-span, span, 7)
    ]
    faults = [tuple((float(a), float(b)) for a, b in main_fault)]
    for _ in range(2):
        p = np.array(
            [left + width * rng.uniform(0.15, 0.85), bottom + height * rng.uniform(0.15, 0.85)]
        )
        ang = np.radians(float(rng.choice([rng.uniform(-25, 15), rng.uniform(100, 150)])))
        d = np.array([np.cos(ang), np.sin(ang)])
        faults.append(tuple((float(a), float(b)) for a, b in (p - d * span, p + d * span)))

    # excavations
    pit_r = 440.0 * s
    pit1_c = tuple(np.asarray(ore) + u * 0.25 * ore_axes[0] + n * jit(0.2 * ore_axes[1]))
    opened = first - PIT_AGE_AT_START
    back = float(np.degrees(np.arctan2(-u[1], -u[0])))
    excavations = [
        Excavation(
            centre=(float(pit1_c[0]), float(pit1_c[1])),
            semi_axes=(1.25 * pit_r, 0.8 * pit_r),
            angle_deg=fault_angle,
            opened=opened,
            full=last,
            back_deg=back,
            reclaim="back",
            kind="pit",
        )
    ]
    heap_r = 0.45 * pit_r
    heap_c = np.asarray(pit1_c) - n * (0.8 * pit_r + 1.2 * heap_r)
    excavations.append(
        Excavation(
            centre=(float(heap_c[0]), float(heap_c[1])),
            semi_axes=(1.2 * heap_r, 0.85 * heap_r),
            angle_deg=fault_angle + jit(30.0),
            opened=opened + 1,
            full=last,
            back_deg=back,
            reclaim="all",
            kind="heap",
        )
    )
    if s >= 0.6:
        pit2_c = np.asarray(ore) - u * 0.9 * ore_axes[0]
        excavations.append(
            Excavation(
                centre=(float(pit2_c[0]), float(pit2_c[1])),
                semi_axes=(0.6 * pit_r, 0.45 * pit_r),
                angle_deg=fault_angle + jit(20.0),
                opened=first - 2,
                full=last + 2,
                back_deg=back,
                reclaim="none",
                kind="pit",
            )
        )

    # roads
    paved = (
        (v_x + jit(60.0 * s), bottom - span / 2),
        (v_x, v_y),
        (v_x + jit(150.0 * s), top + span / 2),
    )
    to_village = np.array([v_x, v_y]) - np.asarray(pit1_c)
    to_village /= np.hypot(*to_village)
    start = np.asarray(pit1_c) + to_village * 0.8 * pit_r
    mid = (start + np.array([v_x, v_y])) / 2 + np.array([jit(120 * s), jit(120 * s)])
    haul = tuple((float(a), float(b)) for a, b in (start, mid, (v_x, v_y)))

    # ponds: hollows away from the other features
    n_ponds = int(np.clip(round(width * height / 3e6), 2, 10))
    avoid = [
        (lake.centre, max(lake_axes) + 60.0),
        ((v_x, v_y), max(v_axes) + 40.0),
        (ore, ore_axes[0] + 60.0),
        ((float(heap_c[0]), float(heap_c[1])), 1.3 * heap_r + 40),
    ] + [(e.centre, max(e.semi_axes) + 60.0) for e in excavations]
    ponds: list[Basin] = []
    for _ in range(400):
        if len(ponds) == n_ponds:
            break
        r = float(rng.uniform(35.0, 80.0) * max(s, 0.5))
        c = (
            left + width * float(rng.uniform(0.08, 0.92)),
            bottom + height * float(rng.uniform(0.08, 0.92)),
        )
        if abs(c[0] - valley_x(c[1])) < r + 40.0:
            continue
        if any(np.hypot(c[0] - p[0], c[1] - p[1]) < d + r for p, d in avoid):
            continue
        if any(
            np.hypot(c[0] - q.centre[0], c[1] - q.centre[1]) < 3 * r + 3 * q.semi_axes[0]
            for q in ponds
        ):
            continue
        ponds.append(
            Basin(
                centre=c,
                semi_axes=(r, r * float(rng.uniform(0.6, 1.0))),
                angle_deg=float(rng.uniform(0, 180)),
                depth_m=float(rng.uniform(0.3, 1.1)),
            )
        )

    relief = FourierSurface.random(
        rng, n_modes=40, wavelength_m=(700.0, 7000.0), std=45.0, spectral_slope=1.0
    )
    return Scenery(
        bounds=(left, bottom, right, top),
        scale=s,
        relief=relief,
        lake=lake,
        ponds=tuple(ponds),
        village_centre=(float(v_x), float(v_y)),
        village_semi_axes=v_axes,
        village_angle_deg=village_angle,
        village_founded=first - VILLAGE_AGE_AT_START,
        village_full=last + 3,
        ore_centre=(float(ore[0]), float(ore[1])),
        ore_semi_axes=ore_axes,
        fault_angle_deg=fault_angle,
        granite_centre=(float(granite[0]), float(granite[1])),
        granite_radius=granite_radius,
        faults=tuple(faults),
        bedding_angle_deg=fault_angle + 90.0 + jit(25.0),
        bedding_width=800.0 * s,
        fault_throw=250.0 * s,
        halo_m=max(180.0 * s, 60.0),
        excavations=tuple(excavations),
        paved_road=tuple((float(a), float(b)) for a, b in paved),
        haul_road=haul,
        **valley,
    )
