"""Delivery of an answer to VK on the incident page, and the canned replies an admin manages, in a
real Chromium (issue 21, points 5 and 2). Delivery (point 5): an
answer given on the page is «отправляется»; VK's refusal turns it into «ошибка: …» with a retry
button, and the link of the posted reply appears after the retry, all without a reload. The
reports are handed to the SLA tracker as the poster sends them (the poster itself, on Kafka and
the fake VK, is tests/integration/test_vk_answer_delivery.py). Templates (point 2): an admin adds
one for a municipality's department on the admin page, a typo in a placeholder refused in
Russian; the incident page of that department offers it, another department's does not."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.classification import ClassifiedMessage
from services.auth.roles import Role
from services.auth.store import add_user
from sla.domain.answer_delivery import Delivery
from sla.stage import SlaContext
from sla.storage.answer_deliveries import answer_deliveries
from sla.storage.repository import incident_id_for
from tests.e2e.browser import screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import GROUP, PASSWORD, POST, incident, message, new_incident

pytestmark = pytest.mark.e2e
ANSWER = "Здравствуйте! Передали в управляющую компанию, свет починят сегодня."
REPLY = f"https://vk.com/wall-{GROUP}_{POST}?reply=9501"


async def delivery_of(context: SlaContext, incident_id: str) -> Delivery:
    async with context.db.engine.connect() as connection:
        [delivery] = (await answer_deliveries(connection, incident_id)).values()
    return delivery


def reported(context: SlaContext, delivery: Delivery, **outcome: object) -> AnswerDelivery:
    """The poster's report on the answer's latest attempt, a few seconds after it."""
    return AnswerDelivery(
        incident_id=delivery.answer_event_id.rpartition(":")[0],
        answer_event_id=delivery.answer_event_id,
        attempt_id=delivery.attempt_id,
        at=context.clock() + timedelta(seconds=3),
        **outcome,
    )


def status_text(browser: webdriver.Chrome) -> str:
    text: str = browser.execute_script(
        "const box = document.querySelector('.history .delivery');"
        "return box ? box.innerText.replace(/\\s+/g, ' ').trim() : '';"
    )
    return text


def open_incident(browser: webdriver.Chrome, app: LiveApp, incident_id: str) -> None:
    """Its page, once the answer form (with the templates) is there."""
    browser.get(f"{app.base}/incidents/{quote(incident_id, safe='')}")
    wait(browser, lambda b: b.find_elements(By.ID, "answer-text"))


def test_the_delivery_of_an_answer_shows_and_updates_without_a_reload(
    app: LiveApp, browsers: Browser
) -> None:
    context = app.context
    assert context is not None
    message_id = app.call(new_incident(context, 95, "В подъезде на Лесной, 4 нет света."))
    incident_id = incident_id_for(message_id)
    anna = browsers("anna")
    sign_in(anna, app.base, "anna", PASSWORD)
    open_incident(anna, app, incident_id)
    anna.find_element(By.ID, "answer-text").send_keys(ANSWER)
    anna.find_element(By.CSS_SELECTOR, "form[data-action=answer] button[type=submit]").click()
    wait(anna, lambda b: status_text(b) == "Во ВКонтакте: отправляется…")
    anna.execute_script("window.__sameDocument = true;")  # gone if the page reloads

    sent = app.call(delivery_of(context, incident_id))
    refused = reported(
        context, sent, posted=False, reason="доступ запрещён (ошибка VK 15)", retryable=True
    )
    app.call(context.service.on_delivery(refused))
    wait(anna, lambda b: status_text(b).startswith("Во ВКонтакте: ошибка: доступ запрещён"))
    screenshot(anna, "delivery-failed")
    anna.find_element(By.CSS_SELECTOR, ".history .delivery button[data-retry]").click()
    wait(anna, lambda b: status_text(b) == "Во ВКонтакте: отправляется…")
    retry = app.call(delivery_of(context, incident_id))
    assert retry.attempt_id != sent.attempt_id  # a new attempt: a new key at VK

    app.call(context.service.on_delivery(reported(context, retry, posted=True, url=REPLY)))
    wait(anna, lambda b: status_text(b) == "Во ВКонтакте: опубликован — открыть ответ ↗")
    link = anna.find_element(By.CSS_SELECTOR, ".history .delivery a")
    assert link.get_attribute("href") == REPLY
    assert anna.execute_script("return window.__sameDocument === true;")
    screenshot(anna, "delivery-posted")

    # Read afresh, the page draws the same from the history, with the events named in Russian.
    anna.refresh()
    wait(anna, lambda b: status_text(b) == "Во ВКонтакте: опубликован — открыть ответ ↗")
    history = anna.find_element(By.CSS_SELECTOR, ".history").text
    for line in (
        "ответ не опубликован во ВКонтакте",
        "Причина: доступ запрещён (ошибка VK 15)",
        "повторная отправка ответа во ВКонтакте",
        "ответ опубликован во ВКонтакте",
    ):
        assert line in history


# --- canned replies managed on the admin page (issue 21, point 2) ---------------------------------

TEMPLATE = "Лифт: заявка передана"


async def add_admin(context: SlaContext) -> None:
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="adm", password=PASSWORD, role=Role.ADMIN, display_name="Админ"
        )


async def roads_incident(context: SlaContext) -> str:
    """An incident of severogorsk's roads department: the lift template is not for it."""
    raw = message(96, "На Садовой провал асфальта у люка.", context.clock())
    decision = incident(raw, "roads", "Дорожное хозяйство", ("асфальта",))
    await context.service.on_classified(ClassifiedMessage(message=raw, decision=decision))
    return incident_id_for(raw.message_id)


