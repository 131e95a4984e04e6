"""Spatially blocked train/validation/test splits, shared by the classical
and the deep models: whole square blocks of the grid go to one split, so no
test pixel shares a block with a training pixel."""

from __future__ import annotations

import numpy as np

TRAIN, VAL, TEST = 0, 1, 2
SPLIT_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}


def spatial_blocks(
    shape: tuple[int, int],
    block_size: int,
    *,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int,
) -> np.ndarray:
    """Assign every pixel of a grid to train (0), val (1) or test (2) by blocks.

    Parameters
    ----------
    shape
        (height, width) of the grid.
    block_size
        Block edge in pixels.
    fractions
        Share of blocks for train, val, test (normalised).
    seed
        Seed of the block shuffle.

    Returns
    -------
    numpy.ndarray
        int8 array of ``shape`` with the split code of each pixel.

    Examples
    --------
    >>> s = spatial_blocks((10, 10), 5, seed=0)
    >>> sorted(set(s.ravel().tolist())) == [0, 1, 2]
    True
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    h, w = shape
    nby, nbx = -(-h // block_size), -(-w // block_size)
    n = nby * nbx
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    counts = np.floor(f * n).astype(int)
    # every split gets at least one block when there are enough blocks
    for k in range(3):
        if counts[k] == 0 and n >= 3 and f[k] > 0:
            counts[k] = 1
    counts[0] = n - counts[1] - counts[2]
    codes = np.repeat(np.arange(3, dtype=np.int8), counts)
    rng = np.random.default_rng(seed)
    rng.shuffle(codes)
    block_grid = codes.reshape(nby, nbx)
    full = np.repeat(np.repeat(block_grid, block_size, axis=0), block_size, axis=1)
    return full[:h, :w]


def random_pixel_split(
    shape: tuple[int, int],
    *,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int,
) -> np.ndarray:
    """Pixel-wise random split (leaky; reported only to show the leakage)."""
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    rng = np.random.default_rng(seed)
    return rng.choice(3, size=shape, p=f).astype(np.int8)
