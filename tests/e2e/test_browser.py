"""The web interface in a real headless Chromium (Debian's chromium + chromium-driver) against
the app on 127.0.0.1 with a real PostgreSQL, on the demo's data: a moderator signs in, claims
and answers, and the incident leaves the queue while a second moderator cannot claim it; a
viewer cannot act; an XSS payload in a VK comment shows as text; new incidents appear without
reloading; screenshots of the queue, an incident and the indicators page are saved
(var/artifacts/e2e/; the README's are test_demo_pictures.py's, from `make demo` itself)."""

from collections.abc import Callable
from urllib.parse import quote

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.browser import (
    RUSSIAN,
    fits_the_screen,
    press,
    press_keys,
    row_ids,
    row_texts,
    screenshot,
    sign_in,
    wait,
)
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import PASSWORD, XSS, new_incident

pytestmark = pytest.mark.e2e


def test_moderator_claims_answers_and_the_incident_leaves_the_queue(
    app: LiveApp, browsers: Browser
) -> None:
    anna, boris = browsers("anna"), browsers("boris")
    sign_in(anna, app.base, "anna", PASSWORD)
    sign_in(boris, app.base, "boris", PASSWORD)
    assert fits_the_screen(anna)
    target = row_ids(anna)[0]
    press(anna, "j")  # the cursor on the first row
    press(anna, "c")  # claim from the list
    claimed = f'#queue-results tr.row[data-id="{target}"] td.claimed'
    wait(anna, lambda b: b.find_element(By.CSS_SELECTOR, claimed).text == "Анна Петрова")

    boris.get(f"{app.base}/incidents/{quote(target, safe='')}")
    boris.find_element(By.ID, "claim-button").click()
    refused = wait(boris, lambda b: b.find_element(By.CSS_SELECTOR, "#claim-form .form-error"))
    wait(boris, lambda b: refused.is_displayed())
    assert "в работе у anna" in refused.text
    boris.get(f"{app.base}/queue")  # boris watches the queue while anna answers

    press(anna, "\ue007")  # Enter opens the incident under the cursor
    wait(anna, lambda b: b.find_elements(By.ID, "answer-form"))
    assert fits_the_screen(anna)
    Select(anna.find_element(By.ID, "reply-template")).select_by_visible_text("Проблема устранена")
    text = anna.find_element(By.ID, "answer-text").get_attribute("value") or ""
    assert text.startswith("Здравствуйте! Проблема устранена")
    assert anna.find_element(By.ID, "answer-final").is_selected()
    anna.find_element(By.ID, "answer-button").click()
    wait(anna, lambda b: b.find_element(By.ID, "status").text == "отвечен")
    assert "Проблема устранена" in anna.find_element(By.CSS_SELECTOR, ".history").text

    anna.get(f"{app.base}/queue")
    assert target not in row_ids(anna)
    wait(boris, lambda b: target not in row_ids(b))  # gone from boris's page without a reload


def test_new_incidents_appear_without_reloading(app: LiveApp, browsers: Browser) -> None:
    boris = browsers("boris")
    boris.get(f"{app.base}/queue?overdue=no")  # not overdue: a new incident sorts onto page 1
    wait(boris, lambda b: b.find_elements(By.ID, "queue-results"))
    wait(boris, lambda b: "обновляется" in b.find_element(By.ID, "live-status").text)
    before = row_ids(boris)
    boris.execute_script("window.__same_page = true")
    assert app.context is not None
    app.call(new_incident(app.context, 40, "В подъезде дома 3 на Школьной не горит свет."))
    wait(boris, lambda b: len(row_ids(b)) > len(before), seconds=15)
    assert any("не горит свет" in text for text in row_texts(boris, "tr.fresh"))
    assert boris.execute_script("return window.__same_page") is True  # no reload happened


