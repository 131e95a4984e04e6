"""Wall-to-wall land-use maps from a fitted classifier.

:func:`predict_map` classifies a (feature, y, x) stack in blocks of rows
(bounded memory) and returns the class map, the class probabilities and two
per-pixel uncertainty measures:

* ``entropy``: Shannon entropy of the class probabilities, normalised by
  ``ln(n_classes)`` to [0, 1] (0 = certain, 1 = uniform);
* ``margin``: difference between the two highest probabilities (0 = a tie
  between two classes, 1 = certain).

:func:`write_landuse_map` writes a class map as a Cloud-Optimized GeoTIFF
with the land-use colour table and class names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from scipy.special import entr

from ..errors import ConfigError, DataError
from ..io.rasters import write_geotiff
from ..sensors import LandUse


class MapPrediction(NamedTuple):
    """Output of :func:`predict_map`."""

    classes: xr.DataArray
    """uint8 (y, x) class codes, ``LandUse.nodata`` where no feature is valid."""
    probability: xr.DataArray
    """float32 (class, y, x), NaN where unmapped."""
    uncertainty: xr.Dataset
    """``entropy`` and ``margin`` (y, x), float32, NaN where unmapped."""


def predict_map(
    estimator: Any,
    features: xr.DataArray,
    *,
    block_rows: int = 64,
    nodata: int = LandUse.nodata,
) -> MapPrediction:
    """Classify every pixel of a feature stack, a block of rows at a time.

    Parameters
    ----------
    estimator
        Fitted classifier with ``predict_proba`` and ``classes_`` (e.g. a
        pipeline of :func:`coexplore.models.classical.make_classifier`), trained
        on the stack's features in the same order.
    features
        dims (feature, y, x), NumPy or dask backed.
    block_rows
        Rows per block (memory: ``block_rows x width x features`` values).
    nodata
        Class code of pixels without any valid feature.

    Returns
    -------
    MapPrediction
        ``(classes, probability, uncertainty)``.

    Raises
    ------
    ConfigError
        If the estimator has no ``predict_proba`` (e.g. a bare SVC; build the SVM
        with :func:`~coexplore.models.classical.make_classifier`, which calibrates
        it) or ``block_rows < 1``.
    DataError
        If the estimator expects another number of features, or its classes do
        not fit in uint8 or collide with ``nodata``.
    """
    if block_rows < 1:
        raise ConfigError(f"block_rows={block_rows} must be >= 1")
    if not hasattr(estimator, "predict_proba"):
        raise ConfigError(
            f"{type(estimator).__name__} has no predict_proba; for an SVM use "
            "make_classifier('svm', seed=...), which wraps it in probability calibration"
        )
    features = features.transpose("feature", "y", "x")
    n_feat, height, width = features.shape
    expected = getattr(estimator, "n_features_in_", n_feat)
    if expected != n_feat:
        raise DataError(
            f"the classifier was trained on {expected} features but the stack has {n_feat}; "
            "select the same features in the same order"
        )
    classes = np.asarray(estimator.classes_)
    if classes.min() < 0 or classes.max() > 255 or nodata in classes.tolist():
        raise DataError(
            f"classifier classes {classes.tolist()} must be codes 0..255 other than nodata={nodata}"
        )
    n_cls = classes.size
    class_map = np.full((height, width), nodata, dtype=np.uint8)
    prob = np.full((n_cls, height, width), np.nan, dtype=np.float32)
    for r0 in range(0, height, block_rows):
        r1 = min(height, r0 + block_rows)
        block = np.asarray(features.isel(y=slice(r0, r1)).values, dtype=np.float32)
        rows = block.reshape(n_feat, -1).T
        ok = np.isfinite(rows).any(axis=1)
        if not ok.any():
            continue
        p = np.full((rows.shape[0], n_cls), np.nan, dtype=np.float32)
        p[ok] = estimator.predict_proba(rows[ok])
        labels = np.full(rows.shape[0], nodata, dtype=np.uint8)
        labels[ok] = classes[np.argmax(p[ok], axis=1)]
        class_map[r0:r1] = labels.reshape(r1 - r0, width)
        prob[:, r0:r1] = p.T.reshape(n_cls, r1 - r0, width)
    with np.errstate(invalid="ignore"):
        entropy = entr(prob.astype(np.float64)).sum(axis=0)
        entropy = entropy / np.log(n_cls) if n_cls > 1 else np.zeros_like(entropy)
        top2 = -np.sort(-np.nan_to_num(prob, nan=0.0), axis=0)[:2]
        margin = top2[0] - top2[1] if n_cls > 1 else np.ones((height, width))
    unmapped = class_map == nodata
    entropy = np.where(unmapped, np.nan, entropy).astype(np.float32)
    margin = np.where(unmapped, np.nan, margin).astype(np.float32)
    coords = {"y": features["y"], "x": features["x"]}
    crs = features.rio.crs
    class_da = xr.DataArray(class_map, dims=("y", "x"), coords=coords, name="landuse")
    class_da.attrs.update({"nodata": nodata, "classes": [int(c) for c in classes]})
    prob_da = xr.DataArray(
        prob,
        dims=("class", "y", "x"),
        coords={"class": [int(c) for c in classes], **coords},
        name="probability",
    )
    unc = xr.Dataset(
        {"entropy": (("y", "x"), entropy), "margin": (("y", "x"), margin)}, coords=coords
    )
    unc["entropy"].attrs["long_name"] = "Shannon entropy of class probabilities / ln(n_classes)"
    unc["margin"].attrs["long_name"] = "highest minus second-highest class probability"
    if crs is not None:
        class_da = class_da.rio.write_crs(crs)
        prob_da = prob_da.rio.write_crs(crs)
        unc = unc.rio.write_crs(crs)
    return MapPrediction(class_da, prob_da, unc)


def write_landuse_map(
    path: str | Path,
    class_map: xr.DataArray,
    *,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a land-use class map as a COG with colour table and class names.

    Parameters
    ----------
    path
        Target ``.tif`` (written atomically).
    class_map
        uint8-compatible codes (y, x) with CRS and coordinates (rioxarray),
        0 = nodata.
    tags
        Extra provenance tags.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        If the map has no CRS or holds codes outside the land-use classes.
    """
    class_map = class_map.squeeze(drop=True).transpose("y", "x")
    crs = class_map.rio.crs
    if crs is None:
        raise DataError(
            f"class map for {path} has no CRS; write one with .rio.write_crs() (the cube's CRS)"
        )
    values = np.asarray(class_map.values)
    allowed = {LandUse.nodata, *LandUse.codes}
    found = set(np.unique(values).tolist())
    if not found <= allowed:
        raise DataError(
            f"class map for {path} holds codes {sorted(found - allowed)} outside the land-use "
            f"classes {sorted(LandUse.codes)} (0 = nodata)"
        )
    return write_geotiff(
        path,
        values.astype(np.uint8),
        transform=class_map.rio.transform(),
        crs=crs.to_string(),
        nodata=LandUse.nodata,
        band_names=["landuse"],
        colormap=LandUse.colours,
        category_names=LandUse.codes,
        tags=tags,
    )
