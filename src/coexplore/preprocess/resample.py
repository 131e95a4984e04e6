"""Resampling onto the common grid with GDAL (rasterio.warp.reproject).

Data are warped with the requested kernel (bicubic by default) with invalid
pixels as NaN nodata, so GDAL leaves them out of the kernel; the validity
mask is warped separately (nearest, or area average above a threshold) and
decides which output pixels are valid, so a cloud edge neither smears cloud
values into clear pixels nor grows clear pixels into the cloud.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer, from_gcps
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window

from ..errors import DataError, GeometryError
from ..grid import Grid

_MASK_RESAMPLING = ("nearest", "average")

#: source pixels kept around a tile's footprint by :func:`warp_tiles`: the
#: cubic kernel reaches 2 source pixels when upsampling (30 m or 10 m onto
#: 10 m), plus rounding of the footprint
WARP_TILE_MARGIN = 4


def _resampling(name: str) -> Resampling:
    try:
        return Resampling[name]
    except KeyError as exc:
        raise DataError(
            f"unknown resampling {name!r}; use one of {[r.name for r in Resampling]}"
        ) from exc


def _georef(src_transform: Affine | None, gcps: Sequence[GroundControlPoint] | None) -> dict:
    if (src_transform is None) == (gcps is None or len(gcps) == 0):
        raise GeometryError(
            "source georeferencing",
            "give exactly one of src_transform and gcps",
            "pass the band transform, or the GCPs of a GCP-georeferenced image",
        )
    return {"src_transform": src_transform} if src_transform is not None else {"gcps": list(gcps)}


def warp_scale(
    shape: tuple[int, int],
    *,
    src_crs: str | CRS,
    grid: Grid,
    src_transform: Affine | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
) -> dict[str, str]:
    """GDAL warp options ``XSCALE``/``YSCALE``: grid pixels per source pixel.

    GDAL otherwise derives the scale from the sizes of the source and
    destination windows of each warp chunk, and widens the kernel when it
    comes out below 1; for a source about as fine as the grid (Sentinel-1
    GRD onto 10 m) the warp then depended on the extent being warped. The
    scale from the georeferencing (the ground length of one source pixel
    along its rows and columns at the image centre, over the grid
    resolution) is the same for a tile and for the whole grid.
    """
    georef = _georef(src_transform, gcps)
    tf = georef["src_transform"] if "src_transform" in georef else from_gcps(georef["gcps"])
    r, c = shape[0] / 2.0, shape[1] / 2.0
    pts = [tf @ (c, r), tf @ (c + 1.0, r), tf @ (c, r + 1.0)]
    xs, ys = warp_transform(
        CRS.from_user_input(src_crs), grid.rio_crs, [p[0] for p in pts], [p[1] for p in pts]
    )
    step_x = float(np.hypot(xs[1] - xs[0], ys[1] - ys[0]))
    step_y = float(np.hypot(xs[2] - xs[0], ys[2] - ys[0]))
    return {"XSCALE": repr(step_x / grid.resolution), "YSCALE": repr(step_y / grid.resolution)}


def reproject_mask(
    mask: np.ndarray,
    *,
    src_transform: Affine | None = None,
    src_crs: str | CRS,
    grid: Grid,
    gcps: Sequence[GroundControlPoint] | None = None,
    resampling: str = "nearest",
    threshold: float = 0.5,
) -> np.ndarray:
    """Warp a boolean mask onto ``grid``; False outside the source.

    Parameters
    ----------
    mask
        2-D boolean array in the source geometry.
    src_transform, gcps
        Source georeferencing: an affine transform or ground control points.
    src_crs
        Source CRS (of the transform or of the GCP coordinates).
    grid
        Target grid.
    resampling
        ``"nearest"``, or ``"average"``: the area fraction of True source
        pixels, compared with ``threshold``.
    threshold
        Minimum True fraction for ``"average"``.

    Returns
    -------
    numpy.ndarray
        Boolean (H, W) mask on the grid.

    Raises
    ------
    DataError
        On an unknown mask resampling.
    GeometryError
        Unless exactly one of ``src_transform`` and ``gcps`` is given.
    """
    if resampling not in _MASK_RESAMPLING:
        raise DataError(f"mask resampling {resampling!r} unknown; use one of {_MASK_RESAMPLING}")
    georef = _georef(src_transform, gcps)
    src = np.asarray(mask, dtype=np.float32)
    dst = np.zeros(grid.shape, dtype=np.float32)
    reproject(
        src,
        dst,
        src_crs=CRS.from_user_input(src_crs),
        dst_transform=grid.transform,
        dst_crs=grid.rio_crs,
        resampling=_resampling(resampling),
        src_nodata=-1.0,
        dst_nodata=0.0,
        init_dest_nodata=True,
        **georef,
        **warp_scale(src.shape, src_crs=src_crs, grid=grid, **georef),
    )
    if resampling == "nearest":
        return dst > 0.5
    return dst >= threshold


def reproject_to_grid(
    data: np.ndarray,
    *,
    src_transform: Affine | None = None,
    src_crs: str | CRS,
    grid: Grid,
    resampling: str = "cubic",
    src_nodata: float | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
    mask_resampling: str = "nearest",
    mask_threshold: float = 0.5,
) -> np.ndarray:
    """Warp a (band, y, x) array onto the common grid; NaN outside and where invalid.

    Parameters
    ----------
    data
        (band, y, x) or (y, x) array; NaN (and ``src_nodata``) mark invalid pixels.
    src_transform
        Source affine transform (may be rotated, e.g. fitted from GCPs).
    src_crs
        Source CRS (of the transform, or of the GCP coordinates).
    grid
        Target grid.
    resampling
        GDAL kernel name (``"cubic"``, ``"bilinear"``, ``"nearest"``, ``"average"``...).
    src_nodata
        Extra value marking invalid source pixels.
    gcps
        Ground control points georeferencing the source instead of ``src_transform``
        (GDAL fits a polynomial to them).
    mask_resampling, mask_threshold
        How the validity mask is warped (see :func:`reproject_mask`).

    Returns
    -------
    numpy.ndarray
        float32 array (band, H, W), or (H, W) for 2-D input.

    Raises
    ------
    DataError
        On a bad array shape or resampling name.
    GeometryError
        Unless exactly one of ``src_transform`` and ``gcps`` is given.

    Examples
    --------
    >>> g = Grid.from_bounds("EPSG:32650", (500000, 4000000, 500060, 4000060), 10)
    >>> src = np.ones((1, 2, 2), dtype=np.float32)
    >>> out = reproject_to_grid(src, src_transform=Affine(30, 0, 500000, 0, -30, 4000060),
    ...                         src_crs="EPSG:32650", grid=g)
    >>> out.shape
    (1, 6, 6)
    """
    arr = np.asarray(data)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    if arr.ndim != 3:
        raise DataError(f"reproject_to_grid takes (band, y, x) or (y, x), got shape {arr.shape}")
    kernel = _resampling(resampling)
    georef = _georef(src_transform, gcps)
    crs = CRS.from_user_input(src_crs)
    src = arr.astype(np.float32)
    valid = np.isfinite(src)
    if src_nodata is not None and not np.isnan(src_nodata):
        valid &= src != src_nodata
    src = np.where(valid, src, np.nan).astype(np.float32)
    dst = np.full((arr.shape[0], *grid.shape), np.nan, dtype=np.float32)
    scale = warp_scale(arr.shape[1:], src_crs=crs, grid=grid, **georef)
    mask_kw = dict(
        src_crs=crs,
        grid=grid,
        resampling=mask_resampling,
        threshold=mask_threshold,
        src_transform=src_transform,
        gcps=gcps,
    )
    # Bands are warped in groups sharing one validity mask: GDAL's multi-band
    # warp merges the nodata of all bands in a chunk, which would blank valid
    # pixels of one band where another band is invalid.
    for group in _mask_groups(valid):
        sub = np.full((len(group), *grid.shape), np.nan, dtype=np.float32)
        reproject(
            src[group],
            sub,
            src_crs=crs,
            dst_transform=grid.transform,
            dst_crs=grid.rio_crs,
            resampling=kernel,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            init_dest_nodata=True,
            **georef,
            **scale,
        )
        sub[:, ~reproject_mask(valid[group[0]], **mask_kw)] = np.nan
        dst[group] = sub
    return dst[0] if squeeze else dst


def crop_georef(
    window: Window,
    *,
    src_transform: Affine | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
) -> dict:
    """Georeferencing of the ``window`` part of an image: the transform moved
    to the window's first pixel, or the GCPs' pixel coordinates shifted.

    Returns
    -------
    dict
        ``{"src_transform": ...}`` or ``{"gcps": [...]}``, for the keyword
        arguments of :func:`reproject_to_grid`.
    """
    georef = _georef(src_transform, gcps)
    r0, c0 = float(window.row_off), float(window.col_off)
    if "src_transform" in georef:
        return {"src_transform": src_transform @ Affine.translation(c0, r0)}
    return {
        "gcps": [
            GroundControlPoint(row=g.row - r0, col=g.col - c0, x=g.x, y=g.y, z=g.z, id=g.id)
            for g in georef["gcps"]
        ]
    }


def _tile_source(
    arr: np.ndarray, sub: Grid, *, src_crs: str | CRS, georef: dict
) -> tuple[np.ndarray, dict] | None:
    """The part of a (..., y, x) source that a tile ``sub`` of the grid
    needs (:data:`WARP_TILE_MARGIN` pixels around its footprint) with its
    georeferencing, or None when the tile does not fall on the source."""
    window = grid_window(sub, arr.shape[-2:], src_crs=src_crs, margin=WARP_TILE_MARGIN, **georef)
    if window is None:
        return None
    r0, c0 = int(window.row_off), int(window.col_off)
    part = arr[..., r0 : r0 + int(window.height), c0 : c0 + int(window.width)]
    return part, crop_georef(window, **georef)


def count_on_grid(
    mask: np.ndarray,
    *,
    src_transform: Affine | None = None,
    src_crs: str | CRS,
    grid: Grid,
    tile: int,
    gcps: Sequence[GroundControlPoint] | None = None,
) -> int:
    """Number of grid pixels where :func:`reproject_mask` (nearest) of
    ``mask`` is True, counted tile by tile so that no grid-sized mask is
    held (tasks under the dask scheduler in effect).

    Parameters
    ----------
    mask
        2-D boolean source mask.
    src_transform, gcps, src_crs
        Source georeferencing.
    grid
        Target grid.
    tile
        Tile edge in grid pixels.

    Returns
    -------
    int
    """
    src = np.asarray(mask, dtype=bool)
    georef = _georef(src_transform, gcps)

    def one(row: int, col: int) -> int:
        sub = grid.subgrid(row, col, tile, tile)
        part = _tile_source(src, sub, src_crs=src_crs, georef=georef)
        if part is None:
            return 0
        return int(reproject_mask(part[0], src_crs=src_crs, grid=sub, **part[1]).sum())

    tasks = [
        dask.delayed(one)(r, c)
        for r in range(0, grid.height, tile)
        for c in range(0, grid.width, tile)
    ]
    return int(sum(dask.compute(*tasks)))


def warp_tiles(
    data: np.ndarray,
    *,
    src_transform: Affine | None = None,
    src_crs: str | CRS,
    grid: Grid,
    tile: int,
    resampling: str = "cubic",
    gcps: Sequence[GroundControlPoint] | None = None,
    mask_resampling: str = "nearest",
    mask_threshold: float = 0.5,
) -> da.Array:
    """:func:`reproject_to_grid` as a lazy dask array computed tile by tile.

    Each ``tile`` x ``tile`` block of the grid warps only the part of the
    source that its footprint needs (:func:`grid_window` with
    :data:`WARP_TILE_MARGIN` pixels), so a block's memory follows the tile,
    not the grid, and nothing of the grid is held until a block is computed
    (written, reduced). With an affine source the blocks equal the
    whole-grid warp; with GCPs, GDAL fits the GCP polynomial per block, to
    the same mapping up to round-off.

    Parameters
    ----------
    data
        (band, y, x) source array (kept in memory; blocks read slices of it).
    src_transform, gcps, src_crs, resampling, mask_resampling, mask_threshold
        As :func:`reproject_to_grid`.
    grid
        Target grid.
    tile
        Block edge in grid pixels.

    Returns
    -------
    dask.array.Array
        float32 (band, H, W), chunks (all bands, ``tile``, ``tile``).

    Raises
    ------
    DataError
        On a source that is not 3-D.
    GeometryError
        Unless exactly one of ``src_transform`` and ``gcps`` is given.
    """
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise DataError(f"warp_tiles takes a (band, y, x) source, got shape {arr.shape}")
    georef = _georef(src_transform, gcps)
    n_band = arr.shape[0]

    def block(row: int, col: int) -> np.ndarray:
        sub = grid.subgrid(row, col, tile, tile)
        part = _tile_source(arr, sub, src_crs=src_crs, georef=georef)
        if part is None:
            return np.full((n_band, *sub.shape), np.nan, dtype=np.float32)
        return reproject_to_grid(
            part[0],
            src_crs=src_crs,
            grid=sub,
            resampling=resampling,
            mask_resampling=mask_resampling,
            mask_threshold=mask_threshold,
            **part[1],
        )

    rows = [
        [
            da.from_delayed(
                dask.delayed(block)(r, c),
                shape=(n_band, min(tile, grid.height - r), min(tile, grid.width - c)),
                dtype=np.float32,
            )
            for c in range(0, grid.width, tile)
        ]
        for r in range(0, grid.height, tile)
    ]
    return da.block(rows)  # rows along y, blocks of a row along x


def embed_lazily(
    values: np.ndarray, *, row: int, col: int, grid: Grid, tile: int, fill: float = np.nan
) -> da.Array:
    """A (band, H, W) dask array on ``grid``: ``values`` at (row, col), ``fill``
    elsewhere, in ``tile`` x ``tile`` blocks.

    For data that cover a small part of a large grid (a drone flight): the
    blocks away from ``values`` cost nothing until they are computed, one
    at a time, when written.

    Parameters
    ----------
    values
        (band, h, w) array lying inside the grid from pixel (row, col).
    row, col
        Position of ``values[:, 0, 0]`` on the grid.
    grid
        The grid.
    tile
        Block edge in grid pixels.
    fill
        Value outside ``values``.

    Returns
    -------
    dask.array.Array
        float32 (band, H, W).

    Raises
    ------
    DataError
        If ``values`` do not lie inside the grid.
    """
    vals = np.asarray(values, dtype=np.float32)
    n_band, h, w = vals.shape
    if row < 0 or col < 0 or row + h > grid.height or col + w > grid.width:
        raise DataError(
            f"a {h}x{w} block at ({row}, {col}) does not lie inside the "
            f"{grid.height}x{grid.width} grid"
        )

    def block(r0: int, c0: int, th: int, tw: int) -> np.ndarray:
        out = np.full((n_band, th, tw), fill, dtype=np.float32)
        ya, yb = max(r0, row), min(r0 + th, row + h)
        xa, xb = max(c0, col), min(c0 + tw, col + w)
        out[:, ya - r0 : yb - r0, xa - c0 : xb - c0] = vals[
            :, ya - row : yb - row, xa - col : xb - col
        ]
        return out

    rows = []
    for r0 in range(0, grid.height, tile):
        th = min(tile, grid.height - r0)
        blocks = []
        for c0 in range(0, grid.width, tile):
            tw = min(tile, grid.width - c0)
            if r0 < row + h and row < r0 + th and c0 < col + w and col < c0 + tw:
                blocks.append(
                    da.from_delayed(
                        dask.delayed(block)(r0, c0, th, tw), (n_band, th, tw), dtype=np.float32
                    )
                )
            else:
                blocks.append(da.full((n_band, th, tw), fill, dtype=np.float32))
        rows.append(blocks)
    return da.block(rows)


def _mask_groups(valid: np.ndarray) -> list[list[int]]:
    groups: list[list[int]] = []
    for i in range(valid.shape[0]):
        for group in groups:
            if np.array_equal(valid[group[0]], valid[i]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def footprint_bounds(
    shape: tuple[int, int],
    *,
    src_crs: str | CRS,
    dst_crs: str | CRS,
    src_transform: Affine | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
) -> tuple[float, float, float, float]:
    """Bounds (left, bottom, right, top) of an image footprint in ``dst_crs``.

    Parameters
    ----------
    shape
        (rows, cols) of the image.
    src_crs, dst_crs
        CRS of the georeferencing and of the returned bounds.
    src_transform, gcps
        Georeferencing: an affine transform, or GCPs (their extent is used).

    Returns
    -------
    tuple of float

    Raises
    ------
    GeometryError
        Unless exactly one of ``src_transform`` and ``gcps`` is given.
    """
    georef = _georef(src_transform, gcps)
    if "src_transform" in georef:
        h, w = shape
        corners = np.array([src_transform @ (c, r) for c, r in ((0, 0), (w, 0), (0, h), (w, h))])
        xs, ys = corners[:, 0], corners[:, 1]
    else:
        xs = np.array([g.x for g in georef["gcps"]])
        ys = np.array([g.y for g in georef["gcps"]])
    return transform_bounds(
        CRS.from_user_input(src_crs),
        CRS.from_user_input(dst_crs),
        float(xs.min()),
        float(ys.min()),
        float(xs.max()),
        float(ys.max()),
        densify_pts=21,
    )


def grid_dataarray(
    values: np.ndarray,
    grid: Grid,
    bands: Sequence[str],
    *,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Wrap a (band, H, W) array on ``grid`` as a float32 DataArray with CRS.

    Parameters
    ----------
    values
        Array of shape (len(bands), grid.height, grid.width), NumPy or dask.
    grid
        The grid the values lie on.
    bands
        Band names (the ``band`` coordinate).
    attrs
        Attributes to attach.

    Returns
    -------
    xarray.DataArray
        Dims (band, y, x), coords from ``grid.y_coords()``/``x_coords()``, the
        grid CRS and transform written with rioxarray.

    Raises
    ------
    DataError
        If the shape does not match the grid and band list.
    """
    # a dask array stays lazy (an ingest warped tile by tile)
    arr = values.astype(np.float32) if hasattr(values, "dask") else np.asarray(values, np.float32)
    expected = (len(bands), *grid.shape)
    if arr.shape != expected:
        raise DataError(f"array shape {arr.shape} does not match (band, y, x) = {expected}")
    da = xr.DataArray(
        arr,
        dims=("band", "y", "x"),
        coords={"band": list(bands), "y": grid.y_coords(), "x": grid.x_coords()},
        attrs=dict(attrs or {}),
    )
    return da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)