def offered(browser: webdriver.Chrome, app: LiveApp, incident_id: str) -> list[str]:
    open_incident(browser, app, incident_id)
    titles: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#reply-template option'), (o) => o.text);"
    )
    return titles


def test_an_admin_adds_a_template_for_one_department_and_its_incidents_offer_it(
    app: LiveApp, browsers: Browser
) -> None:
    context = app.context
    assert context is not None
    app.call(add_admin(context))
    lift = incident_id_for(app.call(new_incident(context, 97, "Не работает лифт в доме 3.")))
    roads = app.call(roads_incident(context))
    admin = browsers("adm")
    sign_in(admin, app.base, "adm", PASSWORD)
    admin.find_element(By.CSS_SELECTOR, "nav a[href='/admin/reply-templates']").click()
    form = wait(admin, lambda b: b.find_element(By.ID, "new-template"))
    form.find_element(By.NAME, "id").send_keys("lift")
    form.find_element(By.NAME, "title").send_keys(TEMPLATE)
    Select(form.find_element(By.NAME, "municipality")).select_by_value("severogorsk")
    Select(form.find_element(By.NAME, "department")).select_by_value("ЖКХ")
    form.find_element(By.NAME, "text").send_keys("Заявка № {number} передана, починим до {dat}.")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    error = form.find_element(By.CSS_SELECTOR, ".form-error")
    wait(admin, lambda _: error.is_displayed())
    assert "неизвестные поля шаблона {dat}" in error.text
    text = form.find_element(By.NAME, "text")
    text.clear()
    text.send_keys("Заявка № {number} передана в {department}, починим до {date}.")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(admin, lambda b: b.find_elements(By.CSS_SELECTOR, "tr[data-template='lift']"))
    row = admin.find_element(By.CSS_SELECTOR, "tr[data-template='lift']").text
    assert TEMPLATE in row and "Северогорск" in row and "ЖКХ" in row
    screenshot(admin, "reply-templates-admin")

    anna = browsers("anna")
    sign_in(anna, app.base, "anna", PASSWORD)
    assert TEMPLATE in offered(anna, app, lift)
    assert TEMPLATE not in offered(anna, app, roads)
    assert "Проблема устранена" in offered(anna, app, roads)  # the file's, for everyone
