"""Open the study-area report in headless Chromium: it loads without console
errors (its Content-Security-Policy turns any attempt to reach the network
into one), every image decodes, every expected table is there, the table of
contents and the index page link correctly. Saves screenshots.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium``
package; skips with the reason when one is absent. Set
``COEXPLORE_SCREENSHOT_DIR`` to keep the screenshots; reports already built
in this checkout (``results/*/report/report.html``, e.g. of the default run)
are checked and captured too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from coexplore.steps.report import step_render_index, step_render_report

from ..conftest import ROOT
from ..unit.test_report import AREA, EXPECTED_TABLES, make_run

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

#: Flags of a browser that makes no request of its own.
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            f"{CHROMIUM} or {CHROMEDRIVER} not found: install Debian's chromium and "
            "chromium-driver (apt-get install -y chromium chromium-driver)"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")  # new and empty
    for flag in (*BROWSER_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("site")
    res, cfg, truth = make_run(root)
    report = res / "report" / "report.html"
    step_render_report(
        res, report, None, area_id=AREA, config=cfg, truth=truth, options=cfg["report"], repo=root
    )
    index = step_render_index({AREA: report}, root / "results" / "index.html", config=cfg)
    return {"report": report, "index": index}


def _open(driver, path: Path) -> list[dict]:
    """Load ``path`` and return the browser log entries it produced."""
    driver.get_log("browser")  # drop entries of earlier pages
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")
    return driver.get_log("browser")


def _save(driver, png: Path) -> None:
    driver.save_screenshot(str(png))
    keep = os.environ.get("COEXPLORE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, Path(keep) / png.name)


def check_page(driver, path: Path) -> dict[str, tuple[int, int]]:
    """Load a report and assert what every report must satisfy: no console
    error, every image decoded, every table captioned, every table-of-contents
    link pointing at a section. Returns table id -> (caption length, rows)."""
    from selenium.webdriver.support.ui import WebDriverWait

    log = _open(driver, path)
    severe = [e for e in log if e.get("level") == "SEVERE"]
    assert not severe, f"{path}: console errors: {severe}"

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)")
    )
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])"
    )
    assert images, f"{path}: no images"
    broken = [alt for alt, w, h in images if not (w > 0 and h > 0)]
    assert not broken, f"{path}: images that did not decode: {broken}"

    tables = driver.execute_script(
        "return Array.from(document.querySelectorAll('table')).map(t => "
        "[t.id, t.caption ? t.caption.textContent.trim().length : 0, t.rows.length])"
    )
    by_id = {tid: (caption, rows) for tid, caption, rows in tables}
    uncaptioned = [tid for tid, (caption, rows) in by_id.items() if caption == 0 or rows < 2]
    assert not uncaptioned, f"{path}: tables without caption or rows: {uncaptioned}"

    anchors = driver.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => "
        "[a.getAttribute('href'), !!document.getElementById(a.getAttribute('href').slice(1))])"
    )
    assert len(anchors) == 8 and all(ok for _, ok in anchors), anchors
    return by_id


def screenshots(driver, folder: Path, stem: str) -> list[Path]:
    """The first screen and the whole page of the loaded report as PNG files."""
    top, full = folder / f"{stem}_top.png", folder / f"{stem}_full.png"
    _save(driver, top)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height), 16000))
    _save(driver, full)
    driver.set_window_size(1400, 1000)
    return [top, full]


def test_report_loads_cleanly_in_chromium(browser, site, tmp_path):
    tables = check_page(browser, site["report"])
    missing = [t for t in EXPECTED_TABLES if t not in tables]
    assert not missing, f"tables missing in the browser: {missing}"
    n_images = browser.execute_script("return document.images.length")
    assert n_images >= 15
    for png in screenshots(browser, tmp_path, "report"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


#: Reports of runs built in this checkout (e.g. ``make run`` for the default area).
BUILT_REPORTS = sorted((ROOT / "results").glob("*/report/report.html"))


@pytest.mark.skipif(not BUILT_REPORTS, reason="no results/*/report/report.html built here")
@pytest.mark.parametrize("report", BUILT_REPORTS, ids=lambda p: p.parent.parent.name)
def test_built_reports_load_cleanly(browser, report, tmp_path):
    check_page(browser, report)
    for png in screenshots(browser, tmp_path, f"{report.parent.parent.name}_report"):
        assert png.stat().st_size > 0


def test_index_links_to_the_report(browser, site):
    log = _open(browser, site["index"])
    assert not [e for e in log if e.get("level") == "SEVERE"]
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('#tab-areas a')).map(a => a.href)"
    )
    assert links == [site["report"].as_uri()]
    log = _open(browser, site["report"])
    assert browser.title == f"coexplore report: {AREA}"
    assert not [e for e in log if e.get("level") == "SEVERE"]
