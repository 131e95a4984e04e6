"""XML documents of a Sentinel-1 IW GRD SAFE product: manifest, annotation,
calibration and noise, with the element names and nesting of the real
products (see the archive in ``../shared/realdata/sentinel1``), reduced to the
elements a reader needs plus the common header fields.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .plan import Sentinel1Acquisition

NS = {
    "xfdu": "urn:ccsds:schema:xfdu:1",
    "safe": "http://www.esa.int/safe/sentinel-1.0",
    "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
    "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
    "gml": "http://www.opengis.net/gml",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

RADAR_FREQUENCY_HZ = 5.405000454334350e9
RANGE_SAMPLING_RATE_HZ = 6.434523812571428e7


@dataclass(frozen=True)
class GeoPoint:
    """One geolocation grid point (``line``/``pixel`` in GDAL image coordinates)."""

    line: int
    pixel: int
    azimuth_time: dt.datetime
    slant_range_time: float
    latitude: float
    longitude: float
    height: float
    incidence_angle: float
    elevation_angle: float


@dataclass(frozen=True)
class ProductHeader:
    """What every XML file of one polarisation shares."""

    acquisition: Sentinel1Acquisition
    polarisation: str  # "VV" or "VH"
    first_line: dt.datetime
    last_line: dt.datetime
    lines: int
    samples: int

    @property
    def image_number(self) -> str:
        return {"VV": "001", "VH": "002"}[self.polarisation]


def iso(t: dt.datetime) -> str:
    """Timestamp as written in SAFE XML.

    Parameters
    ----------
    t
        Naive UTC time.

    Returns
    -------
    str
        ``YYYY-MM-DDTHH:MM:SS.ffffff`` (no zone).
    """
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _numbers(values: Sequence[float] | np.ndarray, fmt: str = "{:.6e}") -> str:
    return " ".join(fmt.format(float(v)) for v in values)


def _ints(values: Sequence[int] | np.ndarray) -> str:
    return " ".join(str(int(v)) for v in values)


def _header(root: ET.Element, h: ProductHeader) -> None:
    ads = _sub(root, "adsHeader")
    _sub(ads, "missionId", "S1A")
    _sub(ads, "productType", "GRD")
    _sub(ads, "polarisation", h.polarisation)
    _sub(ads, "mode", "IW")
    _sub(ads, "swath", "IW")
    _sub(ads, "startTime", iso(h.first_line))
    _sub(ads, "stopTime", iso(h.last_line))
    _sub(ads, "absoluteOrbitNumber", h.acquisition.absolute_orbit)
    _sub(ads, "missionDataTakeId", h.acquisition.datatake)
    _sub(ads, "imageNumber", h.image_number)


def _tostring(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def annotation_xml(
    h: ProductHeader,
    *,
    heading_deg: float,
    ascending_node: dt.datetime,
    azimuth_time_interval: float,
    slant_range_time: float,
    incidence_mid: float,
    points: Sequence[GeoPoint],
) -> bytes:
    """The product annotation (``annotation/s1a-iw-grd-<pol>-...xml``).

    Parameters
    ----------
    h
        Shared header values.
    heading_deg
        Platform heading (degrees from north).
    ascending_node
        Time of the ascending node crossing.
    azimuth_time_interval
        Seconds between lines.
    slant_range_time
        Two-way slant range time of the first pixel (s).
    incidence_mid
        Incidence angle at mid swath (degrees).
    points
        Geolocation grid points.

    Returns
    -------
    bytes
        UTF-8 XML document.
    """
    root = ET.Element("product")
    _header(root, h)
    quality = _sub(root, "qualityInformation")
    _sub(quality, "productQualityIndex", "0.000000000000000e+00")
    general = _sub(root, "generalAnnotation")
    info = _sub(general, "productInformation")
    _sub(info, "pass", "Ascending")
    _sub(info, "timelinessCategory", "Fast-24h")
    _sub(info, "platformHeading", f"{heading_deg:.15e}")
    _sub(info, "projection", "Ground Range")
    _sub(info, "rangeSamplingRate", f"{RANGE_SAMPLING_RATE_HZ:.15e}")
    _sub(info, "radarFrequency", f"{RADAR_FREQUENCY_HZ:.15e}")
    image = _sub(root, "imageAnnotation")
    ii = _sub(image, "imageInformation")
    _sub(ii, "productFirstLineUtcTime", iso(h.first_line))
    _sub(ii, "productLastLineUtcTime", iso(h.last_line))
    _sub(ii, "ascendingNodeTime", iso(ascending_node))
    _sub(ii, "anchorTime", iso(h.first_line))
    _sub(ii, "productComposition", "Slice")
    _sub(ii, "slantRangeTime", f"{slant_range_time:.15e}")
    _sub(ii, "pixelValue", "Detected")
    _sub(ii, "outputPixels", "16 bit Unsigned Integer")
    _sub(ii, "rangePixelSpacing", "1.000000e+01")
    _sub(ii, "azimuthPixelSpacing", "1.000000e+01")
    _sub(ii, "azimuthTimeInterval", f"{azimuth_time_interval:.15e}")
    _sub(ii, "azimuthFrequency", f"{1.0 / azimuth_time_interval:.15e}")
    _sub(ii, "numberOfSamples", h.samples)
    _sub(ii, "numberOfLines", h.lines)
    _sub(ii, "incidenceAngleMidSwath", f"{incidence_mid:.15e}")
    proc = _sub(image, "processingInformation")
    for tag, value in (
        ("rangeSpreadingLossCompensationApplied", "true"),
        ("srgrConversionApplied", "true"),
        ("detectionPerformed", "true"),
        ("thermalNoiseCorrectionPerformed", "false"),
        ("applicationLutId", "IW_Default"),
        ("ellipsoidName", "WGS84"),
        ("ellipsoidSemiMajorAxis", "6.378137000000000e+06"),
        ("ellipsoidSemiMinorAxis", "6.356752314245000e+06"),
    ):
        _sub(proc, tag, value)
    timing = _sub(root, "swathTiming")
    _sub(timing, "linesPerBurst", 0)
    _sub(timing, "samplesPerBurst", 0)
    _sub(timing, "burstList", count="0")
    grid = _sub(root, "geolocationGrid")
    plist = _sub(grid, "geolocationGridPointList", count=str(len(points)))
    for p in points:
        gp = _sub(plist, "geolocationGridPoint")
        _sub(gp, "azimuthTime", iso(p.azimuth_time))
        _sub(gp, "slantRangeTime", f"{p.slant_range_time:.15e}")
        _sub(gp, "line", p.line)
        _sub(gp, "pixel", p.pixel)
        _sub(gp, "latitude", f"{p.latitude:.15e}")
        _sub(gp, "longitude", f"{p.longitude:.15e}")
        _sub(gp, "height", f"{p.height:.15e}")
        _sub(gp, "incidenceAngle", f"{p.incidence_angle:.15e}")
        _sub(gp, "elevationAngle", f"{p.elevation_angle:.15e}")
    return _tostring(root)


def calibration_xml(
    h: ProductHeader,
    *,
    lines: Sequence[int],
    line_times: Sequence[dt.datetime],
    pixels: Sequence[int],
    sigma: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    dn: np.ndarray,
) -> bytes:
    """The calibration annotation.

    Parameters
    ----------
    h
        Shared header values.
    lines, line_times
        Line numbers and azimuth times of the calibration vectors.
    pixels
        Range pixels of the LUT nodes.
    sigma, beta, gamma, dn
        LUT values at ``pixels`` (the same on every vector line).

    Returns
    -------
    bytes
        UTF-8 XML document.
    """
    root = ET.Element("calibration")
    _header(root, h)
    info = _sub(root, "calibrationInformation")
    _sub(info, "absoluteCalibrationConstant", "1.000000e+00")
    vlist = _sub(root, "calibrationVectorList", count=str(len(lines)))
    n = str(len(pixels))
    for line, t in zip(lines, line_times, strict=True):
        vec = _sub(vlist, "calibrationVector")
        _sub(vec, "azimuthTime", iso(t))
        _sub(vec, "line", int(line))
        _sub(vec, "pixel", _ints(pixels), count=n)
        _sub(vec, "sigmaNought", _numbers(sigma), count=n)
        _sub(vec, "betaNought", _numbers(beta), count=n)
        _sub(vec, "gamma", _numbers(gamma), count=n)
        _sub(vec, "dn", _numbers(dn), count=n)
    return _tostring(root)


def noise_xml(
    h: ProductHeader,
    *,
    lines: Sequence[int],
    line_times: Sequence[dt.datetime],
    pixels: Sequence[int],
    noise: np.ndarray,
) -> bytes:
    """The noise annotation: range LUTs per vector line and a flat azimuth LUT of 1.

    Parameters
    ----------
    h
        Shared header values.
    lines, line_times
        Line numbers and azimuth times of the noise vectors.
    pixels
        Range pixels of the LUT nodes.
    noise
        Noise power (DN^2) at ``pixels``.

    Returns
    -------
    bytes
        UTF-8 XML document.
    """
    root = ET.Element("noise")
    _header(root, h)
    vlist = _sub(root, "noiseRangeVectorList", count=str(len(lines)))
    n = str(len(pixels))
    for line, t in zip(lines, line_times, strict=True):
        vec = _sub(vlist, "noiseRangeVector")
        _sub(vec, "azimuthTime", iso(t))
        _sub(vec, "line", int(line))
        _sub(vec, "pixel", _ints(pixels), count=n)
        _sub(vec, "noiseRangeLut", _numbers(noise), count=n)
    alist = _sub(root, "noiseAzimuthVectorList", count="1")
    vec = _sub(alist, "noiseAzimuthVector")
    _sub(vec, "swath", "IW1")
    _sub(vec, "firstAzimuthLine", 0)
    _sub(vec, "firstRangeSample", 0)
    _sub(vec, "lastAzimuthLine", h.lines - 1)
    _sub(vec, "lastRangeSample", h.samples - 1)
    _sub(vec, "line", _ints(lines), count=str(len(lines)))
    _sub(vec, "noiseAzimuthLut", _numbers(np.ones(len(lines))), count=str(len(lines)))
    return _tostring(root)


@dataclass(frozen=True)
class DataObject:
    """A file listed in the manifest's dataObjectSection."""

    object_id: str
    rep_id: str
    href: str
    mime: str
    size: int
    md5: str


