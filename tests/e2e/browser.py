"""The few steps every browser test repeats in the headless Chromium of tools/browser.py."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

T = TypeVar("T")
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "var/artifacts/e2e")).resolve()


def wait(
    browser: webdriver.Chrome, check: Callable[[webdriver.Chrome], T], seconds: float = 30
) -> T:
    """Poll until ``check`` holds; the bound is generous because a loaded 2-core CI machine runs
    the browser, the app and PostgreSQL at once (a bound on a hang, not a timing assertion)."""
    # A live update or a reload may replace the element between finding and reading it
    # (a stale reference, or Chrome's "node does not belong to the document"): try again.
    return WebDriverWait(
        browser, seconds, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)
    ).until(check)


def sign_in(browser: webdriver.Chrome, base: str, login: str, password: str) -> None:
    """Through the login form, as a person would."""
    browser.get(f"{base}/queue")
    wait(browser, lambda b: b.find_elements(By.ID, "login-form") or b.find_elements(By.ID, "main"))
    if not browser.find_elements(By.ID, "login-form"):
        return  # this browser's session is still open
    browser.find_element(By.ID, "login").send_keys(login)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait(browser, lambda b: b.find_elements(By.ID, "queue-results"))


def row_ids(browser: webdriver.Chrome) -> list[str]:
    return row_texts(browser, "tr.row", "dataset.id")


def row_texts(browser: webdriver.Chrome, selector: str, field: str = "innerText") -> list[str]:
    """Read in one script: the live refresh may replace the rows between two WebDriver calls."""
    found: list[str] = browser.execute_script(
        f"""return Array.from(document.querySelectorAll('#queue-results {selector}'))
            .map((row) => row.{field});"""
    )
    return found


def press(browser: webdriver.Chrome, keys: str) -> None:
    browser.find_element(By.TAG_NAME, "body").send_keys(keys)


# The Russian (ЙЦУКЕН) layout: what a physical key types there, by the key's code.
RUSSIAN = {"KeyJ": "о", "KeyK": "л", "KeyX": "ч", "KeyG": "п", "KeyI": "ш", "Slash": "."}


def press_keys(browser: webdriver.Chrome, codes: list[str], layout: dict[str, str]) -> None:
    """Physical keys pressed through Chromium's input pipeline (DevTools), as a keyboard on
    ``layout`` would send them: WebDriver's send_keys can only type Latin-layout keys. A code
    "Shift+Slash" holds Shift (on the Russian layout it types «,»)."""
    for pressed in codes:
        shift = pressed.startswith("Shift+")
        code = pressed.removeprefix("Shift+")
        key = "," if shift and code == "Slash" else layout[code]
        vk = ord(code[-1]) if code.startswith("Key") else 0xBF  # VK_OEM_2 for the slash key
        event = {"code": code, "key": key, "windowsVirtualKeyCode": vk, "modifiers": 8 * shift}
        browser.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "keyDown", "text": key, **event})
        browser.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "keyUp", **event})


def fits_the_screen(browser: webdriver.Chrome) -> bool:
    """No horizontal scrolling at 1366 px."""
    width = browser.execute_script("return document.documentElement.scrollWidth")
    inner = browser.execute_script("return window.innerWidth")
    return bool(width <= inner)


def screenshot(browser: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path
