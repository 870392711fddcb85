"""report.html: self-contained, and rendered by a real browser (headless Chromium) without a
console error. The screenshot is kept in tests/artifacts/ for a person to look at."""

import json
import re
import shutil
from pathlib import Path

import pytest

from wilsonian.app.cli import main

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "results"
    assert main(["run", "--classes", "all", "--quiet", "--no-cache", "--trials", "5", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "sweep"
    assert main(["sweep", "--grid", "threshold=0.3,0.6", "--grid", "depth=1,2", "--etas", "10,20,40", "--trials", "3",
                 "--quiet", "--no-cache", "--out", str(out)]) == 0
    return out


def test_sweep_report_is_self_contained_and_holds_every_grid_point(sweep_report):
    text = (sweep_report / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text) and "<script" not in text.lower()
    assert text.count('src="data:image/png;base64,') == 2
    for heading in ("grid", "agreement over the grid", "figures", "learning curves per grid point", "warnings",
                    "config and provenance"):
        assert f">{heading}</h2>" in text, heading
    sweep = json.loads((sweep_report / "sweep.json").read_text())
    assert text.count("<details>") == len(sweep["rows"]) == 4
    assert re.search(r">0.3 \| 0.6</td>", text) and re.search(r">1 \| 2</td>", text)   # each axis's values
    for row in sweep["rows"]:                       # every point's numbers, as the CSV has them
        label = ", ".join(f"{a} = {row['point'][a]}" for a in ("threshold", "depth"))
        assert f"<summary>{label}</summary>" in text
        assert f"{row['table']['empirical_mean'][0]:.4g}" in text
    manifest = json.loads((sweep_report / ".wilsonian-output.json").read_text())
    assert "report.html" in json.dumps(manifest)     # wilsonian's own file: a later sweep may replace it


def test_report_is_self_contained_and_complete(default_report):
    text = (default_report / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from a network
    assert "<script" not in text.lower()
    assert text.count('src="data:image/png;base64,') >= 4
    for heading in ("task", "kernel", "spectrum", "learning curves", "RG flow", "warnings", "config and provenance"):
        assert f">{heading}</h2>" in text, heading
    results = json.loads((default_report / "results.json").read_text())
    assert f"{results['learning_curve']['empirical_mean'][0]:.4g}" in text  # the numbers of the run
    assert "numpy" in text and "SB/emp" in text


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.parametrize("which, title, images, name", [
    ("default_report", "wilsonian run", 4, "report_default_run.png"),
    ("sweep_report", "wilsonian sweep", 2, "report_sweep.png"),
])
def test_report_renders_in_headless_chromium(which, title, images, name, request, tmp_path):
    folder = request.getfixturevalue(which)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    browser, driver_path = _chromium(), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("headless Chromium and chromedriver are not installed (Debian: chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,2000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get((folder / "report.html").resolve().as_uri())
        assert driver.title.startswith(title)
        loaded = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);")
        assert len(loaded) >= images and all(done and width > 100 for done, width in loaded)
        height = driver.execute_script("return document.body.scrollHeight;")
        assert height > 1000
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        driver.set_window_size(1400, min(height, 8000))
        assert driver.save_screenshot(str(ARTIFACTS / name))
    finally:
        driver.quit()
