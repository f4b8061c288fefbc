"""The incident in context, in a real Chromium (issue 21, point 1): the resident with their VK
profile and other messages, the photo's thumbnail from VK's own URL (allowed by the page's
Content-Security-Policy, loaded by the browser, not the server), and a resident whose data were
removed on request shown without a name or a link."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select

from kernel.contracts.classification import ClassifiedMessage
from kernel.contracts.messages import Attachment, Author
from kernel.db.schema import incidents
from sla.stage import SlaContext
from sla.storage.redaction import redact
from tests.e2e.browser import screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import PASSWORD, incident, message

pytestmark = pytest.mark.e2e
PHOTO = "https://sun9-21.userapi.com/impg/yama.jpg?size=320x240&sign=f00d&type=album"
ORIGINAL = "https://sun9-21.userapi.com/impg/yama.jpg?size=1280x960&sign=f00d&type=album"
BLOCKED = "https://blocked.example/probe.png"  # a host the policy does not name
# Installed before any page script: every image the policy blocks is recorded.
RECORD_VIOLATIONS = """window.__blocked = [];
document.addEventListener('securitypolicyviolation', (e) => window.__blocked.push(e.blockedURI));"""


async def seed(context: SlaContext) -> dict[str, str]:
    """Olga's two messages (the newer with a photo and a document), and one of a resident whose
    data are then removed; their incident ids by name."""
    now = context.clock()
    olga = Author(ref="vk:id8801", name="Ольга Смирнова")
    older = message(60, "Во дворе на Лесной, 4 второй месяц не убирают листву.",
                    now - timedelta(days=3)).model_copy(update={"author": olga})  # fmt: skip
    files = (
        Attachment(kind="photo", url=ORIGINAL, preview=PHOTO),
        Attachment(kind="doc", url="https://vk.com/doc8801_1?hash=ab", name="Акт.pdf"),
    )
    newer = message(61, "Яма у подъезда стала ещё больше, фото прилагаю.", now
                    - timedelta(minutes=10)).model_copy(
        update={"author": olga, "attachments": files})  # fmt: skip
    hidden = message(62, "Прошу удалить мои данные, но яму засыпьте.", now - timedelta(minutes=5))
    for raw in (older, newer, hidden):
        decision = incident(raw, "roads", "Дорожное хозяйство", ("яма",))
        await context.service.on_classified(ClassifiedMessage(message=raw, decision=decision))
    async with context.db.transaction() as connection:
        assert hidden.author is not None
        await redact(connection, now=now, author_ref=hidden.author.ref)
        rows = await connection.execute(select(incidents.c.message_id, incidents.c.incident_id))
        by_message = {message_id: incident_id for message_id, incident_id in rows}
    return {
        name: by_message[raw.message_id]
        for name, raw in (("older", older), ("newer", newer), ("hidden", hidden))
    }


@pytest.fixture(scope="module")
def ids(app: LiveApp) -> dict[str, str]:
    assert app.context is not None
    return app.call(seed(app.context))


@pytest.fixture(scope="module")
def anna(app: LiveApp, browsers: Browser) -> webdriver.Chrome:
    browser = browsers("anna")
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    sign_in(browser, app.base, "anna", PASSWORD)
    return browser


def open_incident(browser: webdriver.Chrome, app: LiveApp, incident_id: str) -> None:
    browser.get(f"{app.base}/incidents/{quote(incident_id, safe='')}")
    wait(browser, lambda b: b.find_elements(By.ID, "message-text"))


def test_the_resident_their_other_messages_and_the_photo_from_vk(
    app: LiveApp, anna: webdriver.Chrome, ids: dict[str, str]
) -> None:
    open_incident(anna, app, ids["newer"])
    assert anna.find_element(By.ID, "resident-name").text == "Ольга Смирнова"
    profile = anna.find_element(By.ID, "resident-profile")
    assert profile.get_attribute("href") == "https://vk.com/id8801"
    others = anna.find_element(By.ID, "resident-others")
    assert "второй месяц не убирают листву" in others.text
    link = others.find_element(By.LINK_TEXT, "инцидент").get_attribute("href") or ""
    assert link.endswith(f"/incidents/{quote(ids['older'], safe='')}")

    thumb = anna.find_element(By.CSS_SELECTOR, ".message .attachments img.thumb")
    assert thumb.get_attribute("src") == PHOTO
    assert (thumb.get_attribute("loading"), thumb.get_attribute("referrerpolicy")) == (
        "lazy", "no-referrer",
    )  # fmt: skip
    opens = thumb.find_element(By.XPATH, "..").get_attribute("href")
    assert opens == ORIGINAL
    doc = anna.find_element(By.PARTIAL_LINK_TEXT, "Акт.pdf")
    assert doc.get_attribute("href") == "https://vk.com/doc8801_1?hash=ab"
    # The browser asked for the thumbnail (this machine has no way to VK: it then fails as a
    # network error), and the policy let it: a probe from an unnamed host is blocked after it.
    anna.execute_script("arguments[0].scrollIntoView()", thumb)
    wait(anna, lambda b: b.execute_script("return arguments[0].complete", thumb))
    anna.execute_script(f"const probe = new Image(); probe.src = {BLOCKED!r};")
    blocked = wait(anna, lambda b: BLOCKED in b.execute_script("return window.__blocked")
                   and b.execute_script("return window.__blocked"))  # fmt: skip
    assert blocked == [BLOCKED]
    anna.execute_script("document.getElementById('resident').scrollIntoView()")
    screenshot(anna, "incident-resident")


def test_a_redacted_resident_shows_no_name_and_no_link(
    app: LiveApp, anna: webdriver.Chrome, ids: dict[str, str]
) -> None:
    open_incident(anna, app, ids["hidden"])
    section = anna.find_element(By.ID, "resident")
    assert anna.find_element(By.ID, "resident-redacted").text == "данные удалены по запросу"
    assert not section.find_elements(By.TAG_NAME, "a")
    assert not anna.find_elements(By.ID, "resident-name")
    assert "7062" not in section.text  # the VK id it had (ui_seed: vk:id7000+item)
