"""Teamwork in a real Chromium (issue 21, point 4), two moderators at once on real PostgreSQL:
Anna writes an internal note mentioning Boris, whose open page shows it live and whose queue
finds the incident under «упоминания»; the queue's search finds a message by another form of
its word (Russian full-text search)."""

from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from kernel.db.schema import incidents
from sla.domain.notes import Note
from sla.stage import SlaContext
from tests.e2e.browser import row_ids, screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import PASSWORD, new_incident

pytestmark = pytest.mark.e2e
SWINGS = "Ржавые качели на детской площадке у дома 9 на Полевой шатаются"
NOTE = "@boris глянь, пожалуйста: про эти качели уже писали в прошлом месяце"


async def incident_of(context: SlaContext, item: int, text: str) -> str:
    message_id = await new_incident(context, item, text)
    async with context.db.engine.connect() as connection:
        found = await connection.scalar(
            select(incidents.c.incident_id).where(incidents.c.message_id == message_id)
        )
    assert found is not None
    return str(found)


@pytest.fixture(scope="module")
def swings(app: LiveApp) -> str:
    assert app.context is not None
    return app.call(incident_of(app.context, 9701, SWINGS))


def signed_in(app: LiveApp, browsers: Browser, login: str) -> webdriver.Chrome:
    browser = browsers(login)
    sign_in(browser, app.base, login, PASSWORD)
    return browser


def open_incident(browser: webdriver.Chrome, app: LiveApp, incident_id: str) -> None:
    browser.get(f"{app.base}/incidents/{quote(incident_id, safe='')}")
    wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    wait(browser, lambda b: b.find_elements(By.ID, "notes-list"))
    # The live stream is connected: what happens from now on reaches this page.
    wait(browser, lambda b: "обновляется" in b.find_element(By.ID, "live-status").text)


def notes(browser: webdriver.Chrome) -> list[str]:
    found: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#notes-list li.note')).map((li) =>"
        " (li.classList.contains('mentions-me') ? '[me] ' : '')"
        " + li.querySelector('.note-text').textContent);"
    )
    return found


def test_a_note_mentions_a_colleague_who_sees_it_live_and_under_mentions(
    app: LiveApp, browsers: Browser, swings: str
) -> None:
    anna = signed_in(app, browsers, "anna")
    boris = signed_in(app, browsers, "boris")
    open_incident(boris, app, swings)
    open_incident(anna, app, swings)
    assert notes(boris) == [] and notes(anna) == []
    # Boris is picked by his name, which puts @boris in: no Latin layout needed to mention.
    Select(anna.find_element(By.ID, "mention-pick")).select_by_visible_text("Борис Иванов")
    assert anna.find_element(By.ID, "note-text").get_attribute("value") == "@boris "
    anna.find_element(By.ID, "note-text").send_keys(NOTE.removeprefix("@boris "))
    anna.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    wait(anna, lambda b: notes(b) == [NOTE])  # Anna wrote it: not «упомянули вас» for her
    wait(boris, lambda b: notes(b) == [f"[me] {NOTE}"])  # live, without a reload
    assert "упомянули вас" in boris.find_element(By.ID, "notes-list").text
    screenshot(boris, "teamwork-note")
    # The status and the claim did not move: still nobody's.
    assert boris.find_element(By.ID, "claimed-by").text == "никого"
    # A mention of a login that does not exist is refused by name, and nothing is recorded.
    anna.find_element(By.ID, "note-text").send_keys("@nikto посмотри")
    anna.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    error = wait(anna, lambda b: b.find_element(By.CSS_SELECTOR, "#note-form .form-error"))
    wait(anna, lambda b: "@nikto" in error.text)
    assert notes(anna) == [NOTE]
    # Boris finds the incident under «упоминания»; Anna, not mentioned, finds nothing there.
    boris.get(f"{app.base}/queue")
    choose_view(boris, "mentions")
    wait(boris, lambda b: row_ids(b) == [swings])
    anna.get(f"{app.base}/queue?view=mentions")
    wait(anna, lambda b: b.find_elements(By.CSS_SELECTOR, "#queue-results .results"))
    assert row_ids(anna) == []


def choose_view(browser: webdriver.Chrome, view: str) -> None:
    Select(browser.find_element(By.ID, "queue-view")).select_by_value(view)
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait(browser, lambda b: f"view={view}" in b.current_url)


def test_the_search_box_finds_a_message_by_another_form_of_its_word(
    app: LiveApp, browsers: Browser, swings: str
) -> None:
    anna = signed_in(app, browsers, "anna")
    anna.get(f"{app.base}/queue")
    box = wait(anna, lambda b: b.find_element(By.ID, "queue-search"))
    box.send_keys("качелями")  # the message says «качели»
    box.submit()
    wait(anna, lambda b: "q=" in b.current_url)
    wait(anna, lambda b: row_ids(b) == [swings])
    assert anna.find_element(By.ID, "queue-search").get_attribute("value") == "качелями"
    screenshot(anna, "teamwork-search")
    # A word of a note (not of the message) finds it too, in another form.
    assert app.context is not None
    app.call(app.context.service.note(swings, Note("boris", "Звонил подрядчику по качелям")))
    anna.get(f"{app.base}/queue?q=" + quote("подрядчиком"))
    wait(anna, lambda b: swings in row_ids(b))


