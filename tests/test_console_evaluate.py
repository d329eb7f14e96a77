"""The console's evaluation platform in real headless Chromium: a test set of real recordings (the evaluation
set's clips when it is here, else the bundled ones) uploaded as a ZIP, a benchmark run followed to its report
(summary, per-clip error rates, aligned reference/hypothesis), a second run with a hotword list compared with the
first, and a bad test set answered with the list of what is wrong."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.conftest import DATA_DIR, EVAL_DIR, has_eval_set
from tests.console_browser import console_server

pytestmark = pytest.mark.slow  # a live server, a browser and two benchmark runs

CLIPS = ("zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121", "en_speechbrain_spk1_snt1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from console_server(tmp_path_factory)


def manifest_rows(root: Path) -> list[dict[str, str]]:
    with (root / "manifest.tsv").open(encoding="utf-8", newline="") as f:
        rows = {row["id"]: row for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    return [rows[clip] for clip in CLIPS]


def write_set(path: Path, rows: list[dict[str, str]], root: Path, columns: list[str] | None = None) -> Path:
    """A ZIP test set: manifest.tsv (``columns`` of the rows) and each row's audio from ``root``."""
    columns = columns or ["id", "language", "task", "path", "duration_s", "reference_text", "ref_quality"]
    lines = ["\t".join(columns)] + ["\t".join(row.get(c, "") for c in columns) for row in rows]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.tsv", "\n".join(lines) + "\n")
        for row in rows:
            if (root / row["path"]).is_file():
                archive.write(root / row["path"], row["path"])
    return path


def clicked(browser, css: str) -> None:
    element = browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, css), 30, css)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_a_bad_test_set_is_answered_with_its_problems(server, browser_factory, tmp_path):
    rows = manifest_rows(DATA_DIR)
    missing = dict(rows[0], id="gone", path="asr/gone.wav")
    not_audio = tmp_path / "asr"
    not_audio.mkdir()
    (not_audio / "notes.wav").write_text("this is text, not audio")
    bad = write_set(
        tmp_path / "bad.zip",
        [*rows[1:], missing, dict(rows[0], id="text", path="asr/notes.wav")],
        DATA_DIR,
    )
    with zipfile.ZipFile(bad, "a") as archive:
        archive.write(not_audio / "notes.wav", "asr/notes.wav")
    browser = browser_factory(server)
    browser.sign_in(server.key, "evaluate")
    browser.driver.find_element(By.ID, "eval-name").send_keys("坏的测试集")
    browser.driver.find_element(By.ID, "eval-zip").send_keys(str(bad))
    clicked(browser, "form[aria-labelledby=eval-upload] button[type=submit]")
    box = browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#eval-problems:not([hidden]) table"), 60, "problems")
    text = box.text
    assert "gone" in text and "text" in text, text
    assert browser.driver.find_element(By.ID, "eval-name").get_attribute("value") == "坏的测试集"  # input kept
    browser.screenshot("evaluate-bad-set")
    # Wrong columns: the header is named in the answer.
    wrong = write_set(tmp_path / "wrong.zip", rows, DATA_DIR, columns=["id", "language", "path"])
    browser.driver.find_element(By.ID, "eval-zip").send_keys(str(wrong))
    clicked(browser, "form[aria-labelledby=eval-upload] button[type=submit]")
    browser.wait(lambda d: "reference_text" in d.find_element(By.ID, "eval-problems").text, 60, "missing column")
    sets = httpx.get(f"{server.base}/v1/evaluations/testsets", headers={"Authorization": f"Bearer {server.key}"})
    assert sets.json()["data"] == []  # nothing of a bad set is kept


def test_evaluate_a_test_set_read_the_report_and_compare_runs(server, browser_factory, tmp_path):
    root = EVAL_DIR if has_eval_set() else DATA_DIR
    rows = manifest_rows(root)
    testset = write_set(tmp_path / "clips.zip", rows, root)
    headers = {"Authorization": f"Bearer {server.key}"}
    terms = {"words": ["房地产", "交易"]}
    assert httpx.put(f"{server.base}/v1/hotwords/estate", json=terms, headers=headers).is_success

    browser = browser_factory(server)
    browser.sign_in(server.key, "evaluate")
    browser.driver.find_element(By.ID, "eval-name").send_keys("法院录音 2026")
    browser.driver.find_element(By.ID, "eval-zip").send_keys(str(testset))
    clicked(browser, "form[aria-labelledby=eval-upload] button[type=submit]")
    browser.wait(lambda d: d.find_elements(By.ID, "eval-label"), 60, "the run form")

    def start_run(label: str, hotword_list: str = "") -> None:
        field = browser.driver.find_element(By.ID, "eval-label")
        field.clear()
        field.send_keys(label)
        Select(browser.driver.find_element(By.ID, "eval-hotwords")).select_by_value(hotword_list)
        clicked(browser, "form[aria-labelledby=eval-new-run] button[type=submit]")

    def finished_runs(driver) -> int:
        statuses = driver.execute_script(
            "return [...document.querySelectorAll('[data-test=runs] .badge')].map(b => b.dataset.status)"
        )
        assert "failed" not in statuses, f"a run failed: {browser.alert()}"
        return statuses.count("succeeded")

    start_run("基线")
    browser.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-test=runs] progress"), 30, "the run's progress bar")
    browser.screenshot("evaluate-running")
    browser.wait(lambda d: finished_runs(d) >= 1, 600, "the first run")
    clicked(browser, "[data-test=runs] button[data-test=view-run]")
    browser.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-test=clips] .diff"), 60, "the report")
    report = browser.driver.find_element(By.ID, "eval-report")
    assert "zh.cer" in report.text and "en.wer" in report.text
    diffs = browser.driver.find_elements(By.CSS_SELECTOR, "[data-test=clips] .diff")
    assert len(diffs) == len(CLIPS)
    first = diffs[0].text.replace(" ", "")
    reference = rows[0]["reference_text"]
    # The aligned line holds every reference character (equal, substituted or struck out as missed).
    assert sum(ch in first for ch in reference) == len(reference), (first, reference)
    assert browser.driver.find_elements(By.CSS_SELECTOR, "#eval-report figure.chart svg rect")
    browser.screenshot("evaluate-report")

    start_run("加热词", "estate")
    browser.wait(lambda d: finished_runs(d) >= 2, 600, "the second run")
    clicked(browser, "#eval-compare button[type=submit]")
    compared = browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#eval-comparison[data-compared]"), 60)
    assert int(compared.get_attribute("data-compared")) == len(CLIPS)
    assert browser.driver.find_elements(By.CSS_SELECTOR, "[data-test=compare-clips] meter")
    browser.screenshot("evaluate-compare")
