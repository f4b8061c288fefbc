"""«Уведомления» in a real Chromium: a moderator saves where and how to be told, reads it back
after the reload, and a refusal (a time zone that does not exist) is shown beside the form in
the server's words, the typed values kept."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.browser import sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import PASSWORD


def test_a_moderator_saves_the_preferences_and_sees_a_refusal(
    app: LiveApp, browsers: Browser
) -> None:
    boris = browsers("boris")
    sign_in(boris, app.base, "boris", PASSWORD)
    boris.get(f"{app.base}/notifications")
    form = wait(boris, lambda b: b.find_element(By.ID, "notification-preferences"))
    form.find_element(By.NAME, "email").send_keys("boris@city.example")
    form.find_element(By.CSS_SELECTOR, "input[name=digest][value=true]").click()
    Select(form.find_element(By.NAME, "digest_hour")).select_by_value("8")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    saved_toast = "Настройки уведомлений сохранены."  # shown after the reload
    wait(
        boris, lambda b: any(saved_toast in t.text for t in b.find_elements(By.CLASS_NAME, "toast"))
    )
    saved = boris.find_element(By.ID, "notification-preferences")
    assert saved.find_element(By.NAME, "email").get_attribute("value") == "boris@city.example"
    assert saved.find_element(By.CSS_SELECTOR, "input[name=digest][value=true]").is_selected()

    zone = saved.find_element(By.NAME, "timezone")
    zone.send_keys("Europe/Nowhere")
    saved.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    error = saved.find_element(By.CSS_SELECTOR, ".form-error")
    wait(boris, lambda b: error.is_displayed())
    assert "Europe/Nowhere" in error.text
    assert zone.get_attribute("value") == "Europe/Nowhere"  # not reloaded: still as typed
