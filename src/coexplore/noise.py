"""Additive noise at a target signal-to-noise ratio, for the robustness experiments.

The signal-to-noise ratio is the power ratio in decibels::

    SNR_dB = 10 log10(P_s / P_n),   P_s = mean(x**2),   P_n = mean((noisy - x)**2)

Signal power is measured over the finite samples of ``x``. By default it is
*global* (one P_s for the whole array, so every sample receives noise of the
same power); with ``channel_axis`` it is measured *per channel* (e.g. per band
of a (band, y, x) stack), so a dim band gets proportionally weaker noise than a
bright one and every channel meets the target on its own. NaN samples stay NaN
and are excluded from every mean. Values are not clipped after adding noise:
clipping would change the noise power and break the SNR contract.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .errors import DataError

NoiseKind = Literal["gaussian", "salt_pepper", "uniform"]
NOISE_KINDS: tuple[str, ...] = ("gaussian", "salt_pepper", "uniform")


def signal_power(x: np.ndarray, *, channel_axis: int | None = None) -> np.ndarray:
    """Mean squared value of the finite samples, globally or per channel.

    Parameters
    ----------
    x
        Signal array.
    channel_axis
        Axis holding channels; ``None`` for one global power.

    Returns
    -------
    numpy.ndarray
        0-d array (global) or one power per channel.

    Raises
    ------
    DataError
        If ``x`` (or a channel) has no finite sample.
    """
    arr = np.asarray(x, dtype=np.float64)
    sq = np.where(np.isfinite(arr), arr * arr, np.nan)
    if channel_axis is None:
        if not np.isfinite(sq).any():
            raise DataError(
                f"signal of shape {arr.shape} has no finite sample; "
                "pass an array with valid values to measure its power"
            )
        return np.asarray(np.nanmean(sq))
    moved = np.moveaxis(sq, channel_axis, 0).reshape(arr.shape[channel_axis], -1)
    empty = ~np.isfinite(moved).any(axis=1)
    if empty.any():
        raise DataError(
            f"channels {np.flatnonzero(empty).tolist()} of the signal (axis {channel_axis}) "
            "have no finite sample; drop them before adding noise"
        )
    return np.nanmean(moved, axis=1)


def measure_snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Achieved SNR in dB between a clean array and its noisy version.

    Parameters
    ----------
    clean, noisy
        Arrays of the same shape; samples non-finite in either are ignored.

    Returns
    -------
    float
        ``10 log10(mean(clean**2) / mean((noisy - clean)**2))``; ``inf`` if
        the arrays are identical.

    Raises
    ------
    DataError
        If the shapes differ or no sample is finite in both.
    """
    c = np.asarray(clean, dtype=np.float64)
    n = np.asarray(noisy, dtype=np.float64)
    if c.shape != n.shape:
        raise DataError(
            f"clean array has shape {c.shape} but noisy has {n.shape}; "
            "compare an array with its own noisy version"
        )
    ok = np.isfinite(c) & np.isfinite(n)
    if not ok.any():
        raise DataError("no sample is finite in both arrays; cannot measure the SNR")
    p_s = float(np.mean(c[ok] ** 2))
    p_n = float(np.mean((n[ok] - c[ok]) ** 2))
    if p_n == 0.0:
        return float("inf")
    return float(10.0 * np.log10(p_s / p_n))


