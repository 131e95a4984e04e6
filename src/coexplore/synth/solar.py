"""Sun geometry and top-of-atmosphere irradiance.

Hand-rolled (a few closed-form lines) rather than adding pvlib as a
dependency for five formulas; all are textbook:

* declination and equation of time: Spencer (1971) Fourier series;
* Earth-Sun distance: ``d = 1 - 0.01672 cos(0.9856 (doy - 4) deg)`` AU;
* solar elevation/azimuth from latitude, declination and hour angle;
* daily mean extraterrestrial irradiance on a horizontal surface
  (Duffie & Beckman eq. 1.10.3 divided by 24 h).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

SOLAR_CONSTANT = 1361.0  # W m-2


def _day_angle(doy: float | np.ndarray) -> np.ndarray:
    return 2 * np.pi * (np.asarray(doy, dtype=float) - 1) / 365.0


def solar_declination(doy: float | np.ndarray) -> np.ndarray:
    """Solar declination (Spencer 1971).

    Parameters
    ----------
    doy
        Day of year.

    Returns
    -------
    numpy.ndarray
        Declination in degrees.
    """
    g = _day_angle(doy)
    rad = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    return np.degrees(rad)


def equation_of_time(doy: float | np.ndarray) -> np.ndarray:
    """Equation of time (Spencer 1971).

    Parameters
    ----------
    doy
        Day of year.

    Returns
    -------
    numpy.ndarray
        Apparent minus mean solar time, in minutes.
    """
    g = _day_angle(doy)
    return 229.18 * (
        0.000075
        + 0.001868 * np.cos(g)
        - 0.032077 * np.sin(g)
        - 0.014615 * np.cos(2 * g)
        - 0.040849 * np.sin(2 * g)
    )


def earth_sun_distance(doy: float | np.ndarray) -> np.ndarray:
    """Earth-Sun distance ``1 - 0.01672 cos(0.9856 (doy - 4) deg)``.

    Parameters
    ----------
    doy
        Day of year.

    Returns
    -------
    numpy.ndarray
        Distance in astronomical units.

    Examples
    --------
    >>> round(float(earth_sun_distance(4)), 4)
    0.9833
    """
    return 1.0 - 0.01672 * np.cos(np.radians(0.9856 * (np.asarray(doy, dtype=float) - 4)))


def utc_at_local_solar_time(date: dt.date, lon: float, hours: float) -> dt.datetime:
    """UTC time at which the apparent local solar time at longitude ``lon`` is ``hours``.

    Parameters
    ----------
    date
        The day.
    lon
        Longitude (degrees east).
    hours
        Local apparent solar time (e.g. 10.5 for 10:30).

    Returns
    -------
    datetime.datetime
        Naive UTC time on (or next to) ``date``.
    """
    doy = date.timetuple().tm_yday
    minutes = hours * 60.0 - 4.0 * lon - float(equation_of_time(doy))
    return dt.datetime.combine(date, dt.time()) + dt.timedelta(minutes=minutes)


def sun_position(lat: float, lon: float, when: dt.datetime) -> tuple[float, float]:
    """Solar elevation and azimuth (degrees, azimuth clockwise from north) at a UTC time.

    Parameters
    ----------
    lat, lon
        Position in degrees.
    when
        Naive UTC time.

    Returns
    -------
    (elevation, azimuth)
        Degrees; refraction is ignored.
    """
    doy = when.timetuple().tm_yday
    utc_hours = when.hour + when.minute / 60 + (when.second + when.microsecond * 1e-6) / 3600
    solar_minutes = utc_hours * 60 + 4.0 * lon + float(equation_of_time(doy))
    hour_angle = np.radians(solar_minutes / 4.0 - 180.0)
    decl = np.radians(float(solar_declination(doy)))
    phi = np.radians(lat)
    sin_el = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    elevation = np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))
    azimuth = np.degrees(
        np.arctan2(
            np.sin(hour_angle),
            np.cos(hour_angle) * np.sin(phi) - np.tan(decl) * np.cos(phi),
        )
    )
    return float(elevation), float((azimuth + 180.0) % 360.0)


def daily_extraterrestrial_irradiance(lat: float, doy: float | np.ndarray) -> np.ndarray:
    """Daily mean extraterrestrial irradiance on a horizontal surface.

    ``H0 / 24 h = (G_sc / pi) (1/d^2) (cos phi cos delta sin w_s + w_s sin phi sin delta)``
    with the sunset hour angle ``w_s = arccos(-tan phi tan delta)``.

    Parameters
    ----------
    lat
        Latitude (degrees).
    doy
        Day of year.

    Returns
    -------
    numpy.ndarray
        W m-2 averaged over 24 hours.

    Examples
    --------
    >>> round(float(daily_extraterrestrial_irradiance(0.0, 80)), 0)
    437.0
    """
    doy = np.asarray(doy, dtype=float)
    phi = np.radians(lat)
    decl = np.radians(solar_declination(doy))
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))
    d = earth_sun_distance(doy)
    return (
        SOLAR_CONSTANT
        / np.pi
        / d**2
        * (np.cos(phi) * np.cos(decl) * np.sin(ws) + ws * np.sin(phi) * np.sin(decl))
    )
