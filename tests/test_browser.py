"""The reports in a real browser: Debian's headless Chromium driven through chromedriver.

Pages are opened from disk (file://), as a reader would open a downloaded report:
no console error, nothing fetched from anywhere, every figure decoded, the leaderboard
table with one row per generator and sortable by its headings, a script-like column
name shown as text, and a screenshot that is not blank. Every page type is screenshot
at two widths (into $SAFE_BENCH_SCREENSHOTS when set) and checked for the layout rules a
browser can tell (:data:`LAYOUT_JS`).
"""

from __future__ import annotations

import os
import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from report_data import GENERATORS
from safe_bench import evaluate
from safe_bench.report.html import evaluation_html

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1600"]
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    yield session
    session.quit()


def open_page(browser, path):
    """Load a page; return its console messages of level SEVERE (errors)."""
    browser.get(path.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def assert_rendered(browser) -> None:
    """Every image decoded, nothing fetched over the network, a screenshot that is not blank."""
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert images and all(done and width > 0 for done, width, _ in images), images
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'))")
    assert fetched == []
    pixels = imread(BytesIO(browser.get_screenshot_as_png()))[..., :3]
    assert pixels.std() > 0.05  # text and figures, not one flat colour
    rgb = (pixels.reshape(-1, 3) * 255).astype(np.int64)
    assert len(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])) > 50  # many colours: drawn figures


#: The layout rules a browser can check: no text wider than its box, no image wider than
#: its container, nothing poking out of a card, a fact or a table cell, no sideways
#: scrolling of the page (wide tables scroll inside themselves).
LAYOUT_JS = r"""
const out = [];
const shown = el => { const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && !el.closest('details:not([open]) > :not(summary)'); };
for (const el of document.querySelectorAll('body *')) {
  if (!shown(el)) continue;
  const st = getComputedStyle(el);
  const text = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (text && st.display !== 'inline' && st.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1)
    out.push(`text wider than its ${el.tagName}: ${el.textContent.trim().slice(0, 60)}`);
}
for (const img of document.images) {
  const r = img.getBoundingClientRect(), p = img.parentElement.getBoundingClientRect();
  if (r.right > p.right + 1 || r.left < p.left - 1) out.push(`image wider than its box: ${img.alt}`);
}
for (const box of document.querySelectorAll('.card, .privacy-verdict, dl.facts dt, dl.facts dd, th, td')) {
  if (!shown(box)) continue;
  const r = box.getBoundingClientRect();
  for (const k of box.querySelectorAll('*')) { const q = k.getBoundingClientRect();
    if (q.width && (q.right > r.right + 1 || q.left < r.left - 1))
      out.push(`out of its ${box.tagName}.${box.className}: ${k.textContent.trim().slice(0, 40)}`); }
}
if (document.documentElement.scrollWidth > window.innerWidth + 1)
  out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
return out;
"""


@pytest.fixture(scope="module")
def every_page(tmp_path_factory, tiny_site, gbsg2, gbsg2_split):
    """One page of each type: an evaluation (of a table of copies: every card and the
    verdict), the leaderboard, a dataset, a cell, a scenario and a federated study."""
    from report_data import FAST
    from safe_bench.cli.main import main

    root = tmp_path_factory.mktemp("pages")
    copies = evaluate(gbsg2_split.train, gbsg2_split.train, gbsg2_split.holdout, gbsg2.schema, n_bootstrap=10,
                      metrics=[*FAST, "C.cox", "C.findings", "P.nndr"], label="copies of train")
    (root / "evaluation.html").write_text(evaluation_html(copies))
    quick = ["--generator", "gaussian_copula", "-q"]
    assert main(["scenario", "augmentation", "--dataset", "mds_ipssr_sim", "--n", "60", "--ratios", "1",
                 "--replicates", "6", *quick, "--html", str(root / "scenario.html")]) == 0
    assert main(["scenario", "federated", "--dataset", "gbsg2", "--partition", "dirichlet:1.0", "--sites", "2",
                 "--rounds", "2", "--seeds", "0", "--resamples", "10", "--scenarios", "centralized,isolated",
                 *quick, "--html", str(root / "federated.html")]) == 0
    _, site = tiny_site
    cell = next((site / "cells" / "gbsg2").iterdir())
    return {"evaluation": root / "evaluation.html", "leaderboard": site / "index.html",
            "dataset": site / "datasets" / "gbsg2.html", "cell": cell, "scenario": root / "scenario.html",
            "federated": root / "federated.html"}