def test_a_supervisor_assigns_and_the_incident_is_in_the_colleagues_mine(
    app: LiveApp, browsers: Browser, swings: str
) -> None:
    glava = signed_in(app, browsers, "glava")
    open_incident(glava, app, swings)
    # By name, from those who may handle it (not the viewer, who may be mentioned): no login to
    # type.
    assignable = Select(glava.find_element(By.ID, "assign-login"))
    names = [option.text for option in assignable.options]
    assert "Борис Иванов" in names and "Вера Смирнова" not in names
    mentionable = Select(glava.find_element(By.ID, "mention-pick"))
    assert "Вера Смирнова" in [option.text for option in mentionable.options]
    assignable.select_by_visible_text("Борис Иванов")
    glava.find_element(By.CSS_SELECTOR, "#assign-form button[type=submit]").click()
    wait(glava, lambda b: b.find_element(By.ID, "claimed-by").text == "Борис Иванов")
    assert "Назначен: Борис Иванов" in glava.find_element(By.CSS_SELECTOR, ".history").text
    boris = signed_in(app, browsers, "boris")
    boris.get(f"{app.base}/queue")
    choose_view(boris, "mine")
    wait(boris, lambda b: row_ids(b) == [swings])
    screenshot(boris, "teamwork-mine")
    anna = signed_in(app, browsers, "anna")
    anna.get(f"{app.base}/queue?view=mine")
    wait(anna, lambda b: b.find_elements(By.CSS_SELECTOR, "#queue-results .results"))
    assert swings not in row_ids(anna)


def test_the_change_banner_is_for_colleagues_changes_only(app: LiveApp, browsers: Browser) -> None:
    assert app.context is not None
    bench = app.call(incident_of(app.context, 9702, "Сломана скамейка у подъезда дома 3"))
    anna = signed_in(app, browsers, "anna")
    boris = signed_in(app, browsers, "boris")
    open_incident(anna, app, bench)
    open_incident(boris, app, bench)
    banner = "return !document.getElementById('changed-banner').hidden"
    last = "return document.querySelector('.incident').dataset.lastChange || ''"
    anna.find_element(By.ID, "note-text").send_keys("Сама проверю скамейку завтра")
    anna.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    # Both pages have heard of Anna's note; only Boris's shows the banner.
    wait(anna, lambda b: b.execute_script(last) == "noted anna")
    wait(boris, lambda b: b.execute_script(last) == "noted anna")
    assert anna.execute_script(banner) is False
    wait(boris, lambda b: b.execute_script(banner))
    boris.find_element(By.ID, "note-text").send_keys("Хорошо, @anna")
    boris.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    wait(anna, lambda b: b.execute_script(last) == "noted boris")
    wait(anna, lambda b: b.execute_script(banner))
    screenshot(anna, "teamwork-banner")


def presence(browser: webdriver.Chrome) -> str:
    text: str = browser.find_element(By.ID, "presence").text
    return text


def test_presence_shows_the_colleague_who_has_the_incident_open(
    app: LiveApp, browsers: Browser, swings: str
) -> None:
    anna = signed_in(app, browsers, "anna")
    boris = signed_in(app, browsers, "boris")
    open_incident(anna, app, swings)
    open_incident(boris, app, swings)
    # Anna's page learns of Boris at its next heartbeat (every 10 s), without a reload (Glava
    # may still have it open from the assignment above).
    wait(
        anna, lambda b: presence(b).startswith("Сейчас смотрят:") and "Борис Иванов" in presence(b)
    )
    wait(boris, lambda b: "Анна Петрова" in presence(b))
    assert "Анна Петрова" not in presence(anna)  # not herself
    screenshot(anna, "teamwork-presence")
    boris.get(f"{app.base}/queue")  # his page says goodbye as it closes
    wait(anna, lambda b: "Борис Иванов" not in presence(b))
    assert presence(anna)  # still shown: «Больше никто не смотрит» or Glava


COUNT_STREAMS = """
window.__streams = 0;
const Native = window.EventSource;
window.EventSource = function (...args) { window.__streams += 1; return new Native(...args); };
window.EventSource.CLOSED = Native.CLOSED;
"""


def test_an_incident_page_holds_one_live_stream_for_all_its_parts(
    app: LiveApp, browsers: Browser, swings: str
) -> None:
    """Its facts, its delivery lines and its notes all listen to the feed: one connection the
    server holds open, not one each."""
    vera = signed_in(app, browsers, "vera")
    vera.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_STREAMS})
    open_incident(vera, app, swings)
    assert vera.execute_script("return window.__streams") == 1
