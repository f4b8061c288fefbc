"""An answer still holding a template's placeholder is refused on the server (422, naming it)
and records nothing, one by one and in bulk; a resident-legit brace goes through."""

import httpx
import pytest

from sla.stage import SlaContext
from tests.integration.test_queue_api import api, first_id, login

pytestmark = pytest.mark.integration
__all__ = ["api"]  # the fixture, shared with the queue API's tests
HALF_FILLED = "Здравствуйте! Информация передана в ЖКХ, срок устранения — до {date}."


async def test_an_unfilled_placeholder_is_refused_and_nothing_is_recorded(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    anna, glava = await login(client, "anna"), await login(client, "glava")
    target = await first_id(client, anna)
    url = f"/api/incidents/{target}/answer"
    history = (await client.get(f"/api/incidents/{target}", headers=anna)).json()["history"]

    refused = await client.post(url, headers=anna, json={"text": HALF_FILLED, "final": True})
    assert refused.status_code == 422, refused.text
    assert "незаполненные поля шаблона: {date} (дата)" in refused.json()["detail"]
    bulk = await client.post(
        "/api/incidents/bulk", headers=glava,
        json={"action": "answer", "incident_ids": [target], "text": "Адрес: {address}"},
    )  # fmt: skip
    assert bulk.status_code == 422, bulk.text
    assert "{address} (адрес)" in bulk.json()["detail"]
    unchanged = (await client.get(f"/api/incidents/{target}", headers=anna)).json()
    assert (unchanged["status"], unchanged["final_answer_at"]) == ("assigned", None)
    assert unchanged["history"] == history

    filled = HALF_FILLED.replace("{date}", "12.09.2026") + " Смайлик :-{"
    sent = await client.post(url, headers=anna, json={"text": filled, "final": True})
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "answered"
