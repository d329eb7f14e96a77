"""The web console's shell in real headless Chromium: its files are served by shenggu with a strict policy,
sign-in keeps the key in the tab's session only, the first-run setup makes the administrator key, the language
switch, Chinese actually drawn (a CJK font installed), keyboard navigation and the tablet width."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.console_browser import console_server, draws_chinese

pytestmark = pytest.mark.slow  # a live server and a browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from console_server(tmp_path_factory)


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """A server with no key at all, as after the first `make run`."""
    from shenggu.config import Settings
    from shenggu.service.app import create_app
    from tests.servers import running_server

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("fresh"), preload_models=False, job_workers=0))
    with running_server(app) as base:
        yield base


def test_console_files_are_served_here_with_a_strict_policy(server):
    page = httpx.get(f"{server.base}/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    script = httpx.get(f"{server.base}/console/assets/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for bad in ("../app.py", "..%2F..%2Fconfig.py", "index.html", "nothing.js"):
        response = httpx.get(f"{server.base}/console/assets/{bad}")
        assert response.status_code == 404 and response.json()["error"]["message"], bad


def test_sign_in_keeps_the_key_in_the_session_only(server, browser_factory):
    browser = browser_factory(server)
    browser.open()
    assert browser.driver.execute_script("return document.body.dataset.page") == "signin"
    assert draws_chinese(browser.driver), "Chinese is drawn as empty boxes: install fonts-noto-cjk"
    browser.screenshot("signin")
    field = browser.driver.find_element(By.CSS_SELECTOR, "main input[type=password]")
    field.send_keys("sk-not-a-key" + Keys.ENTER)
    browser.wait(lambda d: "无效" in browser.alert(), 20, "the refusal")
    assert browser.driver.execute_script("return document.body.dataset.page") == "signin"

    browser.sign_in(server.key, "transcribe")
    assert browser.driver.execute_script("return sessionStorage.getItem('shenggu.console.key')") == server.key
    assert browser.driver.execute_script("return localStorage.getItem('shenggu.console.key')") is None
    nav = browser.driver.find_element(By.ID, "nav").text
    assert "转写" in nav and "密钥" not in nav  # a user key sees no admin page
    assert "court" in browser.driver.find_element(By.ID, "who").text

    browser.driver.find_element(By.ID, "sign-out").click()
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "signin", 20)
    assert browser.driver.execute_script("return sessionStorage.getItem('shenggu.console.key')") is None


def test_language_switch_keyboard_and_admin_pages(server, browser_factory):
    browser = browser_factory(server)
    browser.sign_in(server.admin_key, "jobs")
    assert "密钥" in browser.driver.find_element(By.ID, "nav").text
    assert browser.driver.execute_script("return document.documentElement.lang") == "zh-CN"

    switch = browser.driver.find_element(By.ID, "lang")
    switch.send_keys("English")  # a select takes typed option text, as a keyboard user would
    browser.wait(lambda d: d.execute_script("return document.documentElement.lang") == "en", 10)
    nav = browser.driver.find_element(By.ID, "nav").text
    assert "Transcribe" in nav and "Keys" in nav and "转写" not in nav
    assert browser.driver.execute_script("return document.body.dataset.page") == "jobs"
    browser.screenshot("jobs-en")

    # Keyboard: the skip link comes first, then the navigation; Enter on a link opens its page.
    first_focusable = "document.querySelector('a[href], button, input, select, textarea')"
    assert browser.driver.execute_script(f"return {first_focusable}.className") == "skip"
    browser.driver.execute_script(f"{first_focusable}.focus()")
    ActionChains(browser.driver).send_keys(Keys.TAB).perform()
    first = browser.driver.switch_to.active_element
    assert first.get_attribute("href").endswith("#/transcribe")
    first.send_keys(Keys.ENTER)
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "transcribe", 10)
    heading = browser.driver.switch_to.active_element
    assert heading.tag_name == "h1"  # focus moved to the new page's heading

    browser.driver.execute_script("location.hash = '#/no-such-page'")
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "missing", 10)
    assert "no such page" in browser.driver.find_element(By.TAG_NAME, "h1").text.lower()
    # The language sticks for the next visit; Mandarin again for the other tests.
    browser.open("transcribe")
    assert browser.driver.execute_script("return document.documentElement.lang") == "en"
    browser.driver.find_element(By.ID, "lang").send_keys("中文")
    browser.wait(lambda d: d.execute_script("return document.documentElement.lang") == "zh-CN", 10)


def test_tablet_width_has_no_horizontal_scroll(server, browser_factory):
    browser = browser_factory(server, width=768, height=1024)
    browser.sign_in(server.admin_key, "transcribe")
    for page in ("transcribe", "live", "speak", "assess", "jobs", "evaluate", "usage", "lists", "keys"):
        browser.go(page)
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page} scrolls sideways by {overflow}px at 768 px"
    browser.screenshot("tablet-keys")


def test_first_run_setup_creates_the_administrator_key(fresh_server, browser_factory):
    browser = browser_factory(type("S", (), {"base": fresh_server})())
    browser.open()
    button = browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, "section.card button"), 20, "the setup offer")
    browser.screenshot("first-run")
    button.click()
    key_box = browser.wait(lambda d: d.find_element(By.ID, "new-admin-key"), 20, "the new key")
    key = key_box.get_attribute("value")
    assert key and httpx.get(f"{fresh_server}/v1/me", headers={"Authorization": f"Bearer {key}"}).json()["admin"]
    browser.driver.find_element(By.CSS_SELECTOR, "section.card button.primary").click()
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "transcribe", 20)
    assert "密钥" in browser.driver.find_element(By.ID, "nav").text
    # Only once: the offer is gone, and the API refuses a second administrator key.
    assert httpx.post(f"{fresh_server}/v1/admin/setup", json={}).status_code == 409
    browser.driver.find_element(By.ID, "sign-out").click()
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "signin", 20)
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "section.card:not([hidden]) button")
