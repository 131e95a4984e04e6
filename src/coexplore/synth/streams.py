"""Named, independent random streams.

Every random draw of the synthetic study area comes from a generator keyed by
the area seed and a tuple of names and numbers (``rng_for(seed, "landsat8",
"clouds", date.toordinal())``). A stream is therefore reproducible on its own:
rendering one scene does not depend on which scenes were rendered before, and
the acquisition plan can draw its few numbers without building the state.
"""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: str | int) -> int:
    if isinstance(part, bool | np.bool_):
        return int(part)
    if isinstance(part, int | np.integer):
        if part < 0:
            # SeedSequence entropy must be non-negative: fold the sign into the value
            return 2 * (-int(part)) - 1 + (1 << 62)
        return int(part)
    # crc32 is stable across runs and platforms (unlike hash())
    return zlib.crc32(str(part).encode("utf-8"))


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator for one named purpose of one study area.

    Parameters
    ----------
    seed
        The study area seed.
    *keys
        Names (strings) and numbers (e.g. a date ordinal) identifying the purpose.

    Returns
    -------
    numpy.random.Generator
        Same seed and keys, same numbers; any differing key gives an
        independent stream.

    Examples
    --------
    >>> a = rng_for(42, "clouds", 7).random()
    >>> a == rng_for(42, "clouds", 7).random()
    True
    """
    return np.random.default_rng([_key(seed), *(_key(k) for k in keys)])
