"""The target grid as a value object: CRS, affine transform and shape.

A grid can be built in a test without any file; everything that resamples
onto "the common grid" takes one of these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from .errors import ConfigError


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Parameters
    ----------
    crs
        Coordinate reference system, anything ``rasterio.crs.CRS.from_user_input``
        accepts (e.g. ``"EPSG:32650"``).
    transform
        Affine transform of the upper-left pixel corner.
    width, height
        Number of columns and rows.

    Examples
    --------
    >>> g = Grid.from_bounds("EPSG:32650", (500000, 4000000, 502000, 4001000), 10)
    >>> g.shape
    (100, 200)
    """

    crs: str
    transform: Affine
    width: int
    height: int

    @classmethod
    def from_bounds(
        cls, crs: str, bounds: tuple[float, float, float, float], resolution: float
    ) -> Grid:
        """Grid covering ``bounds`` (left, bottom, right, top) at ``resolution`` metres."""
        if not resolution > 0:
            raise ConfigError(
                f"grid resolution {resolution!r} must be positive; set grid.resolution to e.g. 10"
            )
        left, bottom, right, top = bounds
        if not (right > left and top > bottom):
            raise ConfigError(
                f"grid extent {bounds!r} is empty; give [left, bottom, right, top] with right>left, top>bottom"
            )
        width = int(round((right - left) / resolution))
        height = int(round((top - bottom) / resolution))
        return cls(
            crs=str(CRS.from_user_input(crs).to_string()),
            transform=Affine(resolution, 0.0, left, 0.0, -resolution, top),
            width=width,
            height=height,
        )

    @classmethod
    def from_config(cls, grid_cfg: dict) -> Grid:
        """Build from the ``grid`` block of a study area in the config."""
        return cls.from_bounds(grid_cfg["crs"], tuple(grid_cfg["extent"]), grid_cfg["resolution"])

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    @property
    def resolution(self) -> float:
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        left, top = self.transform.c, self.transform.f
        return (
            left,
            top + self.transform.e * self.height,
            left + self.transform.a * self.width,
            top,
        )

    @property
    def rio_crs(self) -> CRS:
        return CRS.from_user_input(self.crs)

    def x_coords(self) -> np.ndarray:
        """Pixel-centre x coordinates."""
        return self.transform.c + self.transform.a * (np.arange(self.width) + 0.5)

    def y_coords(self) -> np.ndarray:
        """Pixel-centre y coordinates (decreasing)."""
        return self.transform.f + self.transform.e * (np.arange(self.height) + 0.5)

    def coarsen(self, factor: int) -> Grid:
        """The grid with pixels ``factor`` times larger covering the same extent."""
        return Grid(
            crs=self.crs,
            transform=self.transform @ Affine.scale(factor),
            width=int(np.ceil(self.width / factor)),
            height=int(np.ceil(self.height / factor)),
        )

    def subgrid(self, row: int, col: int, height: int, width: int) -> Grid:
        """The ``height`` x ``width`` part of this grid starting at pixel (row, col)."""
        if not (0 <= row < self.height and 0 <= col < self.width and height > 0 and width > 0):
            raise ConfigError(
                f"subgrid at ({row}, {col}) of {height}x{width} lies outside the "
                f"{self.height}x{self.width} grid"
            )
        return Grid(
            crs=self.crs,
            transform=self.transform @ Affine.translation(col, row),
            width=min(width, self.width - col),
            height=min(height, self.height - row),
        )

    def contains(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether ``bounds`` (in this grid's CRS) overlap the grid."""
        left, bottom, right, top = self.bounds
        return not (
            bounds[2] <= left or bounds[0] >= right or bounds[3] <= bottom or bounds[1] >= top
        )