def _channel_view(arr: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """(channels, samples) view; a single channel when ``channel_axis`` is None."""
    if channel_axis is None:
        return arr.reshape(1, -1)
    return np.moveaxis(arr, channel_axis, 0).reshape(arr.shape[channel_axis], -1)


def _salt_pepper_channel(
    values: np.ndarray, target_power: float, rng: np.random.Generator
) -> np.ndarray:
    """Corrupt one channel so that its noise power meets ``target_power``.

    The corruption fraction is solved on the realised sample rather than from
    its expectation: samples are visited in random order, each is assigned
    salt (channel max) or pepper (channel min) at random, and the first ``k``
    are corrupted, with ``k`` the smallest count whose cumulative squared error
    reaches ``target_power * n``. The achieved power then overshoots the
    target by at most one sample's error, instead of fluctuating with the
    binomial count as a fixed-probability draw would.
    """
    out = values.copy()
    finite = np.flatnonzero(np.isfinite(values))
    lo, hi = float(np.min(values[finite])), float(np.max(values[finite]))
    order = rng.permutation(finite)
    salt = rng.random(order.size) < 0.5
    replacement = np.where(salt, hi, lo)
    err = (replacement - values[order]) ** 2
    cum = np.cumsum(err)
    needed = target_power * finite.size
    if cum[-1] < needed:
        max_power = cum[-1] / finite.size
        raise DataError(
            f"salt-and-pepper noise cannot reach noise power {target_power:.4g}: corrupting every "
            f"sample at the channel min/max ({lo:.4g}/{hi:.4g}) gives only {max_power:.4g}; "
            "ask for a higher SNR or use gaussian/uniform noise"
        )
    k = int(np.searchsorted(cum, needed)) + 1
    out[order[:k]] = replacement[:k]
    return out


def add_noise(
    x: np.ndarray,
    *,
    kind: NoiseKind,
    snr_db: float,
    rng: np.random.Generator,
    channel_axis: int | None = None,
) -> tuple[np.ndarray, float]:
    """Add zero-mean noise so that ``10 log10(P_s / P_n) = snr_db``.

    Parameters
    ----------
    x
        Clean signal (any shape); NaN samples stay NaN.
    kind
        ``"gaussian"``: normal noise with variance P_n. ``"uniform"``: zero-mean
        uniform noise on [-a, a] with a = sqrt(3 P_n) (variance a**2/3 = P_n).
        ``"salt_pepper"``: a fraction of samples set to the channel minimum or
        maximum, the fraction solved so that the squared error meets P_n (see
        :func:`_salt_pepper_channel`).
    snr_db
        Target SNR in dB.
    rng
        Random generator; the same seed gives the same noise.
    channel_axis
        Axis of the channels for per-channel signal power; ``None`` for a
        global power (see the module docstring).

    Returns
    -------
    noisy : numpy.ndarray
        float64 array of ``x``'s shape.
    achieved_snr_db : float
        :func:`measure_snr_db` of the result (close to ``snr_db``: the noise is
        random, not rescaled to hit the target exactly).

    Raises
    ------
    DataError
        If ``kind`` is unknown, ``snr_db`` is not finite, the signal has no
        finite sample or zero power, or salt-and-pepper noise cannot reach
        the power asked for.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.sin(np.linspace(0, 20, 10_000))
    >>> noisy, snr = add_noise(x, kind="gaussian", snr_db=20.0, rng=rng)
    >>> abs(snr - 20.0) < 0.2
    True
    """
    if kind not in NOISE_KINDS:
        raise DataError(f"unknown noise kind {kind!r}; use one of {', '.join(NOISE_KINDS)}")
    if not np.isfinite(snr_db):
        raise DataError(f"snr_db={snr_db!r} is not finite; give the target SNR in dB, e.g. 15")
    arr = np.asarray(x, dtype=np.float64)
    p_s = np.atleast_1d(signal_power(arr, channel_axis=channel_axis))
    if np.any(p_s == 0.0):
        raise DataError(
            "the signal has zero power (all zeros), so no noise power gives a finite SNR; "
            "noise at a target SNR needs a non-zero signal"
        )
    p_n = p_s / 10.0 ** (snr_db / 10.0)
    channels = _channel_view(arr, channel_axis)
    noisy = np.empty_like(channels)
    for i, (values, power) in enumerate(zip(channels, p_n, strict=True)):
        if kind == "gaussian":
            noise = rng.normal(0.0, np.sqrt(power), size=values.shape)
            noisy[i] = values + noise
        elif kind == "uniform":
            a = np.sqrt(3.0 * power)
            noisy[i] = values + rng.uniform(-a, a, size=values.shape)
        else:
            noisy[i] = _salt_pepper_channel(values, float(power), rng)
    if channel_axis is None:
        result = noisy.reshape(arr.shape)
    else:
        moved_shape = (arr.shape[channel_axis], *np.delete(arr.shape, channel_axis))
        result = np.moveaxis(noisy.reshape(moved_shape), 0, channel_axis)
    return result, measure_snr_db(arr, result)
