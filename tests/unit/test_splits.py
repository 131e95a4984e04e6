import numpy as np
import pytest

from coexplore.errors import InputError
from coexplore.grid import Grid
from coexplore.io.rasters import write_geotiff
from coexplore.learn.splits import spatial_blocks
from coexplore.steps.splits import read_splits, step_make_splits


def _blocks_of(splits: np.ndarray, size: int) -> np.ndarray:
    return splits[::size, ::size]


def test_blocks_are_whole_and_fractions_hold():
    s = spatial_blocks((200, 200), 20, fractions=(0.6, 0.2, 0.2), seed=0)
    b = _blocks_of(s, 20)
    assert (np.repeat(np.repeat(b, 20, 0), 20, 1) == s).all()
    np.testing.assert_allclose(np.bincount(b.ravel()) / b.size, [0.6, 0.2, 0.2])


def test_same_seed_same_split_other_seed_differs():
    a = spatial_blocks((100, 100), 10, seed=1)
    assert (a == spatial_blocks((100, 100), 10, seed=1)).all()
    assert (a != spatial_blocks((100, 100), 10, seed=2)).any()


def test_stratified_dealing_puts_a_rare_class_in_every_split():
    labels = np.ones((200, 200), dtype=np.uint8)
    labels[30:70, 120:160] = 5  # one pit: 16 blocks of 10 px
    strat = [spatial_blocks((200, 200), 10, seed=s, labels=labels) for s in range(20)]
    shares = np.array(
        [np.bincount(s[labels == 5], minlength=3) / (labels == 5).sum() for s in strat]
    )
    # every split gets the pit's class, close to its block fraction
    assert (shares > 0).all()
    np.testing.assert_allclose(shares.mean(axis=0), [0.6, 0.2, 0.2], atol=0.06)
    # the overall fractions are unchanged by the stratification
    for s in strat:
        np.testing.assert_allclose(np.bincount(s[::10, ::10].ravel()) / 400, [0.6, 0.2, 0.2])


def test_split_raster_roundtrip_and_mismatch(tmp_path):
    grid = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500400, 4400400), 10)
    truth = np.ones(grid.shape, dtype=np.uint8)
    truth[5:15, 5:15] = 6
    paths = {}
    for year in (2021, 2022):
        paths[year] = tmp_path / f"landuse_{year}.tif"
        write_geotiff(paths[year], truth, transform=grid.transform, crs=grid.crs, nodata=0)
    out = tmp_path / "splits.tif"
    splits = step_make_splits(
        paths,
        area={"grid": {"crs": grid.crs, "resolution": 10, "extent": list(grid.bounds)}, "seed": 3},
        cfg={"block_size": 8, "split_fractions": [0.6, 0.2, 0.2]},
        out=out,
    )
    assert (read_splits(out, grid) == splits).all()
    other = Grid.from_bounds("EPSG:32650", (500000, 4400000, 500200, 4400400), 10)
    with pytest.raises(InputError, match="does not match the grid"):
        read_splits(out, other)