def manifest_xml(
    acquisition: Sentinel1Acquisition,
    *,
    first_line: dt.datetime,
    last_line: dt.datetime,
    ascending_node: dt.datetime,
    footprint_latlon: Sequence[tuple[float, float]],
    objects: Sequence[DataObject],
) -> bytes:
    """``manifest.safe``: the XFDU package map, metadata section and data objects.

    Parameters
    ----------
    acquisition
        The product (orbit, datatake).
    first_line, last_line
        Acquisition period.
    ascending_node
        Time of the ascending node crossing.
    footprint_latlon
        (lat, lon) of the image corners.
    objects
        Files of the product with sizes and MD5 sums.

    Returns
    -------
    bytes
        UTF-8 XML document.
    """
    x, safe, s1, s1l1, gml = (f"{{{NS[k]}}}" for k in ("xfdu", "safe", "s1", "s1sarl1", "gml"))
    root = ET.Element(
        f"{x}XFDU", {"version": "esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp"}
    )
    ipm = _sub(root, "informationPackageMap")
    top = _sub(
        ipm,
        f"{x}contentUnit",
        unitType="SAFE Archive Information Package",
        textInfo="Sentinel-1 IW Level-1 GRD Product",
        dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference "
        "measurementFrameSet",
        pdiID="processing",
    )
    for obj in objects:
        unit_type = (
            "Measurement Data Unit" if obj.rep_id.endswith("MeasurementSchema") else "Metadata Unit"
        )
        unit = _sub(top, f"{x}contentUnit", unitType=unit_type, repID=obj.rep_id)
        _sub(unit, "dataObjectPointer", dataObjectID=obj.object_id)

    meta = _sub(root, "metadataSection")

    def wrapped(object_id: str, text_info: str) -> ET.Element:
        mo = _sub(
            meta, "metadataObject", ID=object_id, classification="DESCRIPTION", category="DMD"
        )
        mw = _sub(
            mo, "metadataWrap", mimeType="text/xml", vocabularyName="SAFE", textInfo=text_info
        )
        return _sub(mw, "xmlData")

    proc = _sub(
        meta, "metadataObject", ID="processing", classification="PROVENANCE", category="PDI"
    )
    pw = _sub(
        proc, "metadataWrap", mimeType="text/xml", vocabularyName="SAFE", textInfo="Processing"
    )
    pdata = _sub(pw, "xmlData")
    _sub(
        pdata,
        f"{safe}processing",
        name="GRD Post Processing",
        start=iso(last_line + dt.timedelta(hours=3)),
        stop=iso(last_line + dt.timedelta(hours=3, minutes=10)),
    )

    platform = _sub(wrapped("platform", "Platform Description"), f"{safe}platform")
    _sub(platform, f"{safe}nssdcIdentifier", "2014-016A")
    _sub(platform, f"{safe}familyName", "SENTINEL-1")
    _sub(platform, f"{safe}number", "A")
    instrument = _sub(platform, f"{safe}instrument")
    _sub(instrument, f"{safe}familyName", "Synthetic Aperture Radar", abbreviation="SAR")
    ext = _sub(instrument, f"{safe}extension")
    mode = _sub(ext, f"{s1l1}instrumentMode")
    _sub(mode, f"{s1l1}mode", "IW")
    _sub(mode, f"{s1l1}swath", "IW")

    orbit = _sub(wrapped("measurementOrbitReference", "Orbit Reference"), f"{safe}orbitReference")
    _sub(orbit, f"{safe}orbitNumber", acquisition.absolute_orbit, type="start")
    _sub(orbit, f"{safe}orbitNumber", acquisition.absolute_orbit, type="stop")
    _sub(orbit, f"{safe}relativeOrbitNumber", acquisition.relative_orbit, type="start")
    _sub(orbit, f"{safe}relativeOrbitNumber", acquisition.relative_orbit, type="stop")
    _sub(orbit, f"{safe}cycleNumber", (acquisition.absolute_orbit - 73) // 175 + 1)
    _sub(orbit, f"{safe}phaseIdentifier", 1)
    oext = _sub(orbit, f"{safe}extension")
    props = _sub(oext, f"{s1}orbitProperties")
    _sub(props, f"{s1}pass", "ASCENDING")
    _sub(props, f"{s1}ascendingNodeTime", iso(ascending_node))

    general = _sub(
        wrapped("generalProductInformation", "General Product Information"),
        f"{s1l1}standAloneProductInformation",
    )
    _sub(general, f"{s1l1}instrumentConfigurationID", 6)
    _sub(general, f"{s1l1}missionDataTakeID", acquisition.datatake)
    _sub(general, f"{s1l1}transmitterReceiverPolarisation", "VV")
    _sub(general, f"{s1l1}transmitterReceiverPolarisation", "VH")
    _sub(general, f"{s1l1}productClass", "S")
    _sub(general, f"{s1l1}productClassDescription", "SAR Standard L1 Product")
    _sub(general, f"{s1l1}productComposition", "Slice")
    _sub(general, f"{s1l1}productType", "GRD")
    _sub(general, f"{s1l1}productTimelinessCategory", "Fast-24h")

    period = _sub(wrapped("acquisitionPeriod", "Acquisition Period"), f"{safe}acquisitionPeriod")
    _sub(period, f"{safe}startTime", iso(first_line))
    _sub(period, f"{safe}stopTime", iso(last_line))

    frames = _sub(wrapped("measurementFrameSet", "Frame Set"), f"{safe}frameSet")
    frame = _sub(frames, f"{safe}frame")
    footprint = _sub(
        frame, f"{safe}footPrint", srsName="http://www.opengis.net/gml/srs/epsg.xml#4326"
    )
    _sub(
        footprint,
        f"{gml}coordinates",
        " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in footprint_latlon),
    )

    section = _sub(root, "dataObjectSection")
    for obj in objects:
        do = _sub(section, "dataObject", ID=obj.object_id, repID=obj.rep_id)
        bs = _sub(do, "byteStream", mimeType=obj.mime, size=str(obj.size))
        _sub(bs, "fileLocation", locatorType="URL", href=obj.href)
        _sub(bs, "checksum", obj.md5, checksumName="MD5")
    return _tostring(root)