def test_a_viewer_cannot_act(app: LiveApp, browsers: Browser) -> None:
    vera = browsers("vera")
    sign_in(vera, app.base, "vera", PASSWORD)
    target = row_ids(vera)[0]
    vera.get(f"{app.base}/incidents/{quote(target, safe='')}")
    assert "только просмотр" in vera.find_element(By.ID, "read-only").text
    assert not vera.find_elements(By.CSS_SELECTOR, "form.action")
    # Hidden buttons are not the protection: the server refuses the call itself.
    status = vera.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch(`/api/incidents/${encodeURIComponent(arguments[0])}/claim`, {method: "POST",
          headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}})
          .then((r) => done(r.status));""",
        target,
    )
    assert status == 403
    press(vera, "c")  # the shortcut does nothing either
    assert vera.find_element(By.ID, "claimed-by").text == "никого"


def test_an_xss_comment_renders_as_text(app: LiveApp, browsers: Browser) -> None:
    glava = browsers("glava")
    sign_in(glava, app.base, "glava", PASSWORD)
    glava.get(f"{app.base}/queue?overdue=no")
    wait(glava, lambda b: any("window.__xss" in text for text in row_texts(b, "tr.row")))
    assert any("<script>window.__xss=1</script>" in t for t in row_texts(glava, "tr.row"))
    glava.find_element(By.PARTIAL_LINK_TEXT, "<script>window.__xss=1").click()
    shown = wait(glava, lambda b: b.find_element(By.ID, "message-text"))
    assert shown.text == XSS
    assert not shown.find_elements(By.TAG_NAME, "img")
    assert glava.execute_script("return window.__xss === undefined") is True
    screenshot(glava, "incident")


def test_keyboard_help_and_screenshots_of_the_queue_and_indicators(
    app: LiveApp, browsers: Browser
) -> None:
    anna = browsers("anna")
    anna.get(f"{app.base}/queue")
    press(anna, "?")
    help_box = wait(anna, lambda b: b.find_element(By.ID, "help"))
    wait(anna, lambda b: help_box.is_displayed())
    assert "следующий / предыдущий инцидент" in help_box.text
    press(anna, "\ue00c")  # Esc closes it
    wait(anna, lambda b: not help_box.is_displayed())
    screenshot(anna, "queue")
    # Today's incidents, below two months of unanswered history: other countdown colours.
    anna.get(f"{app.base}/queue?overdue=no")
    wait(anna, row_ids)
    screenshot(anna, "queue-not-overdue")

    anna.get(f"{app.base}/indicators?period=2026-10")
    wait(anna, lambda b: b.find_elements(By.CSS_SELECTOR, "svg.line-chart"))
    assert "План и факт" in anna.page_source
    assert fits_the_screen(anna)
    screenshot(anna, "indicators")
    link = anna.find_element(By.CSS_SELECTOR, ".months a[href*='measure=assigned']")
    expected = int(link.text)
    link.click()
    wait(anna, lambda b: b.find_elements(By.CSS_SELECTOR, "table.drill"))
    assert len(anna.find_elements(By.CSS_SELECTOR, "table.drill tbody tr")) == expected


def test_the_shortcuts_work_on_the_russian_layout(app: LiveApp, browsers: Browser) -> None:
    """A moderator typing answers is on the Russian layout: the same physical keys work (a
    supervisor here, who also has the bulk bar)."""
    glava = browsers("glava")
    sign_in(glava, app.base, "glava", PASSWORD)
    glava.get(f"{app.base}/queue?overdue=no")
    first, second = wait(glava, row_ids)[:2]
    cursor = "#queue-results tr.cursor"
    press_keys(glava, ["KeyJ"], RUSSIAN)  # «о»
    wait(glava, lambda b: b.find_element(By.CSS_SELECTOR, cursor).get_attribute("data-id") == first)
    press_keys(glava, ["KeyJ", "KeyJ", "KeyK"], RUSSIAN)  # «о», «о», «л»
    wait(
        glava, lambda b: b.find_element(By.CSS_SELECTOR, cursor).get_attribute("data-id") == second
    )
    press_keys(glava, ["KeyX"], RUSSIAN)  # «ч» picks the row for a bulk action
    wait(glava, lambda b: b.find_element(By.ID, "bulk-count").text == "1")
    press_keys(glava, ["KeyX"], RUSSIAN)
    help_box = glava.find_element(By.ID, "help")
    press_keys(glava, ["Shift+Slash"], RUSSIAN)  # «,» on the key of «?»
    wait(glava, lambda b: help_box.is_displayed())
    press(glava, "\ue00c")
    wait(glava, lambda b: not help_box.is_displayed())
    press_keys(glava, ["KeyG", "KeyI"], RUSSIAN)  # «п» «ш»: to the indicators
    wait(glava, lambda b: b.current_url.startswith(f"{app.base}/indicators"))


def test_a_supervisor_rejects_in_bulk_and_the_reason_is_required(
    app: LiveApp, browsers: Browser
) -> None:
    glava = browsers("glava")
    sign_in(glava, app.base, "glava", PASSWORD)
    glava.get(f"{app.base}/queue?overdue=no")
    wait(glava, row_ids)
    chosen = row_ids(glava)[:2]
    press(glava, "jxjx")
    assert glava.find_element(By.ID, "bulk-count").text == "2"
    Select(glava.find_element(By.ID, "bulk-action")).select_by_value("reject")
    reason = glava.find_element(By.CSS_SELECTOR, "#bulk input[name=reason]")
    assert reason.is_displayed()
    submit = glava.find_element(By.CSS_SELECTOR, "#bulk button[type=submit]")
    submit.click()  # no reason: the form refuses before anything is sent
    assert glava.execute_script("return arguments[0].validity.valueMissing", reason) is True
    assert set(chosen) <= set(row_ids(glava))
    reason.send_keys("реклама, не обращение")
    submit.click()  # asks first, with the count; Esc (or «Отмена») sends nothing
    question = wait(glava, lambda b: b.find_element(By.ID, "bulk-confirm-question"))
    wait(glava, lambda b: question.is_displayed())
    assert question.text == "Отметить «не инцидент» 2 инцидента?"
    press(glava, "\ue00c")
    wait(glava, lambda b: not question.is_displayed())
    assert set(chosen) <= set(row_ids(glava))
    submit.click()
    wait(glava, lambda b: question.is_displayed())
    glava.find_element(By.ID, "bulk-confirm-yes").click()
    wait(glava, lambda b: not set(chosen) & set(row_ids(b)))
    assert "Выполнено: 2 из 2." in glava.find_element(By.ID, "toasts").text
    # After a confirmed action, Esc on the next question still sends nothing.
    spared = row_ids(glava)[0]
    glava.execute_script(
        "document.querySelector(`input.pick-one[value='${arguments[0]}']`).click()", spared
    )
    submit.click()
    wait(glava, lambda b: question.is_displayed())
    assert question.text == "Отметить «не инцидент» 1 инцидент?"
    glava.execute_script(  # would see the action start: the button turns busy before the request
        """window.__bulkStarted = false;
        new MutationObserver(() => { window.__bulkStarted = true; })
            .observe(arguments[0], {attributes: true, attributeFilter: ["aria-busy"]});""",
        submit,
    )
    press(glava, "\ue00c")
    wait(glava, lambda b: not question.is_displayed())
    started = glava.execute_async_script(  # after the close event's promise and its microtasks
        """const done = arguments[arguments.length - 1];
        requestAnimationFrame(() => requestAnimationFrame(() => done(window.__bulkStarted)));"""
    )
    assert started is False and spared in row_ids(glava)


def test_category_reassign_close_and_reopen_through_the_forms(
    app: LiveApp, browsers: Browser
) -> None:
    glava = browsers("glava")
    sign_in(glava, app.base, "glava", PASSWORD)
    glava.get(f"{app.base}/queue?overdue=no")
    target = wait(glava, row_ids)[0]
    glava.get(f"{app.base}/incidents/{quote(target, safe='')}")

    def act(summary: str | None, action: str, fills: list[Callable[[], None]], status: str) -> None:
        if summary is not None:
            glava.find_element(By.XPATH, f"//summary[contains(., '{summary}')]").click()
        for fill in fills:
            fill()
        form = glava.find_element(By.CSS_SELECTOR, f'form[data-action="{action}"]')
        glava.execute_script("window.__before = true")  # gone once the page has reloaded
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        try:
            wait(glava, lambda b: b.execute_script("return window.__before === undefined"))
        except TimeoutException as stuck:  # the page did not reload: say what the form said
            shown = form.find_element(By.CSS_SELECTOR, ".form-error").text
            raise AssertionError(f"{action}: no reload; the form says {shown!r}") from stuck
        assert glava.find_element(By.ID, "status").text == status, action

    def form(action: str) -> str:
        return f'form[data-action="{action}"]'

    def pick(action: str, field: str, value: str) -> Callable[[], None]:
        selector = f"{form(action)} select[name={field}]"
        return lambda: Select(glava.find_element(By.CSS_SELECTOR, selector)).select_by_value(value)

    def type_in(action: str, field: str, text: str) -> Callable[[], None]:
        selector = f"{form(action)} [name={field}]"
        return lambda: glava.find_element(By.CSS_SELECTOR, selector).send_keys(text)

    act("Сменить категорию", "category", [pick("category", "category", "ecology")], "назначен")
    moved = [pick("reassign", "municipality", "zarechny"), type_in("reassign", "reason", "адрес")]
    act("Переназначить", "reassign", moved, "назначен")
    act(None, "answer", [type_in("answer", "text", "Вывезли, спасибо за сигнал.")], "отвечен")
    act(None, "close", [], "закрыт")
    act("Переоткрыть", "reopen", [type_in("reopen", "reason", "житель пишет снова")], "назначен")
    history = glava.find_element(By.CSS_SELECTOR, ".history").text
    for event in ("категория изменена", "переназначен", "ответ", "закрыт", "переоткрыт"):
        assert event in history
    assert "Экология" in history and "Заречный район" in glava.page_source


def test_a_template_is_filled_from_the_incident_and_an_unfilled_date_is_refused(
    app: LiveApp, browsers: Browser
) -> None:
    anna = browsers("anna")
    sign_in(anna, app.base, "anna", PASSWORD)
    anna.get(f"{app.base}/queue?overdue=no")
    target = wait(anna, row_ids)[-1]  # not the first row, which other tests here act on
    anna.get(f"{app.base}/incidents/{quote(target, safe='')}")
    department = anna.find_element(By.CSS_SELECTOR, ".incident").get_attribute("data-department")
    assert department
    deadline = anna.find_element(By.XPATH, "//dt[.='Окончательный']/following-sibling::dd[1]")
    due_date = deadline.text.split()[1]  # «до 12.09.2026 10:20»

    def choose(title: str) -> str:
        Select(anna.find_element(By.ID, "reply-template")).select_by_visible_text(title)
        return anna.find_element(By.ID, "answer-text").get_attribute("value") or ""

    accepted = choose("Принято в работу")  # {number}, {department}, {deadline}
    assert f"передано в {department}" in accepted and f"не позднее {due_date}" in accepted
    assert "{" not in accepted and not anna.find_element(By.ID, "template-fields").is_displayed()

    forwarded = choose("Передано исполнителю")  # {department} and {date}
    assert f"передана в {department}, срок устранения — до {{date}}" in forwarded
    date = anna.find_element(By.CSS_SELECTOR, '#template-fields [data-placeholder="date"] input')
    assert date.is_displayed() and date == anna.switch_to.active_element
    anna.find_element(By.ID, "answer-button").click()
    error = anna.find_element(By.CSS_SELECTOR, "#answer-form .form-error")
    wait(anna, lambda b: error.is_displayed())
    assert "незаполненные поля шаблона: {date} (дата)" in error.text
    anna.refresh()  # nothing was recorded
    assert anna.find_element(By.ID, "status").text != "отвечен"
    assert "срок устранения" not in anna.find_element(By.CSS_SELECTOR, ".history").text

    choose("Передано исполнителю")
    date = anna.find_element(By.CSS_SELECTOR, '#template-fields [data-placeholder="date"] input')
    # A date input's typing order follows the browser's locale: set it as a picker would.
    anna.execute_script(
        "arguments[0].value = '2026-12-10';"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", date,
    )  # fmt: skip
    text = anna.find_element(By.ID, "answer-text").get_attribute("value") or ""
    assert "срок устранения — до 10.12.2026." in text
    anna.find_element(By.ID, "answer-button").click()
    wait(anna, lambda b: b.find_element(By.ID, "status").text == "отвечен")
    assert "до 10.12.2026" in anna.find_element(By.CSS_SELECTOR, ".history").text