def grid_window(
    grid: Grid,
    shape: tuple[int, int],
    *,
    src_crs: str | CRS,
    src_transform: Affine | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
    margin: int = 0,
) -> Window | None:
    """The part of a source image that covers ``grid``, plus ``margin`` pixels.

    The grid outline (densified, 21 points a side) is mapped into source
    pixel coordinates through the inverse of ``src_transform`` or of GDAL's
    GCP transformer, and its bounding box is padded and clipped to the image.
    Reading only this window keeps the memory of a scene's ingest bounded by
    the study area, not by the scene (a Landsat scene is 7800 px square, a
    Sentinel-1 GRD 25000 x 17000).

    Parameters
    ----------
    grid
        Target grid.
    shape
        (rows, cols) of the full source image.
    src_crs
        CRS of the source georeferencing.
    src_transform, gcps
        Source georeferencing: an affine transform, or GCPs.
    margin
        Extra pixels on every side (kernel support, speckle window, context).

    Returns
    -------
    rasterio.windows.Window or None
        None when the grid does not fall on the image.

    Raises
    ------
    GeometryError
        Unless exactly one of ``src_transform`` and ``gcps`` is given.
    """
    georef = _georef(src_transform, gcps)
    left, bottom, right, top = grid.bounds
    t = np.linspace(0.0, 1.0, 21)
    gx = np.concatenate([left + t * (right - left)] * 2 + [np.full(21, left), np.full(21, right)])
    gy = np.concatenate([np.full(21, bottom), np.full(21, top)] + [bottom + t * (top - bottom)] * 2)
    xs, ys = warp_transform(grid.rio_crs, CRS.from_user_input(src_crs), gx, gy)
    if "src_transform" in georef:
        inv = ~src_transform
        cols = np.array([(inv @ (x, y))[0] for x, y in zip(xs, ys, strict=True)])
        rows = np.array([(inv @ (x, y))[1] for x, y in zip(xs, ys, strict=True)])
    else:
        with GCPTransformer(list(gcps)) as tr:
            rows, cols = tr.rowcol(xs, ys, op=lambda v: v)
        rows, cols = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
    h, w = shape
    r0 = max(int(np.floor(rows.min())) - margin, 0)
    r1 = min(int(np.ceil(rows.max())) + margin, h)
    c0 = max(int(np.floor(cols.min())) - margin, 0)
    c1 = min(int(np.ceil(cols.max())) + margin, w)
    if r1 <= r0 or c1 <= c0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)