@pytest.mark.parametrize("kind", ["evaluation", "leaderboard", "dataset", "cell", "scenario", "federated"])
@pytest.mark.parametrize("width", [1280, 800])
def test_every_page_type_is_laid_out_within_its_boxes(browser, every_page, kind, width, tmp_path_factory):
    browser.set_window_size(width, 1000)
    try:
        assert open_page(browser, every_page[kind]) == []
        for summary in browser.find_elements(By.TAG_NAME, "summary"):
            summary.click()  # the folded detail tables too
        assert browser.execute_script(LAYOUT_JS) == []
        shots = Path(os.environ.get("SAFE_BENCH_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(width, min(height, 12000))
        assert browser.save_screenshot(str(shots / f"{kind}-{width}.png"))
        assert_rendered(browser)
    finally:
        browser.set_window_size(1280, 1600)


def column_texts(browser, table_id: str, index: int) -> list[str]:
    return [row.find_elements(By.TAG_NAME, "td")[index].text
            for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]


def test_the_leaderboard_opens_without_errors_and_sorts(browser, tiny_site):
    _, site = tiny_site
    assert open_page(browser, site / "index.html") == []
    assert_rendered(browser)
    assert sorted(column_texts(browser, "leaderboard", 1)) == sorted(GENERATORS)  # one row per generator

    heads = browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th button")
    by_text = {h.text: h for h in heads}
    by_text["generator"].click()
    assert column_texts(browser, "leaderboard", 1) == sorted(GENERATORS)
    by_text["generator"].click()
    assert column_texts(browser, "leaderboard", 1) == sorted(GENERATORS, reverse=True)
    head = browser.find_element(By.XPATH, "//table[@id='leaderboard']//th[button[text()='generator']]")
    assert head.get_attribute("aria-sort") == "descending"

    by_text["P"].click()  # numbers sort as numbers (by data-sort), ascending first
    cells = browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr td:nth-child(6)")
    keys = [float(c.get_attribute("data-sort")) for c in cells]
    assert keys == sorted(keys) and len(set(keys)) == len(GENERATORS)
    assert open_page(browser, site / "index.html") == []  # reloading: still no error


def test_dataset_and_cell_pages_open_and_link(browser, tiny_site):
    _, site = tiny_site
    assert open_page(browser, site / "datasets" / "gbsg2.html") == []
    assert_rendered(browser)
    assert sorted(column_texts(browser, "leaderboard", 1)) == sorted(GENERATORS)
    # ranks as the index prints them ("1", "1.5"), and each row's seed links on one line
    for row in browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr"):
        rank = row.find_elements(By.TAG_NAME, "td")[0].text
        assert rank == f"{float(rank):g}", rank
        links = row.find_elements(By.CSS_SELECTOR, "td.links a")
        assert len(links) == 2 and len({round(a.rect["y"]) for a in links}) == 1
    browser.find_element(By.LINK_TEXT, "seed 0").click()
    assert "cells/gbsg2/" in browser.current_url
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert_rendered(browser)
    assert "SAFE verdict" in browser.find_element(By.TAG_NAME, "h2").text
    browser.find_element(By.LINK_TEXT, "leaderboard").click()
    assert browser.current_url.endswith("/index.html")


def test_a_script_in_a_column_name_is_shown_as_text(browser, tmp_path, gbsg2, gbsg2_split):
    from safe_bench.data.schema import Schema

    data = {k: v for k, v in gbsg2.schema.to_dict().items() if k not in ("scores", "findings")}
    data["columns"] = {(XSS if k == "menostat" else k): v for k, v in data["columns"].items()}
    data["roles"] = {role: ([XSS if c == "menostat" else c for c in cols] if isinstance(cols, list) else cols)
                     for role, cols in data.get("roles", {}).items()}
    schema = Schema.from_dict(data)
    train, holdout = (t.rename(columns={"menostat": XSS}) for t in (gbsg2_split.train, gbsg2_split.holdout))
    result = evaluate(train, holdout, holdout, schema, n_bootstrap=10, metrics=["S.tv", "S.pairs", "C.km"])
    page = tmp_path / "evil.html"
    page.write_text(evaluation_html(result))
    assert open_page(browser, page) == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018  (no alert was raised by the page)
    for summary in browser.find_elements(By.TAG_NAME, "summary"):
        summary.click()  # open the detail tables, where every column is named
    assert XSS in browser.find_element(By.TAG_NAME, "body").text
    assert_rendered(browser)
    scripts = browser.execute_script("return document.scripts.length")
    assert scripts == 1
