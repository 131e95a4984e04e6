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
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Assign every pixel of a grid to train (0), val (1) or test (2) by blocks.

    Without ``labels`` the blocks are shuffled and dealt by ``fractions``.
    With ``labels`` the dealing is stratified: classes are visited from the
    one found in the fewest blocks to the most widespread, and each block
    holding the class goes to the split furthest below its share of that
    class's blocks (while it has room), so that a rare class confined to a
    few blocks (an open pit, reclaimed land) still reaches every split; the
    remaining blocks are dealt at random. Splits stay whole blocks.

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
    labels
        Optional class codes (y, x) or (n, y, x) (several years; 0 = no
        class) for the stratified dealing.

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
    rng = np.random.default_rng(seed)
    if labels is None:
        codes = np.repeat(np.arange(3, dtype=np.int8), counts)
        rng.shuffle(codes)
    else:
        codes = _stratified_codes(np.asarray(labels), (h, w), block_size, counts, f, rng)
    block_grid = codes.reshape(nby, nbx)
    full = np.repeat(np.repeat(block_grid, block_size, axis=0), block_size, axis=1)
    return full[:h, :w]


def _stratified_codes(
    labels: np.ndarray,
    shape: tuple[int, int],
    block_size: int,
    counts: np.ndarray,
    fractions: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    h, w = shape
    if labels.shape[-2:] != (h, w):
        raise ValueError(f"labels of shape {labels.shape} do not match the grid {shape}")
    stack = labels.reshape(-1, h, w)
    nby, nbx = -(-h // block_size), -(-w // block_size)
    n = nby * nbx
    block_of = (np.arange(h)[:, None] // block_size) * nbx + (np.arange(w)[None, :] // block_size)
    classes = [int(c) for c in np.unique(stack) if c != 0]
    # presence[k, b]: block b holds class k in any layer
    presence = np.zeros((len(classes), n), dtype=bool)
    for k, c in enumerate(classes):
        presence[k, np.unique(block_of[(stack == c).any(axis=0)])] = True
    codes = np.full(n, -1, dtype=np.int8)
    room = counts.astype(int).copy()
    for k in np.argsort(presence.sum(axis=1), kind="stable"):
        blocks = np.flatnonzero(presence[k])
        rng.shuffle(blocks)
        got = np.array([(codes[blocks] == s).sum() for s in range(3)], dtype=float)
        for b in blocks:
            if codes[b] >= 0:
                continue
            deficit = fractions * len(blocks) - got
            deficit[room <= 0] = -np.inf
            s = int(np.argmax(deficit))
            codes[b] = s
            got[s] += 1
            room[s] -= 1
    rest = np.flatnonzero(codes < 0)
    rng.shuffle(rest)
    fill = np.repeat(np.arange(3, dtype=np.int8), np.maximum(room, 0))
    codes[rest] = fill[: len(rest)]
    return codes


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
