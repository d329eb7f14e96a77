"""Driving the web console in real headless Debian Chromium (selenium + chromedriver): a live server with two
tenants' keys, a browser whose microphone plays a real recording, sign-in, waiting on the page's state and
screenshots (under the test's temp dir, and also in ``SHENGGU_CONSOLE_SCREENSHOTS`` when set, for the README)."""

from __future__ import annotations

import os
import shutil
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

WAIT_S = 240.0


@dataclass(frozen=True)
class ConsoleServer:
    """A running server: its base URL, an admin key and two tenants' user keys."""

    base: str
    admin_key: str
    key: str
    other_key: str
    app: object


@dataclass
class Browser:
    """A Chromium session on the console, with the folder its screenshots go to."""

    driver: object
    base: str
    shots: Path

    def open(self, page: str = "") -> None:
        """Load the console at ``#/page`` (fresh document)."""
        self.driver.get(f"{self.base}/console#/{page}")
        self.wait(lambda d: d.execute_script("return document.body.dataset.state") == "ready")

    def sign_in(self, key: str, page: str = "transcribe") -> None:
        """Sign in through the form, then go to ``page``."""
        from selenium.webdriver.common.by import By

        self.open()
        field = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "main input[type=password]"))
        field.send_keys(key)
        self.driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        self.wait(lambda d: d.execute_script("return document.body.dataset.page") not in ("signin", None))
        self.go(page)

    def go(self, page: str) -> None:
        """Navigate within the signed-in console and wait until the page has rendered."""
        self.driver.execute_script("location.hash = arguments[0]", f"#/{page}")
        self.wait(lambda d: d.execute_script("return document.body.dataset.page") == page)

    def wait(self, condition: Callable, timeout: float = WAIT_S, what: str = ""):
        """Wait until ``condition(driver)`` is truthy; fail with the page's alert line and console log if not."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(condition)
        except TimeoutException:
            flash = self.driver.execute_script("return document.getElementById('flash')?.textContent || ''")
            pytest.fail(f"timed out waiting for {what or condition}: alert={flash!r} log={self.log()}")

    def log(self) -> list[dict]:
        """The page's console messages so far."""
        return self.driver.get_log("browser")

    def alert(self) -> str:
        """The text of the page's alert line ('' when hidden)."""
        return self.driver.execute_script(
            "const f = document.getElementById('flash'); return f.hidden ? '' : f.textContent;"
        )

    def screenshot(self, name: str) -> Path:
        """Save the window as ``name``.png (and copy it to SHENGGU_CONSOLE_SCREENSHOTS when set)."""
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        if target := os.environ.get("SHENGGU_CONSOLE_SCREENSHOTS"):
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(target) / path.name)
        return path


def console_server(tmp_path_factory, **settings) -> Iterator[ConsoleServer]:
    """Serve a fresh app (its own database and data folder) with an admin key and two tenants' keys."""
    from shenggu.config import Settings
    from shenggu.service.app import create_app
    from shenggu.service.storage import tenants
    from tests.servers import running_server

    options = {"preload_models": False, "job_workers": 1, "max_streams": 4, "stream_idle_seconds": 10.0}
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("console-data"), **(options | settings)))
    with app.state.db.session() as session:
        admin = tenants.create_key(session, tenants.get_or_create_tenant(session, "admin"), True)[1]
        key = tenants.create_key(session, tenants.get_or_create_tenant(session, "court"))[1]
        other = tenants.create_key(session, tenants.get_or_create_tenant(session, "clinic"))[1]
    with running_server(app) as base:
        yield ConsoleServer(base, admin, key, other, app)


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> Path:
    """A 16-bit mono WAV of float32 audio."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def chromium(folder: Path, microphone: Path | None = None, width: int = 1280, height: int = 800):
    """Headless Debian Chromium at ``width``×``height``; ``microphone``: a WAV it plays (looped) as the mic."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("Chromium and chromedriver are needed (scripts/ensure-chromium.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    arguments = [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        "--lang=zh-CN",
    ]
    if microphone is not None:
        arguments.append(f"--use-file-for-fake-audio-capture={microphone}")
    for argument in arguments:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    prefs = {"download.default_directory": str(folder / "downloads"), "download.prompt_for_download": False}
    options.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@pytest.fixture
def browser_factory(tmp_path) -> Iterator[Callable[..., Browser]]:
    """``browser_factory(server, microphone=None, width=1280, height=800)`` → a Browser; all quit after the test."""
    drivers = []

    def make(server: ConsoleServer, microphone: Path | None = None, width: int = 1280, height: int = 800) -> Browser:
        shots = tmp_path / "screenshots"
        shots.mkdir(exist_ok=True)
        driver = chromium(tmp_path, microphone, width, height)
        drivers.append(driver)
        return Browser(driver, server.base, shots)

    yield make
    for driver in drivers:
        driver.quit()


def draws_chinese(driver) -> bool:
    """Whether the page's font draws Chinese: two different characters rasterized with the console's font give
    different pixels (a missing CJK font draws the same empty box for both)."""
    return driver.execute_script(
        """const font = getComputedStyle(document.body).fontFamily;
        const pixels = (ch) => { const c = document.createElement('canvas'); c.width = c.height = 40;
          const g = c.getContext('2d'); g.font = `32px ${font}`; g.fillText(ch, 2, 32);
          return Array.from(g.getImageData(0, 0, 40, 40).data).join(','); };
        return pixels('转') !== pixels('写') && pixels('评') !== pixels('测');"""
    )
