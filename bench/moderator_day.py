"""A moderator's day, timed in a real Chromium (1366×768) against `make demo` itself: the real
`otklik demo` process, its embedded PostgreSQL and its living sample, driven as a person drives
it. Each action is timed from the click (or the navigation) to what the person waits for — the
rows, the page, the «Инцидент взят в работу» toast after the page reloads — as the median of
``--rounds`` rounds, each on another incident. The baseline of the same run is the round trip
the page makes for nothing (a fetch of /healthz): the ratio says how many of those an action
costs, whatever the machine.

    make bench-moderator                       # BENCH_ROUNDS=5
"""

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.wait import WebDriverWait

from tools.browser import BROWSER_HINT, chrome, chromedriver_binary, chromium_binary
from tools.demo_process import Demo, running_demo

Check = Callable[[webdriver.Chrome], object]


def browser() -> webdriver.Chrome:
    binary, driver = chromium_binary(), chromedriver_binary()
    if binary is None or driver is None:
        raise SystemExit(f"Chromium or chromedriver missing. {BROWSER_HINT}")
    return chrome(binary, driver)


def until(page: webdriver.Chrome, check: Check) -> None:
    WebDriverWait(page, 60, poll_frequency=0.01, ignored_exceptions=(WebDriverException,)).until(
        check
    )


def timed(page: webdriver.Chrome, act: Callable[[], None], done: Check) -> float:
    began = time.perf_counter()
    act()
    until(page, done)
    return time.perf_counter() - began


def toast(text: str) -> Check:
    return lambda page: any(text in t.text for t in page.find_elements(By.CSS_SELECTOR, ".toast"))


def sign_in(page: webdriver.Chrome, demo: Demo) -> None:
    page.get(f"{demo.base}/queue")
    page.find_element(By.ID, "login").send_keys(demo.login)
    page.find_element(By.ID, "password").send_keys(demo.password)
    page.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    until(page, lambda p: p.find_elements(By.CSS_SELECTOR, "tr.row"))


def round_of_actions(page: webdriver.Chrome, base: str, index: int) -> dict[str, float]:
    """One incident from the queue: claimed, noted, wrongly rejected and restored, then answered
    with a canned reply; seconds per action."""
    times: dict[str, float] = {}
    times["baseline: fetch /healthz"] = timed(
        page,
        lambda: page.execute_script(
            "window.__done = false; fetch('/healthz').then(() => { window.__done = true; })"
        ),
        lambda p: p.execute_script("return window.__done"),
    )
    times["queue: open"] = timed(
        page,
        lambda: page.get(f"{base}/queue"),
        lambda p: p.find_elements(By.CSS_SELECTOR, "tr.row"),
    )
    times["queue: filter by category"] = timed(
        page,
        lambda: page.get(f"{base}/queue?category=roads"),
        lambda p: p.find_elements(By.CSS_SELECTOR, "tr.row"),
    )
    times["queue: full-text search"] = timed(
        page,
        lambda: page.get(f"{base}/queue?q=%D1%8F%D0%BC%D0%B0"),  # «яма»: «ямы», «ямой»… too
        lambda p: p.find_elements(By.CSS_SELECTOR, "tr.row"),
    )
    page.get(f"{base}/queue?status=assigned")
    until(page, lambda p: p.find_elements(By.CSS_SELECTOR, "tr.row"))
    link = page.find_elements(By.CSS_SELECTOR, "tr.row td.text a")[index]
    times["incident: open from the queue"] = timed(
        page, link.click, lambda p: p.find_elements(By.ID, "claim-button")
    )
    times["incident: claim"] = timed(
        page,
        lambda: page.find_element(By.ID, "claim-button").click(),
        toast("Инцидент взят в работу."),
    )
    notes_before = len(page.find_elements(By.CSS_SELECTOR, "#notes-list li.note"))
    page.find_element(By.CSS_SELECTOR, "#note-form textarea").send_keys("проверить адрес (замер)")
    times["incident: internal note"] = timed(
        page,
        lambda: page.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click(),
        lambda p: len(p.find_elements(By.CSS_SELECTOR, "#notes-list li.note")) > notes_before,
    )
    page.find_element(By.CSS_SELECTOR, "#reject-box summary").click()
    page.find_element(By.ID, "reject-reason").send_keys("дубль (замер)")
    times["incident: reject"] = timed(
        page,
        lambda: page.find_element(By.ID, "reject-button").click(),
        toast("Отмечено: не инцидент."),
    )
    page.find_element(By.CSS_SELECTOR, "#restore-box summary").click()
    page.find_element(By.CSS_SELECTOR, "#restore-box textarea").send_keys("ошибка (замер)")
    times["incident: undo the rejection"] = timed(
        page,
        lambda: page.find_element(By.CSS_SELECTOR, "#restore-box button").click(),
        toast("Инцидент возвращён в работу."),
    )
    Select(page.find_element(By.ID, "reply-template")).select_by_index(1)
    for field in page.find_elements(By.CSS_SELECTOR, "#template-fields label:not([hidden]) input"):
        field.send_keys("01.01.2030" if field.get_attribute("type") != "date" else "01012030")
    times["incident: answer with a template"] = timed(
        page,
        lambda: page.find_element(By.ID, "answer-button").click(),
        toast("Ответ записан."),
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otk-bench-") as data, running_demo(Path(data)) as demo:
        page = browser()
        try:
            sign_in(page, demo)
            rounds = [round_of_actions(page, demo.base, i) for i in range(args.rounds)]
        finally:
            page.quit()
    medians = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    baseline = medians["baseline: fetch /healthz"]
    print(f"{'action':40} {'median, ms':>11} {'× baseline':>11}")
    for name, seconds in medians.items():
        print(f"{name:40} {seconds * 1000:11.0f} {seconds / baseline:11.1f}")
    print(json.dumps({"rounds": args.rounds, "median_ms": {k: round(v * 1000) for k, v in
                                                          medians.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
