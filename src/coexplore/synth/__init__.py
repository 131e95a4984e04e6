"""The embedded synthetic study area.

A seeded hidden land-surface state (terrain, geology, an ore body with its
alteration halo, growing open pits with spoil and reclamation, a growing
village, a lake with seasonal ponds, phenology and soil moisture driven by
a simulated climate) and sensor forward models that write raw products in
the real layouts of :mod:`coexplore.layout`: Landsat 8 Collection 2 L1
scenes, Sentinel-1 IW GRD SAFE folders, drone RGBA orthomosaics, station
records, static layers and the ground truth.

Public API
----------
plan_acquisitions(area)
    Scene, product and flight ids, from the config alone.
planned_files(area, raw_dir)
    Every file :func:`write_study_area` writes.
generate_state(area)
    The hidden state (:class:`LandState`).
hidden_surface_reflectance(state, date)
    True surface reflectance (7, H, W) on the 10 m grid.
write_study_area(area, raw_dir)
    Write everything.
"""

from .plan import plan_acquisitions, planned_files
from .state import LandState, generate_state
from .study_area import write_study_area
from .surface import hidden_surface_reflectance

__all__ = [
    "LandState",
    "generate_state",
    "hidden_surface_reflectance",
    "plan_acquisitions",
    "planned_files",
    "write_study_area",
]
